"""Goal understanding: what a research goal asks, as concepts a claim can be checked against.

A goal such as "Does the inference efficiency gain of sparse MoE vision-language models over
dense VLMs on MMMU generalize to MathVista or ChartQA under equal FLOPs?" is read as

* **core** concepts, the subject the answer must be about ("sparse MoE vision-language
  models"): a claim from a paper that is not about them does not bear on the goal;
* **ask** concepts, the quantity asked for ("inference efficiency gain"; "acceptance
  rates" in "what acceptance rates are reported"): a claim answers them with a number or a
  comparison;
* **aspect** concepts, everything else the goal names (comparators, benchmarks, conditions:
  "dense VLMs", "MMMU", "MathVista", "ChartQA", "FLOPs").

Question scaffolding ("does", "how is ... measured", "what ... are reported", "generalize
to") is dropped, acronyms and named entities (MoE, MMMU, ChartQA, GPT-4) are kept as
concepts of their own, and text is matched accent-folded, so a concept is found however a
paper writes it. Acronym expansions are harvested from the papers themselves
(``harvest_aliases``: "Mixture-of-Experts (MoE)" makes "mixture expert" an alias of "moe").

Everything here is a pure function of its inputs, so every node derives the same reading.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from sovereign_agents.text import STOP_WORDS, analyze, fold, stem, tokens


def _wordlist(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that frame a question rather than name what it is about. Besides the stop words.
SCAFFOLDING = _wordlist(
    """
    how does do did is are was were be been being what which why when where whether who whom
    true false it that this these those there their its any some many much more most less
    compare compared comparing comparison versus vs against relative
    generalize generalise generalizes generalises generalization hold holds transfer transfers
    reported report reports measured measure measures observed achieved obtained shown show
    found seen known claimed stated described evaluated assessed quantified defined
    affect affects influence influences change changes contribute contributes work works
    use uses using used based apply applied applying help helps helped make makes
    technique techniques method methods approach approaches way ways strategy strategies
    kind kinds type types aspect aspects factor factors role effect effects impact
    paper papers study studies work research literature evidence result results finding findings
    best good better new novel recent current existing main key common typical
    across between among within under over onto into toward towards via per
    terms respect regard regarding equal equally like e.g eg i.e ie etc other others
    can could would should might may must will shall
    explain describe summarize summarise review overview discuss list identify tell give
    improve improves improved improving reduce reduces reduced reducing mitigate mitigates
    enhance enhances enhanced boost boosts accelerate accelerates accelerated increase increases
    increased decrease decreases decreased lower lowers raise raises outperform outperforms
    associated associate associates linked correlated related relate relates lead leads cause
    causes caused trade trades yield yields enable enables benefit benefits matter matters
    differ differs depend depends perform performs behave behaves exist exists
    encode encodes encoded occur occurs occurred correlate correlates induce induces induced
    promote promotes promoted inhibit inhibits inhibited activate activates activated regulate
    regulates regulated require requires required rise rises risen rose prevent prevents
    prevented protect protects protected predict predicts predicted mediate mediates mediated
    drive drives lack lacks contain contains involve involves involved
    necessary sufficient effective ineffective accurate inaccurate important essential
    responsible susceptible resistant likely unlikely able unable true false significant
    higher lower greater smaller larger longer shorter worse
    """
)
# The head of a phrase that names a quantity: a phrase ending in one is what the goal asks.
QUANTITY_HEADS = frozenset(
    analyze(
        """
        rate rates accuracy accuracies gain gains speedup speedups speed efficiency cost costs
        latency latencies throughput error errors score scores performance f1 bleu rouge
        perplexity memory energy reduction reductions improvement improvements increase
        decrease ratio ratios percentage size sizes time times overhead savings saving
        precision recall auc consumption footprint quality robustness
        """
    )
)
# Verbs that, before an object, make it what is asked: "how is the reduction measured".
_ASK_PATTERNS = (
    re.compile(
        r"\bwhat\s+(?P<q>[\w\s\-]+?)\s+(?:is|are|was|were)\s+(?:reported|achieved|obtained|observed|measured|found)\b",
        re.I,
    ),
    re.compile(
        r"\bhow\s+(?:is|are|was|were)\s+(?:the\s+)?(?P<q>[\w\s\-]+?)\s+(?:measured|quantified|evaluated|assessed|computed)\b",
        re.I,
    ),
    re.compile(
        r"\bin\s+terms\s+of\s+(?P<q>[\w\s\-]+?)(?:\s+(?:on|under|across|for|in|at|with|and|or|vs)\b|[,;?.]|$)",
        re.I,
    ),
    re.compile(
        r"\bhow\s+(?:much|many|fast|large|big|small)\s+(?P<q>[\w\s\-]*?)(?:\s+(?:does|do|is|are|can|did)\b|[,;?.]|$)",
        re.I,
    ),
)
_MEASUREMENT_ASK = re.compile(
    r"\bhow\s+(?:is|are|was|were)\s+(?:the\s+)?[\w\s\-]+?\s+(?:measured|quantified|evaluated|assessed)\b",
    re.I,
)
_YES_NO_LEAD = re.compile(
    r"^\W*(is|are|was|were|does|do|did|can|could|will|would|should|has|have|had)\b", re.I
)
_QUESTION_LEAD = re.compile(
    r"^\W*(how|what|which|why|when|where|whether|who|does|do|did|is|are|was|were|can|could|"
    r"should|will|would|has|have|to what extent|compare|evaluate|explain|describe|summari[sz]e|"
    r"review|list|identify|assess|investigate|find|determine)\b",
    re.I,
)
_WORD = re.compile(r"[^\W_][\w\-\+\.']*[^\W_\+'.]|[^\W_][\w\-\+\.']*\+|[^\W_]")
# an acronym or name: two capitals (MoE, VLMs, MMMU), a capital after a lower-case letter
# (ChartQA, MathVista), or letters with digits (GPT-4, Llama-3, 7B, T5)
_ENTITY = re.compile(r"^(?=.*[A-Z].*[A-Z])|^[a-z]+[A-Z]|^(?=.*[A-Za-z])(?=.*\d)")
_PHRASE_BREAK = re.compile(
    r"[,;:()\[\]?!¿¡/\"“”]|\.\s|\s-\s|\s(?:and|or|but|nor)\s|\bspeeds?\s+up\b", re.I
)
# words a non-English goal is written with, which no English goal contains
_FOREIGN_FUNCTION_WORDS = _wordlist(
    """
    como cual cuales que los las del por para una unos unas sobre entre segun mejoran
    pourquoi quel quelle quels quelles comment les des une dans pour avec sont est sur
    wie welche welcher warum und der die das ist sind mit fur nicht eine einer
    quais qual porque uma nos nas pelo pela sao
    perche quale quali della delle degli sono
    """
)
# heads that name no topic on their own: "sparse MoE vision-language models" is pinned by
# "moe" and "vision-language", not by "models"
GENERIC = frozenset(
    analyze("model models method system framework network approach technique task large")
)
MIN_KNOWN_SHARE = 0.5  # a goal whose terms the corpus mostly does not know is not understood


class Concept(BaseModel):
    """One thing the goal is about, as the analysed terms a text must contain."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="the words of the goal that name it")
    kind: str = Field(description="'core', 'ask' or 'aspect'")
    terms: tuple[str, ...] = Field(description="analysed (folded, stemmed) content terms")
    entities: tuple[str, ...] = Field(
        default=(), description="acronyms and names among the terms: each must be present"
    )

    compounds: tuple[str, ...] = Field(
        default=(), description="terms of hyphenated words (vision-language): all must be present"
    )

    def matches(
        self,
        present: set[str],
        aliases: Mapping[str, Sequence[str]] = {},
        *,
        strict: bool = False,
    ) -> bool:
        """The text whose analysed terms are ``present`` names this concept.

        Every entity must be there (as itself or as all the words of one of its expansions),
        and every part of a hyphenated word; of the other terms (generic heads such as
        "model" aside), at least half, or all of them when nothing else pins the concept.
        ``strict`` (for a whole paper, where words of a phrase meet by chance: "sleep
        behavior disorder" and "benzodiazepine therapy" are not "cognitive behavioral
        therapy") needs every one of them."""
        for entity in self.entities:
            if entity not in present and not any(
                expansion and set(expansion.split()) <= present
                for expansion in aliases.get(entity, ())
            ):
                return False
        if any(t not in present for t in self.compounds):
            return False
        pinned = bool(self.entities or self.compounds)
        rest = [
            t
            for t in self.terms
            if t not in self.entities and t not in self.compounds and t not in GENERIC
        ]
        if not rest:
            return pinned or any(t in present for t in self.terms)
        hits = sum(1 for t in rest if t in present)
        if strict:
            return hits == len(rest)
        if pinned:
            return hits >= len(rest) // 2
        return hits >= (len(rest) if len(rest) <= 2 else (len(rest) + 1) // 2)


class GoalAnalysis(BaseModel):
    """What a goal asks, derived once from its text (and the corpus vocabulary, if any)."""

    goal: str
    concepts: list[Concept]
    is_question: bool
    measurement_asked: bool = Field(
        default=False, description="the goal asks how something is measured (a metric)"
    )
    yes_no: bool = Field(
        default=False,
        description="a yes/no question ('Does X ...?', 'Is it true that ...?'): answered only "
        "by a claim that states the whole relation, every concept of the goal",
    )
    unknown_terms: list[str] = Field(
        default_factory=list, description="goal terms the corpus vocabulary does not contain"
    )
    foreign_words: list[str] = Field(
        default_factory=list, description="function words of another language in the goal"
    )

    @property
    def core(self) -> list[Concept]:
        return [c for c in self.concepts if c.kind == "core"]

    @property
    def asks(self) -> list[Concept]:
        return [c for c in self.concepts if c.kind == "ask"]

    @property
    def aspects(self) -> list[Concept]:
        return [c for c in self.concepts if c.kind == "aspect"]

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(t for c in self.concepts for t in c.terms))

    @property
    def ask_labels(self) -> list[str]:
        """What the goal asks, in words: its quantities, a metric, or the whole statement."""
        labels = [c.text for c in self.asks]
        if self.measurement_asked:
            labels.append("how it is measured")
        if self.yes_no and len(self.concepts) > 1:
            labels.append("a finding on all of " + ", ".join(c.text for c in self.concepts))
        return labels

    @property
    def too_broad(self) -> bool:
        """A goal that names one thing and asks nothing about it ("transformers")."""
        return len(self.concepts) < 2 and not self.asks

    @property
    def not_understood(self) -> bool:
        """Written in a language the corpus does not cover, or in words it does not know."""
        terms = self.terms
        if not terms:
            return True
        known = 1 - len(set(self.unknown_terms) & set(terms)) / len(terms)
        return len(self.foreign_words) >= 2 or known < MIN_KNOWN_SHARE

    def flags(self) -> list[str]:
        """Why this goal cannot be answered as asked; empty when it can."""
        out: list[str] = []
        if not self.concepts:
            out.append("the goal names nothing to search for")
        if self.not_understood and self.concepts:
            words = ", ".join(self.foreign_words or self.unknown_terms[:6])
            out.append(
                "the goal is not in a language the corpus covers"
                if self.foreign_words
                else "most of the goal's words do not occur in the corpus"
            )
            out[-1] += f" ({words}); it was not understood"
        if not self.is_question:
            out.append("the goal is not a question")
        if self.too_broad and self.concepts:
            out.append(
                f"the goal is too broad: it names only '{self.concepts[0].text}' and asks "
                "nothing about it"
            )
        return out


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _is_entity(word: str) -> bool:
    word = word.removesuffix("'s").removesuffix("’s")
    return bool(_ENTITY.search(word)) and not word.isdigit()


