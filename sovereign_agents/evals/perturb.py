"""Prompt perturbations for sensitivity evals, written as a prompts folder of their own.

Each perturbation copies the prompts folder and rewrites the prompts of the reviewers (of
roles.py); the run then points ``Context.prompts_dir`` at the copy, so the prompt loader
validates the perturbed files like any others and the report records their hashes.

* ``paraphrase``: the same instructions in other words (a fixed substitution table);
* ``reorder``: the instruction paragraphs move in front of the material they refer to;
* ``role-swap``: each reviewer receives the next reviewer's prompt (skeptic <- validator <-
  synthesizer <- skeptic, in registry order), a gross perturbation that bounds how much the
  wording matters.

``shuffle-claims`` changes no prompt: the sensitivity runner permutes the claims in the
forked state instead.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sovereign_agents.prompts import default_prompts_dir, load_prompt
from sovereign_agents.roles import reviewer_names

PROMPT_PERTURBATIONS = ("paraphrase", "reorder", "role-swap")
STATE_PERTURBATIONS = ("shuffle-claims",)
PERTURBATIONS = PROMPT_PERTURBATIONS + STATE_PERTURBATIONS

_PARAPHRASES = [
    (r"\bScore\b", "Rate"),
    (r"\bscore\b", "rating"),
    (r"\bdraft\b", "write-up"),
    (r"\bDraft\b", "Write-up"),
    (r"\bissues?\b", "problems"),
    (r"\bLower\b", "Reduce"),
    (r"\bLook for\b", "Search for"),
    (r"\bJudge\b", "Assess"),
    (r"\bCheck\b", "Verify"),
    (r"\bwell supported\b", "firmly backed"),
    (r"\bResearch goal\b", "Research question"),
    (r"\bAnswer with JSON only\b", "Respond only with JSON"),
    (r"\bReply with one JSON object and nothing else\b", "Respond only with one JSON object"),
    (r"\bnames the claim ids it concerns\b", "lists the ids of the claims involved"),
]


def paraphrase(body: str) -> str:
    """Reword the body's prose; placeholders, fences and the JSON example are untouched."""
    out = []
    for line in body.splitlines(keepends=True):
        if "{" in line or "<<<" in line or ">>>" in line:
            out.append(line)
            continue
        for pattern, replacement in _PARAPHRASES:
            line = re.sub(pattern, replacement, line)
        out.append(line)
    return "".join(out)


def reorder(body: str) -> str:
    """Move the instruction paragraphs (those without placeholders) before the material,
    keeping the final answer-format paragraph last."""
    paragraphs = [p for p in body.strip().split("\n\n") if p.strip()]
    *head, last = paragraphs
    instructions = [p for p in head if "{" not in p]
    material = [p for p in head if "{" in p]
    return "\n\n".join([*instructions, *material, last]) + "\n"


def _split(text: str) -> tuple[str, str]:
    _, meta, body = text.split("---", 2)
    return meta, body


def write_perturbed_prompts(
    kind: str, versions: dict[str, str], out: Path, source: str | Path | None = None
) -> Path:
    """A copy of the prompts folder with the reviewer prompts (at ``versions``) perturbed."""
    if kind not in PROMPT_PERTURBATIONS:
        raise ValueError(f"unknown prompt perturbation {kind!r}; known: {PROMPT_PERTURBATIONS}")
    root = Path(source) if source else default_prompts_dir()
    target = out / f"prompts-{kind}"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(root, target)
    reviewers = reviewer_names()
    originals = {role: load_prompt(role, versions.get(role), root) for role in reviewers}
    for index, role in enumerate(reviewers):
        prompt = originals[role]
        meta, body = _split(Path(prompt.path).read_text(encoding="utf-8"))
        if kind == "paraphrase":
            body = "\n" + paraphrase(body.lstrip("\n"))
        elif kind == "reorder":
            body = "\n" + reorder(body.lstrip("\n"))
        else:  # role-swap: the next reviewer's body, under this role's front matter
            donor = originals[reviewers[(index + 1) % len(reviewers)]]
            body = "\n" + _split(Path(donor.path).read_text(encoding="utf-8"))[1].lstrip("\n")
        meta = meta.replace(
            "changelog:\n", f'changelog:\n  - "perturbed for a sensitivity eval: {kind}"\n', 1
        )
        (target / role / f"{prompt.version}.md").write_text(f"---{meta}---{body}", encoding="utf-8")
        load_prompt(role, prompt.version, target)  # the perturbed file must still validate
    return target
