"""``report.html``: the built report (the dict report.json holds) as one self-contained page.

Inline CSS, inline SVG charts, one fixed inline script (the claim filter; it reads only
``data-*`` values it compares with a fixed list and never evaluates data); a Content Security
Policy allows that script by its hash and nothing else: no network fetch, no other script.

Everything that comes from sources and models (titles, abstracts, claims, issues, messages,
URLs) goes through :func:`text` / :func:`attr` (``html.escape``, control and bidi characters
made visible) and links through :func:`safe_url` (http(s) only), so hostile strings render as
inert text. Rosters and thresholds are read from the report and from where they are defined
(``roles.py``, the ``Review.score`` bounds, the run's context and verifier).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, get_args
from urllib.parse import urlsplit

from annotated_types import Ge, Le

from sovereign_agents.nodes.human_review import dispute_reasons, flagged_claims
from sovereign_agents.report import results_line, reviewer_roster
from sovereign_agents.schemas import Policy, Review, Stance

UNCHECKED = "unchecked"
STANCES: tuple[str, ...] = (*get_args(Stance), UNCHECKED)
ROLE_COLOURS = ("#5b4fc7", "#1f8a7a", "#d9822b", "#c2416b", "#3b7dd8", "#7a8a1f")
POLICY_CLASS = {
    Policy.AUTO_APPROVE.value: "good",
    Policy.HUMAN_REVIEW.value: "warn",
    Policy.REJECT.value: "bad",
}
LONG_ABSTRACT = 2500  # longer abstracts are shown as a window around the evidence
WINDOW = 700

_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


# ------------------------------------------------------------------------------------------
# escaping


def text(value: object) -> str:
    """Text for an element's content or a double-quoted attribute: escaped, with control,
    zero-width and bidi characters shown as ``\\uXXXX`` instead of acting on the page."""
    shown = _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))
    return html.escape(shown, quote=True)


attr = text  # attributes are always double-quoted, and text() escapes quotes


def safe_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) URL without spaces or control characters."""
    if not isinstance(url, str):
        return None
    candidate = url.strip()
    if not candidate or _INVISIBLE.search(candidate) or any(c.isspace() for c in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def link(url: object, label: str) -> str:
    """An external link when the URL is http(s); otherwise the URL shown as text."""
    safe = safe_url(url)
    if safe is None:
        return f'{label} <span class="muted">(link withheld, not http(s): {text(url)})</span>'
    return f'<a href="{attr(safe)}" rel="noopener noreferrer">{label}</a>'


def fragment(claim_id: str) -> str:
    """An element id for a claim (ids are ``C`` + hex, but a report file is input too)."""
    return "claim-" + re.sub(r"[^A-Za-z0-9_-]", "_", claim_id)


# ------------------------------------------------------------------------------------------
# numbers the page derives rather than repeats


def score_range() -> tuple[float, float]:
    """The bounds of a reviewer's score, read from ``Review.score``'s validation."""
    low, high = 0.0, 10.0
    for item in Review.model_fields["score"].metadata:
        if isinstance(item, Ge):
            low = float(item.ge)  # type: ignore[arg-type]
        if isinstance(item, Le):
            high = float(item.le)  # type: ignore[arg-type]
    return low, high


def approve_threshold(r: Mapping[str, Any]) -> float:
    return float(r["context"]["approve_threshold"])


def verify_threshold(r: Mapping[str, Any]) -> float:
    return float(r["verifier"]["threshold"])


def active_claims(r: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in r["claims"] if c["dropped_in_round"] is None]


def _date(created_at: str) -> str:
    try:
        moment = datetime.fromisoformat(created_at)
    except ValueError:
        return created_at
    return f"{moment:%B} {moment.day}, {moment.year}"


# ------------------------------------------------------------------------------------------
# the tribunal chart


def tribunal_chart(r: Mapping[str, Any]) -> str:
    """Grouped bars: each reviewer's score per round, each round's mean, the approve line."""
    rounds = r["tribunal"]["rounds"]
    roles = reviewer_roster(r)
    low, high = score_range()
    width, height = 560, 300
    left, right, top, bottom = 40, 112, 22, 66
    plot_w, plot_h = width - left - right, height - top - bottom

    def y(value: float) -> float:
        v = min(max(value, low), high)
        return top + plot_h * (1 - (v - low) / (high - low))

    group_w = plot_w / max(len(rounds), 1)
    bar_w = min(34.0, (group_w - 28) / max(len(roles), 1))
    parts = [
        f'<svg id="tribunal-chart" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-label="Reviewer scores per tribunal round against the approve threshold">',
        "<title>Reviewer scores per tribunal round</title>",
    ]
    step = 2 if high - low > 5 else 1
    tick = low
    while tick <= high + 1e-9:
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/>'
            f'<text class="axis" x="{left - 8}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:g}</text>'
        )
        tick += step
    for g, rnd in enumerate(rounds):
        x0 = left + g * group_w + (group_w - bar_w * len(roles)) / 2
        for i, role in enumerate(roles):
            score = rnd["scores"].get(role)
            if score is None:
                continue
            x = x0 + i * bar_w
            tall = y(low) - y(score) > 22
            inside, label_y = (" inside", y(score) + 15) if tall else ("", y(score) - 5)
            colour = ROLE_COLOURS[i % len(ROLE_COLOURS)]
            parts.append(
                f'<rect class="bar" data-role="{attr(role)}" data-round="{int(rnd["round"])}" '
                f'data-score="{float(score):g}" x="{x + 2:.1f}" y="{y(score):.1f}" '
                f'width="{bar_w - 4:.1f}" height="{y(low) - y(score):.1f}" fill="{colour}" '
                f'rx="2"><title>{text(role.upper())}, round {int(rnd["round"])}: '
                f"{float(score):.1f}</title></rect>"
                f'<text class="value{inside}" x="{x + bar_w / 2:.1f}" y="{label_y:.1f}" '
                f'text-anchor="middle">{float(score):.1f}</text>'
            )
        mean_y = y(rnd["score"])
        x_end = x0 + bar_w * len(roles)
        centre = left + g * group_w + group_w / 2
        parts.append(
            f'<line class="mean" x1="{x0 - 6:.1f}" x2="{x_end + 6:.1f}" y1="{mean_y:.1f}" '
            f'y2="{mean_y:.1f}"><title>mean {float(rnd["score"]):.2f}</title></line>'
            f'<text class="round" x="{centre:.1f}" y="{top + plot_h + 18:.1f}" '
            f'text-anchor="middle">round {int(rnd["round"])} → {text(rnd["verdict"])}</text>'
            f'<text class="axis" x="{centre:.1f}" y="{top + plot_h + 34:.1f}" '
            f'text-anchor="middle">mean {float(rnd["score"]):.2f} · spread '
            f"{float(rnd['spread']):.1f}</text>"
        )
    line_y = y(approve_threshold(r))
    parts.append(
        f'<line class="threshold" data-threshold="{approve_threshold(r):g}" x1="{left}" '
        f'x2="{left + plot_w}" y1="{line_y:.1f}" y2="{line_y:.1f}"/>'
        f'<text class="threshold-label" x="{left + plot_w + 6}" y="{line_y + 4:.1f}">'
        f"approve ≥ {approve_threshold(r):g}</text>"
        f'<line class="axis-line" x1="{left}" x2="{left + plot_w}" y1="{y(low):.1f}" '
        f'y2="{y(low):.1f}"/>'
    )
    legend_y = height - 8
    for i, role in enumerate(roles):
        lx = left + i * 120
        parts.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" rx="2" '
            f'fill="{ROLE_COLOURS[i % len(ROLE_COLOURS)]}"/>'
            f'<text class="legend" x="{lx + 17}" y="{legend_y}">{text(role.upper())}</text>'
        )
    lx = left + len(roles) * 120
    parts.append(
        f'<line class="mean" x1="{lx}" x2="{lx + 16}" y1="{legend_y - 4}" y2="{legend_y - 4}"/>'
        f'<text class="legend" x="{lx + 21}" y="{legend_y}">mean</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def confidence_bar(confidence: float, threshold: float, verified: bool) -> str:
    """A small bar: the claim's confidence, with a tick at the verifier's threshold."""
    width, height = 130, 12
    scale = max(1.0, confidence, threshold)

    def x(value: float) -> float:
        return width * min(max(value, 0.0), scale) / scale

    fill = "#2f9e5b" if verified else "#c4574a"
    return (
        f'<svg class="conf" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="confidence {confidence:.2f}, threshold {threshold:g}">'
        f'<rect width="{width}" height="{height}" rx="3" fill="#e8e6ef"/>'
        f'<rect class="conf-fill" width="{x(confidence):.1f}" height="{height}" rx="3" '
        f'fill="{fill}"/>'
        f'<line class="conf-threshold" x1="{x(threshold):.1f}" x2="{x(threshold):.1f}" y1="-1" '
        f'y2="{height + 1}" stroke="#1d1b26" stroke-width="2"/></svg>'
    )


# ------------------------------------------------------------------------------------------
# claims


def located_evidence(abstract: str | None, claim: Mapping[str, Any]) -> tuple[int, int] | None:
    """Where the claim's evidence sentence lies in the abstract: its recorded offsets when they
    hold it, else where the sentence is found; None when the abstract does not hold it."""
    if not abstract:
        return None
    evidence = str(claim.get("evidence") or "")
    start, end = claim.get("evidence_start"), claim.get("evidence_end")
    if (
        isinstance(start, int)
        and isinstance(end, int)
        and 0 <= start < end <= len(abstract)
        and " ".join(abstract[start:end].split()) == " ".join(evidence.split())
    ):
        return start, end
    if evidence:
        found = abstract.find(evidence)
        if found >= 0:
            return found, found + len(evidence)
    return None


def highlighted(abstract: str | None, claim: Mapping[str, Any]) -> str:
    """The paper's abstract with the evidence sentence marked, or the sentence alone."""
    span = located_evidence(abstract, claim)
    if abstract is None or span is None:
        note = "abstract not recorded" if not abstract else "not found in the abstract"
        return (
            f'<mark class="evidence" data-located="no">{text(claim.get("evidence", ""))}</mark>'
            f' <span class="muted">({note})</span>'
        )
    start, end = span
    before, after = abstract[:start], abstract[end:]
    if len(abstract) > LONG_ABSTRACT:
        before = ("…" if start > WINDOW else "") + before[-WINDOW:]
        after = after[:WINDOW] + ("…" if len(after) > WINDOW else "")
    return (
        f'{text(before)}<mark class="evidence" data-located="yes">{text(abstract[start:end])}'
        f"</mark>{text(after)}"
    )


def revision_marks(r: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Claim id -> (data value, label) for what the revision round did to it."""
    marks: dict[str, tuple[str, str]] = {}
    d = r.get("revision")
    if d:
        n = d["round"]
        for cid in d["added"]:
            marks[cid] = ("added", f"added in round {n}")
        for cid in d["changed_verdict"]:
            marks[cid] = ("changed", f"verdict changed in round {n}")
        for cid in d["dropped"]:
            marks[cid] = ("dropped", f"dropped in round {n}")
    for c in r["claims"]:
        if c["dropped_in_round"] is not None and c["id"] not in marks:
            marks[c["id"]] = ("dropped", f"dropped in round {c['dropped_in_round']}")
    return marks


def cited_ids(r: Mapping[str, Any]) -> set[str]:
    draft = r.get("draft") or {}
    return {
        cid
        for s in [*draft.get("abstract", []), *draft.get("answer", [])]
        for cid in s["claim_ids"]
    }


def named_claims(message: str, r: Mapping[str, Any]) -> list[str]:
    """The ids of the report's claims that a message names."""
    return [
        c["id"] for c in r["claims"] if re.search(rf"(?<!\w){re.escape(c['id'])}(?!\w)", message)
    ]


def claim_notes(r: Mapping[str, Any]) -> dict[str, list[str]]:
    """Claim id -> the reviewers' issues and the Uncertainties that name it (HTML items)."""
    notes: dict[str, list[str]] = {}
    for rv in r["tribunal"]["reviews"]:
        for issue in rv["issues"]:
            for cid in issue.get("claim_ids", []):
                notes.setdefault(cid, []).append(
                    f'<li class="issue sev-{attr(issue.get("severity", ""))}">'
                    f'<span class="who">{text(rv["role"].upper())}</span> '
                    f'<span class="sev">{text(issue.get("severity", ""))}</span> '
                    f"{text(issue['text'])}</li>"
                )
    for u in r["uncertainties"]:
        for cid in named_claims(u["message"], r):
            notes.setdefault(cid, []).append(
                f'<li class="uncertainty"><span class="who">uncertainty</span> '
                f"{text(u['message'])}</li>"
            )
    return notes


def disputed(r: Mapping[str, Any]) -> dict[str, list[str]]:
    """Claim id -> why it is disputed (the human_review node's rule), active claims only."""
    flagged = flagged_claims(
        (rv["role"], i["text"], i.get("severity", "medium"), i.get("claim_ids", []))
        for rv in r["tribunal"]["reviews"]
        for i in rv["issues"]
    )
    cited = cited_ids(r)
    grey = float(r["context"].get("grey_zone") or 0.0)
    out: dict[str, list[str]] = {}
    for c in active_claims(r):
        reasons = dispute_reasons(
            verified=c["verified"],
            confidence=c["confidence"],
            threshold=verify_threshold(r),
            flagged=flagged.get(c["id"], []),
            cited=c["id"] in cited,
            grey_zone=grey,
        )
        if reasons:
            out[c["id"]] = reasons
    return out


def claim_card(
    c: Mapping[str, Any],
    r: Mapping[str, Any],
    *,
    paper: Mapping[str, Any] | None,
    abstract: str | None,
    mark: tuple[str, str] | None,
    notes: list[str],
    reasons: list[str],
) -> str:
    stance = c.get("stance") if c.get("stance") in STANCES else UNCHECKED
    status = "verified" if c["verified"] else "unverified"
    pills = [
        f'<span class="pill {"ok" if c["verified"] else "no"}">'
        f"{'✓ verified' if c['verified'] else '✗ unverified'}</span>",
        f'<span class="pill stance">stance: {text(stance)}</span>',
    ]
    if reasons:
        pills.append('<span class="pill disputed">disputed</span>')
    if mark:
        pills.append(f'<span class="pill rev rev-{attr(mark[0])}">{text(mark[1])}</span>')
    if c.get("human_verdict"):
        pills.append(f'<span class="pill human">human: {text(c["human_verdict"])}</span>')
    title = text(paper["title"]) if paper else "(paper not in the report)"
    source = link(paper["url"], f"{text(c['paper_id'])}") if paper else text(c["paper_id"])
    items = list(notes)
    items += [
        f'<li class="dispute"><span class="who">disputed</span> {text(x)}</li>' for x in reasons
    ]
    if c.get("drop_reason"):
        items.append(
            f'<li class="drop"><span class="who">dropped</span> {text(c["drop_reason"])}</li>'
        )
    if c.get("stance_quote"):
        items.append(f'<li><span class="who">judge quote</span> {text(c["stance_quote"])}</li>')
    best = c.get("verifier_evidence")
    if best and " ".join(str(best).split()) != " ".join(str(c["evidence"]).split()):
        items.append(f'<li><span class="who">verifier matched</span> {text(best)}</li>')
    notes_html = f'<ul class="notes">{"".join(items)}</ul>' if items else ""
    return (
        f'<article class="claim{" dropped" if c["dropped_in_round"] is not None else ""}" '
        f'id="{attr(fragment(c["id"]))}" data-claim-id="{attr(c["id"])}" '
        f'data-status="{status}" data-disputed="{"yes" if reasons else "no"}" '
        f'data-stance="{attr(stance)}" data-revision="{attr(mark[0] if mark else "none")}">'
        f'<header><span class="cid">{text(c["id"])}</span>{"".join(pills)}'
        f'<span class="confidence">{confidence_bar(c["confidence"], verify_threshold(r), c["verified"])}'
        f'<span class="num">{c["confidence"]:.2f}</span>'
        f'<span class="muted">threshold {verify_threshold(r):g}</span></span></header>'
        f'<p class="claim-text">{text(c["text"])}</p>'
        f'<p class="source">{source} · {title}</p>'
        f'<blockquote class="abstract">{highlighted(abstract, c)}</blockquote>'
        f"{notes_html}</article>"
    )


def _options(name: str, label: str, values: Iterable[tuple[str, str]]) -> str:
    opts = "".join(f'<option value="{attr(v)}">{text(t)}</option>' for v, t in values)
    return f'<label>{label} <select name="{name}">{opts}</select></label>'


def claims_section(r: Mapping[str, Any], sources: Mapping[str, str]) -> str:
    papers = {p["id"]: p for p in r["papers"]}
    marks = revision_marks(r)
    notes = claim_notes(r)
    reasons = disputed(r)
    cards = [
        claim_card(
            c,
            r,
            paper=papers.get(c["paper_id"]),
            abstract=sources.get(c["paper_id"]),
            mark=marks.get(c["id"]),
            notes=notes.get(c["id"], []),
            reasons=reasons.get(c["id"], []),
        )
        for c in r["claims"]
    ]
    filters = (
        '<form id="filters" class="filters">'
        + _options(
            "status",
            "Show",
            [
                ("all", "all claims"),
                ("verified", "verified"),
                ("unverified", "unverified"),
                ("disputed", "disputed"),
            ],
        )
        + _options("stance", "Stance", [("all", "any"), *((s, s) for s in STANCES)])
        + _options(
            "revision",
            "Revision",
            [
                ("all", "any"),
                ("added", "added"),
                ("changed", "verdict changed"),
                ("dropped", "dropped"),
                ("none", "unchanged"),
            ],
        )
        + f'<span class="count"><span id="shown">{len(cards)}</span> of {len(cards)} shown</span>'
        "</form>"
    )
    body = "".join(cards) or '<p class="muted">No claims were extracted.</p>'
    return (
        f'<section id="claims"><h2>5 Extracted Claims</h2>'
        f'<p class="muted">Each claim with its paper, the verifier\'s confidence against its '
        f"threshold ({text(r['verifier']['name'])}, verified at ≥ {verify_threshold(r):g}) and "
        "the evidence sentence highlighted in the paper's abstract.</p>"
        f"{filters}{body}</section>"
    )


# ------------------------------------------------------------------------------------------
# the other sections


def _cite(sentences: list[dict[str, Any]]) -> str:
    parts = []
    for s in sentences:
        refs = "".join(
            f' <a class="cite" href="#{attr(fragment(cid))}">[{text(cid)}]</a>'
            for cid in s["claim_ids"]
        )
        parts.append(f"{text(str(s['text']).rstrip())}{refs}")
    return " ".join(parts)


def results_section(r: Mapping[str, Any]) -> str:
    t = r["tribunal"]
    roles = reviewer_roster(r)
    rounds = t["rounds"]
    head = "".join(f"<th>round {int(x['round'])}</th>" for x in rounds)
    rows = []
    for i, role in enumerate(roles):
        swatch = (
            f'<span class="swatch" style="background:{ROLE_COLOURS[i % len(ROLE_COLOURS)]}"></span>'
        )
        cells = "".join(
            f"<td>{x['scores'][role]:.1f}</td>" if role in x["scores"] else "<td>—</td>"
            for x in rounds
        )
        rows.append(f"<tr><th>{swatch}{text(role.upper())}</th>{cells}</tr>")
    rows.append(
        '<tr class="total"><th>mean</th>'
        + "".join(f"<td>{x['score']:.2f}</td>" for x in rounds)
        + "</tr><tr><th>spread</th>"
        + "".join(f"<td>{x['spread']:.1f}</td>" for x in rounds)
        + "</tr><tr><th>verdict</th>"
        + "".join(f"<td>{text(x['verdict'])}</td>" for x in rounds)
        + "</tr>"
    )
    revision = ""
    if r.get("revision"):
        d = r["revision"]
        revision = (
            f'<p class="revision">Revision round {int(d["round"])}: '
            f'<a href="#revision=added">{len(d["added"])} added</a>, '
            f'<a href="#revision=dropped">{len(d["dropped"])} dropped</a>, '
            f'<a href="#revision=changed">{len(d["changed_verdict"])} changed verdict</a> '
            '<span class="muted">(links filter the claims)</span>. '
            f"{text(d['rationale'])}.</p>"
        )
    issues = []
    for rv in t["reviews"]:
        for issue in rv["issues"]:
            refs = " ".join(
                f'<a class="cite" href="#{attr(fragment(cid))}">{text(cid)}</a>'
                for cid in issue.get("claim_ids", [])
            )
            issues.append(
                f'<li class="issue sev-{attr(issue.get("severity", ""))}">'
                f'<span class="who">{text(rv["role"].upper())}</span> '
                f'<span class="sev">{text(issue.get("severity", ""))}</span> '
                f"{text(issue['text'])} {refs}</li>"
            )
    issues_html = (
        f'<h3>Issues raised</h3><ul class="issues">{"".join(issues)}</ul>' if issues else ""
    )
    policy_class = POLICY_CLASS.get(r["policy"], "warn")
    return (
        '<section id="results"><h2>3 Results</h2>'
        f'<p class="results-line" id="results-line">{text(results_line(r))}</p>'
        '<div class="results-grid">'
        f'<figure class="chart-box">{tribunal_chart(r)}<figcaption>Reviewer scores per round; '
        f"the dashed line is the approve threshold ({approve_threshold(r):g}): a mean below it "
        f"sends the draft to revision (at most {int(r['context']['max_revisions'])} "
        "round(s)).</figcaption></figure>"
        '<div class="verdict-box">'
        f'<div class="big {policy_class}"><span class="label">Policy</span>'
        f"{text(r['policy'])}</div>"
        f'<div class="big"><span class="label">Tribunal verdict</span>{text(r["verdict"])}'
        f' <span class="small">{t["score"]:.2f} mean · spread {t["spread"]:.1f}</span></div>'
        f'<p class="reason">{text(r["policy_reason"])}</p>'
        f'<table class="scores"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        "</div></div>"
        f"{revision}{issues_html}</section>"
    )


def uncertainties_section(r: Mapping[str, Any]) -> str:
    items = []
    for u in r["uncertainties"]:
        message = text(u["message"])
        for cid in named_claims(u["message"], r):
            message = message.replace(
                text(cid), f'<a class="cite" href="#{attr(fragment(cid))}">{text(cid)}</a>'
            )
        items.append(f'<li><span class="kind">{text(u["kind"])}</span> {message}</li>')
    body = "".join(items) or "<li>None recorded.</li>"
    return f'<section id="uncertainties"><h2>4 Uncertainties</h2><ul>{body}</ul></section>'


def methodology_section(r: Mapping[str, Any]) -> str:
    ctx = r["context"]
    rounds: dict[int, list[dict[str, Any]]] = {}
    for q in r["queries"]:
        rounds.setdefault(int(q["round"]), []).append(q)
    queries = "".join(
        f"<li>round {n}: "
        + "; ".join(
            f"<q>{text(q['query'])}</q> ({int(q.get('hits', 0))} hits"
            + (
                f', <span class="bad-text">failed: {text(q["error"])}</span>'
                if q.get("error")
                else ""
            )
            + ")"
            for q in qs
        )
        + "</li>"
        for n, qs in rounds.items()
    )
    chat = r["models"]["chat"]
    roles = reviewer_roster(r)
    tribunal = ", ".join(f"{text(role.upper())} ({text(chat.get(role, '?'))})" for role in roles)
    rules = r["policy_rules"]
    prompts = ", ".join(
        f'{text(p["id"])}@{text(p["version"])} <span class="muted">{text(str(p["sha256"])[:12])}</span>'
        for p in r["prompts"]
    )
    engines = ", ".join(text(e) for e in sorted(set(chat.values())))
    rows = [
        (
            "Search",
            f"{text(r['search'])}: {int(ctx['n_queries'])} parallel queries per round, up to "
            f"{int(ctx['papers_per_query'])} hits each, merged by reciprocal-rank fusion, kept at "
            f"relevance ≥ {float(ctx['min_relevance']):g}, at most {int(ctx['max_papers'])} papers.",
        ),
        ("Queries", f"<ul>{queries}</ul>" if queries else "none"),
        (
            "Semantic index",
            f"{text(r['models']['embedding'])} (dim={text(r['models']['embedding_dim'])})",
        ),
        (
            "Claims",
            f"{engines} engine, at most {int(ctx['claims_per_paper'])} per paper, each tied to "
            "its evidence sentence.",
        ),
        (
            "Verification",
            f"{text(str(r['verifier']['description']).rstrip('. '))}. A claim is verified at "
            "confidence ≥ "
            f"{verify_threshold(r):g}. Stance: {text(r['verifier'].get('stance', 'not checked'))}.",
        ),
        (
            "Tribunal",
            f"{len(roles)} reviewers in parallel: {tribunal}; score = their mean; one revision "
            f"round when the mean &lt; {approve_threshold(r):g} (at most "
            f"{int(ctx['max_revisions'])}).",
        ),
        (
            "Policy",
            f"AUTO_APPROVE at score ≥ {text(rules.get('approve_threshold'))} with ≥ "
            f"{text(rules.get('min_verified_claims'))} verified claim(s); REJECT with fewer than "
            f"{text(rules.get('min_relevant_papers'))} relevant paper(s) or no verified claim; "
            "else HUMAN_REVIEW.",
        ),
        ("Prompts", prompts or "none"),
        ("Model calls", str(int(r.get("model_calls", 0)))),
    ]
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<section id="methodology"><h2>2 Methodology</h2><dl>{body}</dl></section>'


def references_section(r: Mapping[str, Any]) -> str:
    used = [p for p in r["papers"] if p["used"] or p["anchor"]]
    items = [
        f'<li id="{attr("ref-" + re.sub(r"[^A-Za-z0-9_.-]", "_", p["id"]))}">'
        f"{link(p['url'], '[' + text(p['id']) + ']')} {text(p['title'])}</li>"
        for p in used
    ]
    body = "".join(items) or "<li>No paper contributed a claim.</li>"
    return f'<section id="references"><h2>References</h2><ol>{body}</ol></section>'


# ------------------------------------------------------------------------------------------
# the page

FILTER_SCRIPT = """(function () {
  var form = document.getElementById("filters");
  if (!form) { return; }
  var claims = document.querySelectorAll("article.claim");
  var shown = document.getElementById("shown");
  var keys = ["status", "stance", "revision"];
  function keep(card, key, want) {
    if (want === "all") { return true; }
    if (key === "status" && want === "disputed") { return card.dataset.disputed === "yes"; }
    return card.dataset[key] === want;
  }
  function apply() {
    var n = 0;
    claims.forEach(function (card) {
      var ok = keys.every(function (key) { return keep(card, key, form.elements[key].value); });
      card.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = String(n);
  }
  function preset() {
    var wanted = new URLSearchParams(window.location.hash.slice(1));
    var hit = false;
    keys.forEach(function (key) {
      var value = wanted.get(key);
      var select = form.elements[key];
      var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
      if (known) { select.value = value; hit = true; }
    });
    return hit;
  }
  form.addEventListener("change", apply);
  window.addEventListener("hashchange", function () {
    if (preset()) { apply(); form.scrollIntoView(); }
  });
  preset();
  apply();
  document.documentElement.setAttribute("data-filters", "ready");
})();"""

SCRIPT_HASH = base64.b64encode(hashlib.sha256(FILTER_SCRIPT.encode()).digest()).decode()
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
    f"script-src 'sha256-{SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)

STYLE = """
:root { --ink:#1d1b26; --muted:#6b6878; --line:#e3e0ec; --bg:#f7f6fb; --card:#fff;
  --accent:#5b4fc7; --good:#2f9e5b; --warn:#c98a12; --bad:#c4574a; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header.top { background:linear-gradient(120deg,#2b2560,#4a3fa8); color:#fff; padding:28px 40px 24px; }
header.top .kicker { margin:0; font-size:12px; letter-spacing:.08em; text-transform:uppercase; opacity:.8; }
header.top h1 { margin:8px 0 6px; font-size:26px; line-height:1.25; overflow-wrap:anywhere; }
header.top .goal { margin:0; opacity:.92; overflow-wrap:anywhere; }
main { max-width:1180px; margin:0 auto; padding:8px 32px 40px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px;
  padding:18px 24px; margin:18px 0; }
h2 { margin:0 0 12px; font-size:19px; }
h3 { font-size:15px; margin:16px 0 6px; }
a { color:var(--accent); }
.muted { color:var(--muted); }
.results-line { font-size:16px; font-weight:600; margin:0 0 12px; }
.results-grid { display:flex; gap:24px; flex-wrap:wrap; align-items:flex-start; }
.chart-box { margin:0; flex:0 0 auto; }
.chart-box figcaption { color:var(--muted); font-size:12.5px; max-width:560px; }
svg.chart text { font:12px system-ui, "DejaVu Sans", sans-serif; fill:var(--ink); }
svg.chart .axis { fill:var(--muted); font-size:11px; }
svg.chart .grid { stroke:#eeecf4; }
svg.chart .axis-line { stroke:#b9b5c8; }
svg.chart .mean { stroke:var(--ink); stroke-width:2.5; }
svg.chart .threshold { stroke:var(--bad); stroke-width:2; stroke-dasharray:6 4; }
svg.chart .threshold-label { fill:var(--bad); font-weight:600; }
svg.chart .value { font-size:11px; fill:var(--ink); }
svg.chart .value.inside { fill:#fff; font-weight:700; }
svg.chart .round { font-weight:600; }
.verdict-box { flex:1 1 300px; min-width:280px; }
.big { font-size:22px; font-weight:700; padding:8px 12px; border-radius:8px; background:#f0eff6;
  margin-bottom:8px; }
.big .label { display:block; font-size:11px; font-weight:600; text-transform:uppercase;
  letter-spacing:.06em; color:var(--muted); }
.big .small { font-size:13px; font-weight:500; color:var(--muted); }
.big.good { background:#e3f4ea; color:#1d6b3d; } .big.warn { background:#fbf1dc; color:#7d560b; }
.big.bad { background:#f9e3e0; color:#8c2f24; }
.reason { margin:4px 0 10px; color:var(--muted); }
table.scores { border-collapse:collapse; width:100%; font-size:13.5px; }
table.scores th, table.scores td { padding:4px 8px; border-bottom:1px solid var(--line); text-align:right; }
table.scores th:first-child { text-align:left; }
table.scores tr.total td { font-weight:700; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; }
.revision { margin:14px 0 0; padding:8px 12px; background:#f3f1fb; border-radius:8px; }
ul.issues, ul.notes { padding-left:0; list-style:none; margin:6px 0 0; }
ul.issues li, ul.notes li { margin:3px 0; overflow-wrap:anywhere; }
.who { display:inline-block; font-size:11px; font-weight:700; letter-spacing:.04em;
  text-transform:uppercase; color:#fff; background:#6b6878; border-radius:4px; padding:0 6px; }
.issue .who { background:var(--accent); }
.uncertainty .who { background:#8a6d1a; } .dispute .who { background:var(--bad); }
.sev { font-size:11px; color:var(--muted); text-transform:uppercase; }
.sev-high .sev { color:var(--bad); font-weight:700; }
.kind { font-size:11px; text-transform:uppercase; color:var(--muted); margin-right:4px; }
form.filters { display:flex; gap:18px; flex-wrap:wrap; align-items:center; padding:10px 12px;
  background:#f3f1fb; border-radius:8px; margin:0 0 12px; position:sticky; top:0; z-index:2; }
form.filters select { font:inherit; padding:2px 6px; }
form.filters .count { margin-left:auto; color:var(--muted); }
article.claim { border:1px solid var(--line); border-left:4px solid var(--good); border-radius:8px;
  padding:10px 14px; margin:10px 0; }
article.claim[data-status="unverified"] { border-left-color:var(--bad); }
article.claim[data-disputed="yes"] { border-left-color:var(--warn); }
article.claim.dropped { opacity:.62; }
article.claim header { display:flex; gap:8px; align-items:center; flex-wrap:wrap; }
.cid { font:12px ui-monospace, "DejaVu Sans Mono", monospace; color:var(--muted); }
.pill { font-size:12px; padding:1px 8px; border-radius:999px; background:#eeecf4; }
.pill.ok { background:#e3f4ea; color:#1d6b3d; } .pill.no { background:#f9e3e0; color:#8c2f24; }
.pill.disputed { background:#fbf1dc; color:#7d560b; font-weight:600; }
.pill.rev { background:#e4ecfb; color:#234d96; font-weight:600; }
.pill.rev-dropped { background:#ececec; color:#555; }
.pill.human { background:#ecdff7; color:#5a2a85; }
.confidence { margin-left:auto; display:flex; align-items:center; gap:6px; font-size:13px; }
.confidence .num { font-weight:700; font-variant-numeric:tabular-nums; }
.claim-text { font-weight:600; margin:8px 0 2px; overflow-wrap:anywhere; }
.source { margin:0 0 6px; font-size:13px; color:var(--muted); overflow-wrap:anywhere; }
blockquote.abstract { margin:6px 0; padding:8px 12px; background:#faf9fd; border-radius:6px;
  font-size:13.5px; color:#4a4758; border-left:3px solid var(--line); overflow-wrap:anywhere; }
mark.evidence { background:#ffe58a; color:var(--ink); padding:1px 2px; border-radius:3px; }
mark.evidence[data-located="no"] { background:#ffd3c4; }
dl { display:grid; grid-template-columns:150px 1fr; gap:6px 16px; margin:0; }
dt { font-weight:700; } dd { margin:0; overflow-wrap:anywhere; } dd ul { margin:0; padding-left:18px; }
.bad-text { color:var(--bad); }
section#references li, section#uncertainties li { margin:4px 0; overflow-wrap:anywhere; }
footer { text-align:center; color:var(--muted); font-size:12px; padding:0 0 30px; }
"""


def render_html(report: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> str:
    """The page for a built report (the dict in report.json); ``sources`` maps paper ids to
    their abstracts, in which the claims' evidence offsets point."""
    r = report
    sources = sources or {}
    draft = r.get("draft") or {}
    abstract = " ".join(
        x for x in (_cite(draft.get("answer", [])), _cite(draft.get("abstract", []))) if x
    )
    title = f"SOVEREIGN: {r['title']}"
    goal = (
        f'<p class="goal">Research goal: {text(r["goal"])}</p>' if r["goal"] != r["title"] else ""
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{attr(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{text(title)}</title><style>{STYLE}</style></head><body>"
        '<header class="top">'
        '<p class="kicker">SOVEREIGN Research Kernel · Autonomous draft — Owner review required '
        f"before publication · {text(_date(r['created_at']))}</p>"
        f'<h1 id="report-title">{text(title)}</h1>{goal}</header><main>'
        f"{results_section(r)}"
        f'<section id="abstract"><h2>Abstract</h2><p>{abstract}</p>'
        f'<p class="muted">1 Introduction — Analysis of: {text(r["title"])}. '
        f"Research goal: {text(r['goal'])}.</p></section>"
        f"{claims_section(r, sources)}{uncertainties_section(r)}"
        f"{methodology_section(r)}{references_section(r)}"
        f"</main><footer>run {text(r['run_id'])} · report schema "
        f"{text(r.get('schema_version', ''))} · rendered from the data of report.json</footer>"
        f"<script>{FILTER_SCRIPT}</script></body></html>\n"
    )
