"""The roles of a run, in one registry: each role's name, kind, prompt, output schema, the
engine method that runs it and (for reviewers) its offline scorer.

Every roster in the code is derived from here: the tribunal's nodes in the graph, the role
names the context accepts (``role_llms``, ``prompt_versions``), the prompts a run loads and
records, the offline engine's reviewer dispatch, the report's Methodology, the sensitivity
eval's roles and perturbed prompts, the bench's tribunal stage.

A fourth reviewer is one ``register(Role(...))`` (or one entry in ``BUILTIN``) and one prompt
file ``prompts/<name>/v1.md``. Its offline scorer scores the draft when no chat model runs
the role, and when a chat model fails (the chat engine falls back to the offline engine), so
``build_graph`` refuses a reviewer without one (``check_roles``) rather than a run failing
half-way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from sovereign_agents import offline_reviewers as offline
from sovereign_agents import role_schemas as rs
from sovereign_agents.errors import ConfigError
from sovereign_agents.schemas import Draft, ReviewIssue
from sovereign_agents.signals import RunSignals

RoleKind = Literal["planner", "extractor", "writer", "reviewer", "reviser", "judge"]
EngineMethod = Literal["plan", "extract", "write", "review", "revise"]
OfflineScorer = Callable[[RunSignals, Draft], tuple[float, list[ReviewIssue], str]]
"""A reviewer's offline score: (score 0-10, issues, rationale) from the run's signals."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# names the graph already uses for its other nodes: a reviewer node may not take one
GRAPH_NODES = frozenset(
    {"plan", "search", "index", "extract", "verify", "draft", "aggregate", "revise"}
    | {"human_review", "policy", "report"}
)


@dataclass(frozen=True)
class Role:
    """One role. ``method`` is the ``Engine`` method that runs it (engines/base.py); a role
    without one runs outside the engines (the stance judge, inside ``verify``)."""

    name: str
    kind: RoleKind
    output: type[BaseModel] = field(repr=False)
    method: EngineMethod | None
    offline: OfflineScorer | None = field(default=None, repr=False, compare=False)
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(
                f"role name {self.name!r}: lower-case letters, digits and _ (it names the "
                "prompt folder and, for a reviewer, a graph node)"
            )
        if self.kind == "reviewer":
            if self.method != "review":
                raise ConfigError(f"reviewer {self.name!r} runs by the engine method 'review'")
            if not issubclass(self.output, rs.ReviewOutput):
                raise ConfigError(f"reviewer {self.name!r}: output must be a ReviewOutput")
            if self.name in GRAPH_NODES:
                raise ConfigError(f"reviewer {self.name!r} would clash with the graph's node")
        elif self.offline is not None:
            raise ConfigError(f"role {self.name!r}: only a reviewer has an offline scorer")

    @property
    def prompt(self) -> str:
        """The prompt id: the role's files are ``prompts/<name>/vN.md`` (front matter id)."""
        return self.name

    @property
    def label(self) -> str:
        """How the report names it: SKEPTIC."""
        return self.name.upper()


BUILTIN: tuple[Role, ...] = (
    Role("planner", "planner", rs.PlanOutput, "plan", description="search queries"),
    Role("extractor", "extractor", rs.ExtractOutput, "extract", description="claims"),
    Role("writer", "writer", rs.DraftOutput, "write", description="abstract and answer"),
    Role(
        "skeptic",
        "reviewer",
        rs.ReviewOutput,
        "review",
        offline.review_skeptic,
        "what is wrong: unverified, weak and single-source claims",
    ),
    Role(
        "validator",
        "reviewer",
        rs.ReviewOutput,
        "review",
        offline.review_validator,
        "whether the cited claims hold: confidence, citations, the asked quantity",
    ),
    Role(
        "synthesizer",
        "reviewer",
        rs.ReviewOutput,
        "review",
        offline.review_synthesizer,
        "whether the draft answers the goal: its concepts, breadth",
    ),
    Role("reviser", "reviser", rs.RevisionOutput, "revise", description="the revision plan"),
    Role("judge", "judge", rs.JudgeOutput, None, description="claim stance, inside verify"),
)