def _phrases(goal: str) -> list[list[str]]:
    """Runs of content words (original case) between scaffolding, stop words and punctuation."""
    out: list[list[str]] = []
    for fragment in _PHRASE_BREAK.split(goal):
        current: list[str] = []
        for word in _words(fragment):
            bare = word.removesuffix("'s").removesuffix("’s")
            key = fold(bare)
            scaffolding = key in STOP_WORDS or key in SCAFFOLDING or key.replace(".", "").isdigit()
            if scaffolding and not _is_entity(bare):
                if current:
                    out.append(current)
                current = []
            else:
                current.append(bare)
        if current:
            out.append(current)
    return out


def _ask_spans(goal: str) -> list[str]:
    spans = []
    for pattern in _ASK_PATTERNS:
        for match in pattern.finditer(goal):
            spans.append(match.group("q"))
    return spans


def _entity_terms(word: str) -> list[str]:
    """An entity's terms: a hyphenated name with a number stays whole ("caspase-11" is not
    "caspase-1"; "GPT-4" is not "GPT-3"); others as analysed."""
    if "-" in word and any(c.isdigit() for c in word):
        return [fold(word)]
    return [t for t in analyze(word) if len(t) > 1]


def _concept(words: list[str], kind: str) -> Concept | None:
    text = " ".join(words)
    terms = tuple(dict.fromkeys(analyze(text)))
    if not terms:
        return None
    entities = tuple(dict.fromkeys(t for w in words if _is_entity(w) for t in _entity_terms(w)))
    compounds = tuple(
        dict.fromkeys(
            t
            for w in words
            if "-" in w.strip("-") and not _is_entity(w)
            for t in analyze(w)
            if t not in entities
        )
    )
    return Concept(text=text, kind=kind, terms=terms, entities=entities, compounds=compounds)


