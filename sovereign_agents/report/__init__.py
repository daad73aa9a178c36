"""The report: ``report.json`` (the contract other tools read) and ``report.md`` (for people).

* ``schema.py``: the typed report (claims built from ``Claim``, not copied field by field);
* ``build.py``: the report of a finished run's state;
* ``uncertainty.py``: the rules of the Uncertainties section;
* ``markdown.py``: ``report.md``, rendered from the typed report.

Everything in Methodology and Uncertainties is generated from what this run did.
"""

from sovereign_agents.report.build import build_report
from sovereign_agents.report.markdown import (
    render_markdown,
    results_line,
    reviewer_roster,
    stance_cell,
    verified_cell,
)
from sovereign_agents.report.schema import (
    REPORT_SCHEMA_VERSION,
    Report,
    ReportClaim,
    ReportPaper,
    ReportReview,
    ReportRound,
    ReportTribunal,
    RevisionDiff,
    as_report,
)
from sovereign_agents.report.uncertainty import uncertainties

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "Report",
    "ReportClaim",
    "ReportPaper",
    "ReportReview",
    "ReportRound",
    "ReportTribunal",
    "RevisionDiff",
    "as_report",
    "build_report",
    "render_markdown",
    "results_line",
    "reviewer_roster",
    "stance_cell",
    "uncertainties",
    "verified_cell",
]
