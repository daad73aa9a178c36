"""How counts and scores read in the CLI's lines and the report (one home for both).

``count(1, "claim")`` is ``1 claim``, ``count(2, "claim")`` is ``2 claims``; ``score(6.48)`` is
``6.48``: tribunal scores are compared with a threshold (6.5), so one decimal would round a
REVISE up to the bar it missed.
"""

from __future__ import annotations


def plural(noun: str) -> str:
    """The plural of a noun or noun phrase (its last word): claim -> claims, query -> queries."""
    if noun.endswith("y") and noun[-2:-1] not in {"a", "e", "i", "o", "u", ""}:
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def noun(n: int, singular: str, plural_form: str | None = None) -> str:
    """The form of ``singular`` that goes with the number ``n``."""
    return singular if n == 1 else (plural_form or plural(singular))


def count(n: int, singular: str, plural_form: str | None = None) -> str:
    """``n`` and its noun: ``1 claim``, ``0 claims``, ``3 new queries``."""
    return f"{n} {noun(n, singular, plural_form)}"


def score(value: float) -> str:
    """A tribunal or reviewer score out of 10, to two decimals."""
    return f"{value:.2f}"


_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def number_word(n: int) -> str:
    """A small count as a word: ``number_word(3)`` is ``three`` (digits from 10 on)."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)