@functools.lru_cache(maxsize=512)
def understand_goal(goal: str) -> GoalAnalysis:
    """The goal's concepts (core, ask, aspect) and whether it is a question at all."""
    text = " ".join(goal.split())
    phrases = _phrases(text)
    ask_terms = {t for span in _ask_spans(text) for t in analyze(span)}
    concepts: list[Concept] = []
    for words in phrases:
        concept = _concept(words, "aspect")
        if concept is None or any(c.terms == concept.terms for c in concepts):
            continue
        is_ask = stem(fold(words[-1])) in QUANTITY_HEADS or bool(set(concept.terms) & ask_terms)
        concepts.append(concept.model_copy(update={"kind": "ask" if is_ask else "aspect"}))
    _mark_core(concepts, text)
    folded = [fold(w) for w in _words(text)]
    return GoalAnalysis(
        goal=text,
        concepts=concepts,
        is_question=text.rstrip().endswith("?") or bool(_QUESTION_LEAD.match(text)),
        measurement_asked=bool(_MEASUREMENT_ASK.search(text)),
        yes_no=bool(_YES_NO_LEAD.match(text)),
        foreign_words=sorted({w for w in folded if w in _FOREIGN_FUNCTION_WORDS}),
    )


def _mark_core(concepts: list[Concept], goal: str) -> None:
    """The subject: the first concept that is not a quantity, and one joined to it by
    'in', 'of' or 'for' right after it ("hallucination in retrieval-augmented generation")."""
    first = next((i for i, c in enumerate(concepts) if c.kind == "aspect"), None)
    if first is None:
        if concepts:  # every phrase names a quantity: the first one is what it is about
            concepts[0] = concepts[0].model_copy(update={"kind": "core"})
        return
    concepts[first] = concepts[first].model_copy(update={"kind": "core"})
    if first + 1 < len(concepts) and concepts[first + 1].kind == "aspect":
        joined = re.search(
            re.escape(concepts[first].text)
            + r"\s+(?:in|of|for|within)\s+(?:the\s+|a\s+|an\s+)?"
            + re.escape(concepts[first + 1].text.split()[0]),
            goal,
            re.I,
        )
        if joined:
            concepts[first + 1] = concepts[first + 1].model_copy(update={"kind": "core"})


