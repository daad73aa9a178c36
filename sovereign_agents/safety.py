"""Hostile source text: sentences in titles and abstracts that read like orders to a model.

Source text is data. It reaches prompts only inside ``<<< >>>`` fences, and a sentence that
looks like an injected instruction is never turned into a claim; the run's Uncertainties name
the paper it came from.
"""

from __future__ import annotations

import re

_INJECTION = re.compile(
    r"ignore (all |any |the )?(previous|prior|above|earlier|preceding) (instructions|prompts?|rules)"
    r"|disregard (all |any |the )?.{0,30}(instructions|prompts?|rules)"
    r"|forget (all |everything |your )?.{0,20}instructions"
    r"|\b(score|rate|grade) (this|it|the (paper|draft|claim))? ?(as |a |an )?(10|ten|perfect)\b"
    r"|\byou (are|must) (now )?(an?|the) (ai|assistant|language model|reviewer|judge)\b"
    r"|\b(system|assistant) ?prompt\b|<\|?(im_start|system|endoftext)\|?>"
    r"|\bnew instructions?:|\bdo not (verify|check|review)\b|\bmark (all|every) claims? (as )?verified\b",
    re.IGNORECASE,
)


def looks_like_injection(text: str) -> bool:
    return bool(_INJECTION.search(text))


def injection_excerpt(text: str, width: int = 80) -> str | None:
    """The suspicious passage, shortened for the report, or None."""
    match = _INJECTION.search(text)
    if not match:
        return None
    start = max(0, match.start() - 20)
    excerpt = " ".join(text[start : match.end() + 20].split())
    return excerpt if len(excerpt) <= width else excerpt[: width - 1] + "…"
