"""Text utilities shared by search, extraction and verification: tokens, sentences, keyphrases."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from itertools import chain

import Stemmer

from sovereign_agents.stop_words import ENGLISH_STOP_WORDS

# Words that carry no topic in a research question, beyond the usual English stop words.
QUESTION_WORDS = frozenset(
    [
        "how",
        "does",
        "do",
        "did",
        "what",
        "which",
        "why",
        "when",
        "where",
        "whether",
        "compare",
        "compared",
        "comparison",
        "versus",
        "vs",
        "effect",
        "effects",
        "impact",
        "role",
        "use",
        "using",
        "used",
        "based",
        "approach",
        "approaches",
        "method",
        "methods",
        "best",
        "study",
        "studies",
        "paper",
        "papers",
        "work",
        "works",
        "research",
        "result",
        "results",
        "new",
        "novel",
        "across",
        "between",
        "terms",
        "generalize",
        "generalise",
        "under",
        "equal",
        "other",
        "like",
        "e.g",
        "eg",
        "i.e",
        "ie",
        "can",
        "could",
        "would",
        "should",
    ]
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | QUESTION_WORDS

# a word of any script: letters or digits, keeping inner hyphens, dots and plus signs
TOKEN_RE = re.compile(r"[^\W_][\w\-\+\.]*[^\W_\+]|[^\W_][\w\-\+\.]*\+|[^\W_]")
_ASCII_TOKEN_RE = re.compile(TOKEN_RE.pattern, re.ASCII)  # the same tokens of ASCII text, faster
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "vs.", "cf.", "Fig.", "Eq.", "approx.", "resp.")


def normalize_space(text: str) -> str:
    return " ".join(text.split())


_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean_text(text: str, limit: int) -> str:
    """Text from a stranger made safe to process: Unicode NFKC, no control or bidi-override
    characters, whitespace collapsed, at most ``limit`` characters (cut at a word, marked)."""
    if (  # already clean (e.g. read back from a cache): these checks run in C, the work not
        len(text) <= limit
        and text.isprintable()  # no control, format (bidi, zero-width) or non-" " space
        and "  " not in text
        and text[:1] != " "
        and text[-1:] != " "
        and unicodedata.is_normalized("NFKC", text)
    ):
        return text
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))
    text = normalize_space(text)
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + " …"
    return text


def fold(text: str) -> str:
    """Lower case with accents folded: "Difusión" -> "difusion", "ﬁne" -> "fine"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def tokens(text: str) -> list[str]:
    """Lower-cased, accent-folded word tokens of any script; keeps inner hyphens, dots and
    plus signs (GPT-4, 3.5, C++)."""
    folded = fold(text)
    return (_ASCII_TOKEN_RE if folded.isascii() else TOKEN_RE).findall(folded)


def content_tokens(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in STOP_WORDS and not t.replace(".", "").isdigit()]


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[Sentence]:
    """Split an abstract into sentences, keeping character offsets into ``text``.

    A boundary is end punctuation followed by space and an upper-case letter or digit, unless
    the punctuation ends a common abbreviation (e.g., et al.).
    """
    sentences: list[Sentence] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        head = text[start : match.start()]
        if head.rstrip().endswith(_ABBREVIATIONS):
            continue
        _append(sentences, text, start, match.start())
        start = match.end()
    _append(sentences, text, start, len(text))
    return sentences


def _append(out: list[Sentence], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped:
        return
    offset = start + chunk.index(stripped[0])
    out.append(Sentence(normalize_space(stripped), offset, offset + len(stripped)))


def keyphrases(text: str, limit: int = 8) -> list[str]:
    """RAKE-style keyphrases: runs of content words between stop words and punctuation,
    scored by the sum of their words' degree/frequency, best first, de-duplicated."""
    phrases: list[list[str]] = []
    for fragment in re.split(r"[,;:()\[\]?!/]|\.\s|\s-\s", fold(text)):
        current: list[str] = []
        for token in TOKEN_RE.findall(fragment):
            if token in STOP_WORDS or token.replace(".", "").isdigit():
                if current:
                    phrases.append(current)
                current = []
            else:
                current.append(token)
        if current:
            phrases.append(current)
    # long runs are split so a phrase stays a usable query
    phrases = [p[i : i + 4] for p in phrases for i in range(0, len(p), 4)]
    freq: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for phrase in phrases:
        for word in phrase:
            freq[word] += 1
            degree[word] += len(phrase)
    scored: dict[str, float] = {}
    for phrase in phrases:
        key = " ".join(phrase)
        scored[key] = max(scored.get(key, 0.0), sum(degree[w] / freq[w] for w in phrase))
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))
    return [phrase for phrase, _ in ranked[:limit]]