class RoleRegistry:
    """The roles in order: reviewers sit, and are reported, in the order registered."""

    def __init__(self, roles: Iterable[Role] = ()) -> None:
        self._roles: dict[str, Role] = {}
        for role in roles:
            self.register(role)

    def register(self, role: Role) -> Role:
        if role.name in self._roles:
            raise ConfigError(f"role {role.name!r} is already registered")
        # a new reviewer sits after the others, before the reviser (registry order is
        # graph, report and prompt order)
        items = list(self._roles.values())
        at = len(items)
        if role.kind == "reviewer":
            at = max((i + 1 for i, r in enumerate(items) if r.kind == "reviewer"), default=at)
        items.insert(at, role)
        self._roles = {r.name: r for r in items}
        return role

    def unregister(self, name: str) -> Role:
        return self._roles.pop(self.get(name).name)

    def get(self, name: str) -> Role:
        try:
            return self._roles[name]
        except KeyError:
            raise ConfigError(f"unknown role {name!r}; known: {', '.join(self._roles)}") from None

    def __iter__(self) -> Iterator[Role]:
        return iter(list(self._roles.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._roles


REGISTRY = RoleRegistry(BUILTIN)


def register(role: Role) -> Role:
    """Add a role to the registry (a reviewer joins the tribunal of graphs built after)."""
    return REGISTRY.register(role)


def unregister(name: str) -> Role:
    return REGISTRY.unregister(name)


@contextmanager
def registered(*roles: Role) -> Iterator[tuple[Role, ...]]:
    """The roles registered for the ``with`` block only (tests, evals, notebooks)."""
    done: list[Role] = []
    try:
        for role in roles:
            done.append(register(role))
        yield tuple(done)
    finally:
        for role in reversed(done):
            unregister(role.name)


def role(name: str) -> Role:
    return REGISTRY.get(name)


def model_roles() -> tuple[str, ...]:
    """Every role a chat model may run (``Context.role_llms`` keys)."""
    return tuple(r.name for r in REGISTRY)


def engine_roles() -> tuple[str, ...]:
    """The roles the engines run, whose prompts a run loads and records when it starts
    (``Context.prompt_versions`` keys); the judge's prompt is recorded by verify."""
    return tuple(r.name for r in REGISTRY if r.method is not None)


def engine_methods() -> frozenset[str]:
    """The methods an object must have to stand in for an engine."""
    return frozenset(r.method for r in REGISTRY if r.method is not None)


def reviewers() -> tuple[Role, ...]:
    return tuple(r for r in REGISTRY if r.kind == "reviewer")


def reviewer_names() -> tuple[str, ...]:
    return tuple(r.name for r in reviewers())


def names_of(kind: RoleKind) -> tuple[str, ...]:
    return tuple(r.name for r in REGISTRY if r.kind == kind)


def offline_scorer(name: str) -> OfflineScorer:
    """The offline scorer of reviewer ``name`` (``check_roles`` makes sure there is one)."""
    scorer = role(name).offline
    if scorer is None:
        raise ConfigError(missing_scorer(name))
    return scorer


def missing_scorer(name: str) -> str:
    return (
        f"reviewer {name!r} has no offline scorer: the offline engine runs every reviewer "
        "without a chat model, and the chat engine falls back to it when a model fails; "
        "give the role one (Role(..., offline=score_fn), see offline_reviewers.py)"
    )


def check_roles() -> None:
    """What a graph needs of the registry, checked when it is built: at least one reviewer,
    and an offline scorer for each."""
    if not reviewers():
        raise ConfigError("the roles registry has no reviewer: the tribunal needs one")
    for reviewer in reviewers():
        if reviewer.offline is None:
            raise ConfigError(missing_scorer(reviewer.name))


def in_order(names: Iterable[str]) -> list[str]:
    """``names`` in registry order, each once; names not registered last, alphabetically
    (a report read in a process that lacks one of its reviewers)."""
    order = {name: i for i, name in enumerate(model_roles())}
    unique = list(dict.fromkeys(names))
    return sorted(unique, key=lambda n: (order.get(n, len(order)), n if n not in order else ""))
