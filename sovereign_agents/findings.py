"""Which sentences of an abstract state its findings, and the finding each one states.

A researcher skimming an abstract for what it found reads past the background ("X remains
unclear"), the aims ("To determine whether ..."), the methods ("Patients were randomized ...")
and the funding line, and stops at the sentences that report a result or draw the conclusion,
usually late in the abstract, often with numbers and statistics, and on the topic of the
question asked. This module gives each sentence those cues as features (``sentence_features``)
and a logistic model over them, fitted on SciFact train claims that the research eval's
reported slice does not contain (``evals/fit_findings.py``; weights and provenance in
``verifier_params/findings_v1.json``), gives P(the sentence reports a finding on the goal).

``finding(sentence)`` is the claim a sentence states: its section label ("RESULTS",
"Conclusions:") and discourse frame ("In this paper, we show that", "These data suggest that")
dropped, every number, condition and hedge inside the statement kept. A conjecture's frame
("We hypothesize that") is not dropped: without it the conjecture would read as a finding.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from sovereign_agents import relevance as rel
from sovereign_agents.goal import GoalAnalysis, present_terms

PARAMS_FILE = "findings_v1.json"
FEATURES = (
    "relevance",
    "goal_share",
    "goal_share_rel",
    "result",
    "statistic",
    "conclusion",
    "method",
    "background",
    "further_work",
    "position",
    "first",
    "last",
    "section_result",
    "section_method",
)

# structured-abstract section labels (PubMed style): "RESULTS", "METHODS AND FINDINGS",
# "DESIGN, SETTING, AND PARTICIPANTS", or Title case with a colon ("Results:")
_LABEL_WORDS = (
    "BACKGROUND|OBJECTIVES?|AIMS?|PURPOSE|CONTEXT|INTRODUCTION|IMPORTANCE|RATIONALE|"
    "METHODS?|METHODOLOGY|MATERIALS?|DESIGN|SETTINGS?|PARTICIPANTS|PATIENTS|SUBJECTS|"
    "POPULATION|SAMPLE|INTERVENTIONS?|EXPOSURES?|MEASUREMENTS?|MAIN|PRIMARY|SECONDARY|"
    "OUTCOMES?|MEASURES?|DATA|SOURCES?|STUDY|SELECTION|EXTRACTION|SYNTHESIS|ELIGIBILITY|"
    "CRITERIA|RESULTS?|FINDINGS|CONCLUSIONS?|INTERPRETATION|RELEVANCE|DISCUSSION|"
    "SIGNIFICANCE|SUMMARY|IMPLICATIONS?|LIMITATIONS?|FUNDING|TRIAL|REGISTRATION|"
    "PRINCIPAL|METHODOLOGY/PRINCIPAL|CONCLUSIONS/SIGNIFICANCE|EVIDENCE|REVIEW|ACQUISITION"
)
_SECTION = re.compile(
    rf"^((?:{_LABEL_WORDS})(?:(?:\s*[,/&]\s*(?:AND\s+)?|\s+AND\s+|\s+)(?:{_LABEL_WORDS}))*)"
    r"(?:\s*:\s*|\s+(?=[A-Z0-9(\[]|[a-z]))"
    r"|^((?:Background|Objectives?|Aims?|Purpose|Context|Introduction|Methods?|Design|"
    r"Settings?|Participants|Patients|Results?|Findings|Conclusions?|Interpretation|"
    r"Discussion|Significance|Summary)(?:\s+and\s+\w+)?)\s*:\s*"
)
_RESULT_SECTION = re.compile(
    r"RESULT|FINDING|CONCLUSION|INTERPRETATION|RELEVANCE|DISCUSSION|"
    r"SIGNIFICANCE|IMPLICATION",
    re.I,
)
# sections that never report a finding: aims, methods, measures, funding (in SciFact train,
# none of ~700 such sentences is a rationale); background and context stay, the model weighs them
_SKIP_SECTION = re.compile(
    r"^(?:OBJECTIVES?|AIMS?|PURPOSE|METHODS?|METHODOLOGY|MATERIALS?(?: AND METHODS)?|DESIGN|"
    r"SETTINGS?|PARTICIPANTS|PATIENTS|SUBJECTS|POPULATION|SAMPLE|INTERVENTIONS?|EXPOSURES?|"
    r"MEASUREMENTS?|MAIN OUTCOME|PRIMARY OUTCOME|DATA SOURCES?|STUDY SELECTION|DATA EXTRACTION|"
    r"ELIGIBILITY|FUNDING|TRIAL REGISTRATION)"
    r"(?!.*(?:RESULT|FINDING|CONCLUSION))",
    re.I,
)
# an aim or a question is not a finding: "To determine whether ...", "We asked whether ..."
_AIM = re.compile(
    r"^(?:to|in order to) (?:determine|assess|investigate|examine|evaluate|test|explore|"
    r"identify|compare|study|characteri[sz]e|address|understand|clarify|elucidate|describe|"
    r"estimate|quantify|measure)\b|^(?:the|our|this) (?:\w+ )?(?:aim|purpose|objective|goal)s? "
    r"(?:of|was|were|is|are)\b|^we (?:\w+ )?(?:asked|sought|aimed|wanted|set out)\b",
    re.I,
)

_STATISTIC = re.compile(
    r"\b[pP]\s?[<=>≤]\s?0?\.\d|\b(?:95|99)\s?%|\bCI\b|confidence interval|\b(?:OR|HR|RR|aOR|aHR)\b"
    r"|odds ratio|hazard ratio|relative risk|\bsignifican\w*|\d+(?:\.\d+)?\s?%|-fold\b|"
    r"\bcorrelat\w*|\bassociated with\b",
)
_CONCLUSION = re.compile(
    r"\b(?:these|our|the|present|current) (?:\w+ )?(?:data|results?|findings|observations|"
    r"studies|study|experiments|analys[ie]s) (?:\w+ )?(?:suggest|indicate|show|demonstrate|"
    r"reveal|support|establish|provide|confirm|identify|imply|highlight|uncover|point)\w*"
    r"|\bwe (?:\w+ )?(?:conclude|show|demonstrate|found|find|report that|reveal|identify|"
    r"establish|provide evidence)\w*|\bin conclusion\b|\btaken together\b|\bcollectively\b|"
    r"\bthus\b|\btherefore\b|\bhence\b|\bindicating that\b|\bsuggesting that\b",
    re.I,
)
_METHOD = re.compile(
    r"\bwe (?:\w+ )?(?:assessed|investigated|examined|measured|used|recruited|enrolled|"
    r"randomi[sz]ed|performed|analy[sz]ed|studied|conducted|evaluated|sought|aimed|compared|"
    r"tested|determined whether|explored|asked|collected|calculated|estimated|designed|"
    r"developed|describe|present|propose|introduce|applied|searched|included)\b"
    r"|^(?:to|in order to) (?:determine|assess|investigate|examine|evaluate|test|explore|"
    r"identify|compare|study|characteri[sz]e|address|understand|clarify|elucidate)\b"
    r"|\b(?:the|our|this) (?:aim|purpose|objective|goal)s? (?:of|was|were|is)\b"
    r"|\b(?:was|were) (?:randomly|randomi[sz]ed|enrolled|recruited|included|assigned|"
    r"measured|assessed|collected|obtained|performed|conducted|analy[sz]ed|used|followed)\b"
    r"|\bwhether\b",
    re.I,
)
_FURTHER_WORK = re.compile(
    r"\b(?:further|future|additional|more) (?:\w+ )?(?:studies|study|research|work|"
    r"investigations?|trials?)\b.{0,40}\b(?:needed|required|warranted|necessary)\b"
    r"|\bremains? (?:to be|unclear|unknown|controversial)\b|\bis (?:unknown|unclear|not known)\b",
    re.I,
)
_RESULT_CUE = re.compile(
    r"\b(achiev\w*|outperform\w*|improv\w*|reduc\w*|increas\w*|decreas\w*|surpass\w*|show\w*|"
    r"demonstrat\w*|find|found|reveal\w*|yield\w*|enabl\w*|lead\w* to|led to|result\w* in|"
    r"associat\w*|predict\w*|inhibit\w*|induc\w*|promot\w*|prevent\w*|block\w*|requir\w*|"
    r"lower|higher|greater|fewer|better|worse|faster|slower|more|less|no (?:significant )?"
    r"(?:difference|effect|association|change)|did not|was not|were not|failed to)\b",
    re.I,
)

# "In this paper, we show that X" states X. Connectives and frames are matched at the start
# of the sentence (after its section label); the statement after "that" is kept whole.
_CONNECTIVE = (
    r"(?:additionally|moreover|furthermore|finally|notably|importantly|overall|in addition|"
    r"in summary|in conclusion|in sum|to summarize|taken together|collectively|together|"
    r"in particular|specifically|crucially|as a result|in this (?:paper|work|study|report)|"
    r"here|herein|empirically|experimentally|surprisingly|interestingly|remarkably|thus|"
    r"therefore|hence|consequently|accordingly|altogether|first|second|third|lastly|"
    r"in (?:this|the present|our) (?:\w+ )?(?:study|analysis|trial|cohort|work))"
)
_SUBJECT = (
    r"(?:we|our (?:\w+ )?(?:data|results?|findings?|experiments?|analys[ie]s|evaluations?|"
    r"studies|study|work|observations)|(?:these|the|present|current|such|this) (?:\w+ )?"
    r"(?:data|results?|findings?|experiments?|analys[ie]s|observations|studies|study|"
    r"paper|work|trial|evidence)|(?:extensive |experimental |empirical |comprehensive )?"
    r"(?:results?|experiments?|evaluations?|analys[ie]s|data)(?: (?:on|from|of) [^,]{1,60}?)?"
    r"|this (?:paper|work|study))"
)
_FRAME_VERB = (
    r"(?:show|demonstrate|indicate|reveal|find|found|suggest|confirm|observe|verify|highlight|"
    r"prove|establish|conclude|report|document|identify|uncover|imply|support the (?:notion|"
    r"idea|conclusion|hypothesis))(?:s|d|ed)?"
)
_SCAFFOLD = re.compile(
    rf"^(?:{_CONNECTIVE},?\s+)*(?:{_SUBJECT}\s+(?:(?:here|further|also|now|clearly|thus|"
    rf"therefore|therefore|collectively|together|strongly|consistently|empirically|"
    rf"have|has|had|further|provide evidence|(?:\w+ly))\s+)*{_FRAME_VERB}\s+(?:here\s+)?that\s+)?",
    re.IGNORECASE,
)
# "In mice, we found that X" -> "In mice, X": the condition stays
_CONDITION_FRAME = re.compile(
    rf"^((?:in|among|for|at|during|after|before|within|across|using|by|with|under|from|"
    rf"compared with|relative to|in contrast to|unlike|like)\b[^,]{{2,120}},)\s+"
    rf"{_SUBJECT}\s+(?:(?:also|further|here|now|consistently|clearly)\s+)?{_FRAME_VERB}\s+that\s+",
    re.IGNORECASE,
)
_CONJECTURE = re.compile(
    r"^(?:[^,]{0,60},\s+)?(?:we|they|it is) (?:\w+ )?(?:hypothesi[sz]e|speculate|propose|"
    r"postulate|predict|reasoned|hypothesi[sz]ed|proposed|speculated)\b",
    re.I,
)


def section_label(sentence: str) -> str | None:
    """The structured-abstract label a sentence starts with ("RESULTS"), if any."""
    match = _SECTION.match(sentence)
    if match is None:
        return None
    label = match.group(1) or match.group(2)
    # one capitalised word that is not a label word ("DNA") never matches: the word list
    return label.strip(" ,:") if label else None


def without_label(sentence: str) -> str:
    match = _SECTION.match(sentence)
    if match is None:
        return sentence
    rest = sentence[match.end() :].lstrip()
    return rest if len(rest.split()) >= 3 else sentence


def finding(sentence: str) -> str:
    """The finding a sentence states, without its section label and discourse frame."""
    body = without_label(sentence)
    if _CONJECTURE.search(body):
        return _capital(body)
    stripped = _SCAFFOLD.sub("", body, count=1).strip()
    condition = _CONDITION_FRAME.match(body)
    if stripped == body and condition is not None:
        stripped = f"{condition.group(1)} {body[condition.end() :]}"
    if len(stripped.split()) < 5:
        stripped = body
    return _capital(stripped.strip())


def _capital(text: str) -> str:
    return text[0].upper() + text[1:] if text and text[0].islower() else text


def sections(sentences: Sequence[str]) -> list[str | None]:
    """Each sentence's section: its own label, else the last label before it."""
    out: list[str | None] = []
    current: str | None = None
    for sentence in sentences:
        label = section_label(sentence)
        if label is not None:
            current = label
        out.append(current)
    return out