def term_coverage(terms: list[str], texts: list[str]) -> tuple[float, list[str]]:
    """Share of ``terms`` found (as content tokens) in ``texts``, and the missing ones."""
    if not terms:
        return 0.0, []
    present = set()
    for text in texts:
        present.update(content_tokens(text))
    missing = [t for t in terms if t not in present]
    return 1 - len(missing) / len(terms), missing


# Bumped whenever ``analyze`` changes the terms it yields: indexes built from its output (BM25,
# LSA) carry it in their cache key, so an index built by an older analyzer is never reused.
# 1: plural folding; 2: Snowball English stemmer (PyStemmer); 3: words of any script,
# accents folded ("difusión" -> "difusion"), acronym plurals folded (VLMs -> vlm).
ANALYZER_VERSION = 3

_STEMMERS = threading.local()  # a Snowball stemmer holds state: one per thread
# a plural acronym: at most one vowel, then consonants, then s (vlms, llms, lvlms; not "class")
_ACRONYM_PLURAL = re.compile(r"^(?=[a-z0-9]{3,}s$)[^aeiouy]*[aeiouy]?[^aeiouys]+s$")


@functools.lru_cache(maxsize=1 << 16)
def stem(token: str) -> str:
    """The Snowball (Porter 2) English stem of a lower-cased word: studies -> studi,
    models -> model, generalization -> general. An acronym's plural is folded first
    (VLMs -> vlm, LLMs -> llm), which Snowball leaves alone."""
    if _ACRONYM_PLURAL.match(token):
        token = token[:-1]
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = Stemmer.Stemmer("english", 0)
    return str(stemmer.stemWord(token))


def token_terms(token: str) -> tuple[str, ...]:
    """The search terms of one token (see ``analyze``): its parts split at hyphens, each
    stripped of dots, stop words, numbers and single characters dropped, stemmed."""
    terms: list[str] = []
    for part in token.split("-") if "-" in token else (token,):
        part = part.strip(".")
        if len(part) < 2 or part in STOP_WORDS or part.replace(".", "").isdigit():
            continue
        terms.append(stem(part))
    return tuple(terms)


TERMS_MEMO_SIZE = 1 << 16  # distinct tokens remembered by ``TermsMemo`` before it starts over


class TermsMemo(dict[str, tuple[str, ...]]):
    """Token -> ``token_terms(token)``, each token analysed once: looked up in C
    (``memo[token]``, ``map(memo.__getitem__, ...)``), computed only when missing; forgets
    everything once it holds ``TERMS_MEMO_SIZE`` tokens, so its memory stays bounded."""

    def __missing__(self, token: str) -> tuple[str, ...]:
        if len(self) >= TERMS_MEMO_SIZE:
            self.clear()
        terms = self[token] = token_terms(token)
        return terms


_TERMS = TermsMemo()


def terms_of(words: list[str]) -> list[str]:
    """The search terms of a list of tokens, in order (``token_terms`` of each, joined)."""
    return list(chain.from_iterable(map(_TERMS.__getitem__, words)))


def analyze(text: str) -> list[str]:
    """Search terms: content words, hyphenated compounds split into their parts, stemmed.

    ``"Mixture-of-Experts models"`` -> ``["mixtur", "expert", "model"]``.
    """
    return terms_of(tokens(text))


def goal_terms(goal: str) -> list[str]:
    """The distinct search terms of a goal (see ``analyze``), in order of appearance."""
    return list(dict.fromkeys(analyze(goal)))
