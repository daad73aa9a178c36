"""SciFact as (claim, cited abstract) pairs with gold labels, and a reproducible split.

Every cited abstract of every claim is one pair. Its gold label is SUPPORT or CONTRADICT when
the claim has rationale sentences in that abstract, NONE otherwise (SciFact's
NOT_ENOUGH_INFO). ``claims_dev.jsonl`` is held out by the data owner: tune on train.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from sovereign_agents.errors import InputError

Label = Literal["SUPPORT", "CONTRADICT", "NONE"]
LABELS: tuple[Label, ...] = ("SUPPORT", "CONTRADICT", "NONE")


class Pair(BaseModel):
    claim_id: int
    claim: str
    doc_id: int
    title: str
    sentences: list[str]
    label: Label
    evidence: list[int]  # gold rationale sentence indices (empty for NONE)

    @property
    def source(self) -> str:
        """The text a claim is verified against, as in a run: ``title. abstract``."""
        return f"{self.title}. {' '.join(s.strip() for s in self.sentences)}"


class _Doc(BaseModel):
    doc_id: int
    title: str
    abstract: list[str]


class _Rationale(BaseModel):
    sentences: list[int]
    label: Literal["SUPPORT", "CONTRADICT"]


class _Claim(BaseModel):
    id: int
    claim: str
    evidence: dict[str, list[_Rationale]] = {}
    cited_doc_ids: list[int] = []


def _jsonl(path: Path) -> list[dict[str, object]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_pairs(claims_path: Path, corpus_path: Path) -> list[Pair]:
    """Every (claim, cited abstract) pair of a SciFact claims file, in file order."""
    try:
        docs = {d.doc_id: d for d in (_Doc.model_validate(r) for r in _jsonl(corpus_path))}
        claims = [_Claim.model_validate(r) for r in _jsonl(claims_path)]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(
            f"not SciFact data ({claims_path.name} / {corpus_path.name}): "
            f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        ) from exc
    pairs: list[Pair] = []
    for claim in claims:
        for doc_id in claim.cited_doc_ids:
            doc = docs.get(doc_id)
            if doc is None:
                raise InputError(f"claim {claim.id} cites doc {doc_id}, which is not in the corpus")
            rationales = claim.evidence.get(str(doc_id), [])
            label: Label = rationales[0].label if rationales else "NONE"
            pairs.append(
                Pair(
                    claim_id=claim.id,
                    claim=claim.claim,
                    doc_id=doc_id,
                    title=doc.title,
                    sentences=doc.abstract,
                    label=label,
                    evidence=sorted({i for r in rationales for i in r.sentences}),
                )
            )
    if not pairs:
        raise InputError(f"{claims_path}: no claim cites a document; is this a test split?")
    return pairs


def is_held_out(pair: Pair, held_out_share: float = 0.3) -> bool:
    """Deterministic split by cited document: all claims about one abstract (a claim and its
    negation are written from the same abstract) land on the same side."""
    digest = hashlib.sha256(f"scifact-doc-{pair.doc_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < held_out_share


def train_files(claims: Path | None, corpus: Path | None) -> tuple[Path, Path]:
    """The SciFact train claims and corpus to fit on: the given files, else the shared data's."""
    from sovereign_agents.testing import shared_data

    data = shared_data() / "scifact"
    return claims or data / "claims_train.jsonl", corpus or data / "corpus.jsonl"


def split_pairs(
    pairs: Sequence[Pair], held_out_share: float = 0.3
) -> tuple[list[Pair], list[Pair]]:
    """(fit, held-out) pairs."""
    fit = [p for p in pairs if not is_held_out(p, held_out_share)]
    held = [p for p in pairs if is_held_out(p, held_out_share)]
    return fit, held


def example_counts(fit: Sequence[int | bool], held_out: Sequence[int | bool]) -> dict[str, int]:
    """The provenance's ``examples``: how many fit and held-out examples, and how many of
    each are positive (labels 0/1)."""
    return {
        "fit": len(fit),
        "fit_positive": int(sum(fit)),
        "held_out": len(held_out),
        "held_out_positive": int(sum(held_out)),
    }