def sentence_features(
    analysis: GoalAnalysis,
    sentences: Sequence[str],
    paper_text: str,
    aliases: Mapping[str, tuple[str, ...]] = {},
) -> list[dict[str, float]]:
    """The cue features of every sentence of one abstract (see ``FEATURES``)."""
    goal = set(analysis.terms)
    labels = sections(sentences)
    n = len(sentences)
    shares: list[float] = []
    rows: list[dict[str, float]] = []
    for i, sentence in enumerate(sentences):
        body = without_label(sentence)
        present = present_terms(body, aliases)
        share = len(goal & present) / len(goal) if goal else 0.0
        shares.append(share)
        section = labels[i] or ""
        values = rel.features(analysis, body, paper_text, aliases)
        rows.append(
            {
                "relevance": rel.probability(values),
                "goal_share": share,
                "goal_share_rel": 0.0,
                "result": min(2, len(_RESULT_CUE.findall(body))) / 2,
                "statistic": min(2, len(_STATISTIC.findall(body))) / 2,
                "conclusion": float(bool(_CONCLUSION.search(body))),
                "method": float(bool(_METHOD.search(body))),
                "background": float(bool(rel.BACKGROUND.search(body))),
                "further_work": float(bool(_FURTHER_WORK.search(body))),
                "position": i / (n - 1) if n > 1 else 1.0,
                "first": float(i == 0),
                "last": float(i == n - 1 and n > 1),
                "section_result": float(bool(_RESULT_SECTION.search(section))),
                "section_method": float(bool(section) and not _RESULT_SECTION.search(section)),
            }
        )
    top = max(shares, default=0.0)
    for row, share in zip(rows, shares, strict=True):
        row["goal_share_rel"] = share / top if top else 0.0
    return rows


@functools.lru_cache(maxsize=1)
def params() -> dict[str, Any]:
    """The fitted logistic model (weights, intercept, thresholds, provenance)."""
    text = resources.files("sovereign_agents.verifier_params").joinpath(PARAMS_FILE).read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def probability(values: Mapping[str, float], p: Mapping[str, Any] | None = None) -> float:
    p = p or params()
    z = p["intercept"] + sum(p["weights"][name] * values[name] for name in FEATURES)
    return 1 / (1 + math.exp(-z))


def skipped(sentence: str, section: str | None) -> bool:
    """Never a claim: a sentence of an aims, methods, measures or funding section, or an aim."""
    return bool(section and _SKIP_SECTION.search(section)) or bool(
        _AIM.search(without_label(sentence))
    )