def with_vocabulary(analysis: GoalAnalysis, known: Iterable[str] | None) -> GoalAnalysis:
    """The analysis with the goal terms that a corpus vocabulary lacks (None: no corpus)."""
    if known is None:
        return analysis
    vocabulary = set(known) if not isinstance(known, set | frozenset | dict) else known
    unknown = [t for t in analysis.terms if t not in vocabulary]
    return analysis.model_copy(update={"unknown_terms": unknown})


# ------------------------------------------------------------------------------------------
# acronyms defined in the papers: "Mixture-of-Experts (MoE)" -> moe: "mixture expert"

_DEFINITION = re.compile(r"\(\s*([A-Za-z][\w\-]{1,14}?)s?\s*\)")


def _long_form(short: str, before: str) -> str | None:
    """Schwartz & Hearst (2003): the shortest run of words before '(SF)' whose characters
    contain the short form's letters in order, the first letter starting a word."""
    letters = [c.lower() for c in short if c.isalnum()]
    if len(letters) < 2:
        return None
    words = _words(before)[-min(len(letters) + 5, 2 * len(letters)) :]
    candidate = " ".join(words)
    s, lf = len(letters) - 1, len(candidate) - 1
    while s >= 0:
        ch = letters[s]
        while lf >= 0 and (
            candidate[lf].lower() != ch or (s == 0 and lf > 0 and candidate[lf - 1].isalnum())
        ):
            lf -= 1
        if lf < 0:
            return None
        lf -= 1
        s -= 1
    start = candidate.rfind(" ", 0, lf + 1) + 1
    return candidate[start:]


def harvest_aliases(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Acronym -> the analysed terms of each long form the texts define it with."""
    found: dict[str, dict[str, None]] = {}
    for text in texts:
        for match in _DEFINITION.finditer(text):
            short = match.group(1)
            if not _is_entity(short) and not short.isupper():
                continue
            long_form = _long_form(short, text[max(0, match.start() - 120) : match.start()])
            if not long_form:
                continue
            key = analyze(short)
            terms = analyze(long_form)
            if len(key) == 1 and len(terms) >= 2:
                found.setdefault(key[0], {})[" ".join(terms)] = None
    return {k: tuple(v) for k, v in found.items()}


def present_terms(text: str, aliases: Mapping[str, Sequence[str]] = {}) -> set[str]:
    """The analysed terms of ``text``, plus each acronym whose long form the text spells out."""
    present = set(analyze(text))
    present.update(t for t in tokens(text) if "-" in t and any(c.isdigit() for c in t))
    for short, expansions in aliases.items():
        if short not in present and any(set(e.split()) <= present for e in expansions if e):
            present.add(short)
    return present
