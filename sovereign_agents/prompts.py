"""Versioned prompt files: ``prompts/<role>/vN.md`` with YAML front matter and a body.

Front matter keys: ``id``, ``version``, ``role``, ``inputs`` (the names the body uses, as
``{name}`` placeholders), ``output`` (the name of the pydantic output schema in
``sovereign_agents.role_schemas``) and ``changelog``. Loading checks that the body uses
exactly the declared inputs, so a prompt that needs a variable the code does not provide
fails when it is loaded, not in the middle of a run.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from sovereign_agents import roles as roles_registry
from sovereign_agents.errors import PromptError

_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n(?P<body>.*)\Z", re.DOTALL)
_VERSION = re.compile(r"^v(\d+)$")
REQUIRED_KEYS = ("id", "version", "role", "inputs", "output", "changelog")


@dataclass(frozen=True)
class Prompt:
    id: str
    role: str
    version: str
    inputs: tuple[str, ...]
    output: str
    changelog: tuple[str, ...]
    body: str
    sha256: str
    path: str

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}#{self.sha256[:12]}"

    def render(self, **values: Any) -> str:
        missing = set(self.inputs) - set(values)
        extra = set(values) - set(self.inputs)
        if missing or extra:
            raise PromptError(
                f"prompt {self.id}@{self.version}: missing inputs {sorted(missing)}, "
                f"unexpected inputs {sorted(extra)}"
            )
        return self.body.format(**{k: str(v) for k, v in values.items()})

    def record(self, used_by: str) -> dict[str, str]:
        return {
            "id": self.id,
            "version": self.version,
            "sha256": self.sha256,
            "role": self.role,
            "used_by": used_by,
        }


def default_prompts_dir() -> Path:
    """The packaged prompts (inside the wheel) or, in a source checkout, ``prompts/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_prompts", here.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise PromptError(f"no prompts folder found beside {here}")


def body_fields(body: str) -> set[str]:
    """The placeholders a body uses, nested ones in format specs included. Positional
    placeholders (``{}``, ``{0}``) are refused: inputs are passed by name."""
    names: set[str] = set()
    try:
        for _, name, spec, _ in string.Formatter().parse(body):
            if name is None:
                continue
            if name == "" or name.split(".")[0].split("[")[0].isdigit():
                raise PromptError(
                    f"positional placeholder {{{name}}} in prompt body: use named inputs "
                    "(write {{ and }} for literal braces)"
                )
            names.add(name)
            if spec:
                names |= body_fields(spec)
    except PromptError:
        raise  # (also a ValueError) already says what is wrong
    except ValueError as exc:
        raise PromptError(f"malformed placeholder in prompt body: {exc}") from exc
    return names


def parse_prompt(text: str, path: str = "<string>") -> Prompt:
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        raise PromptError(f"{path}: no YAML front matter (--- ... ---) at the top")
    try:
        meta = yaml.safe_load(match.group("meta"))
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise PromptError(f"{path}: front matter must be a mapping")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise PromptError(f"{path}: front matter lacks {missing}")
    inputs = meta["inputs"]
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise PromptError(f"{path}: 'inputs' must be a list of names")
    version = str(meta["version"])
    if not _VERSION.match(version):
        raise PromptError(f"{path}: version must look like v1, v2, ... (got {version!r})")
    body = match.group("body").strip() + "\n"
    used = body_fields(body)
    if used != set(inputs):
        raise PromptError(
            f"{path}: body uses {sorted(used)} but front matter declares {sorted(inputs)}"
        )
    try:  # a prompt that loads always renders: inputs arrive as text
        body.format(**{name: "text" for name in inputs})
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
        raise PromptError(f"{path}: the body does not render with text inputs: {exc}") from exc
    changelog = meta["changelog"]
    if isinstance(changelog, str):
        changelog = [changelog]
    from sovereign_agents import role_schemas

    if not hasattr(role_schemas, str(meta["output"])):
        raise PromptError(f"{path}: unknown output schema {meta['output']!r}")
    return Prompt(
        id=str(meta["id"]),
        role=str(meta["role"]),
        version=version,
        inputs=tuple(inputs),
        output=str(meta["output"]),
        changelog=tuple(str(c) for c in changelog or ()),
        body=body,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        path=path,
    )


def available_versions(role: str, prompts_dir: str | Path | None = None) -> list[str]:
    root = Path(prompts_dir) if prompts_dir else default_prompts_dir()
    versions = [p.stem for p in (root / role).glob("v*.md") if _VERSION.match(p.stem)]
    return sorted(versions, key=lambda v: int(v[1:]))


@lru_cache(maxsize=256)
def _load(path: str, mtime_ns: int) -> Prompt:
    return parse_prompt(Path(path).read_text(encoding="utf-8"), path)


def load_prompt(
    role: str, version: str | None = None, prompts_dir: str | Path | None = None
) -> Prompt:
    """The prompt of ``role`` at ``version`` (default: the highest version on disk)."""
    root = Path(prompts_dir) if prompts_dir else default_prompts_dir()
    versions = available_versions(role, root)
    if not versions:
        raise PromptError(f"no prompt files for role {role!r} in {root}")
    chosen = version or versions[-1]
    if chosen not in versions:
        raise PromptError(f"prompt {role}@{chosen} not found; available: {', '.join(versions)}")
    path = root / role / f"{chosen}.md"
    prompt = _load(str(path), path.stat().st_mtime_ns)
    if prompt.role != role or prompt.version != chosen:
        raise PromptError(f"{path}: front matter says {prompt.role}@{prompt.version}")
    return prompt


def load_run_prompts(
    versions: dict[str, str], prompts_dir: str | None, roles: tuple[str, ...]
) -> dict[str, Prompt]:
    """Every role's prompt for a run, loaded (and so validated) before the run starts; each
    answers in the output schema its role has in the registry (``roles.py``)."""
    prompts = {role: load_prompt(role, versions.get(role), prompts_dir) for role in roles}
    for name, prompt in prompts.items():
        expected = roles_registry.role(name).output.__name__
        if prompt.output != expected:
            raise PromptError(
                f"{prompt.path}: output {prompt.output!r}, but role {name!r} answers in "
                f"{expected} (roles.py)"
            )
    return prompts
