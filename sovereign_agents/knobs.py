"""Typed knobs for pydantic config models, and pydantic errors as one readable line.

The run's ``Context`` (``context.py``) is built from these: ``Whole`` (an int field that takes
whole numbers only: 3 and 3.0, never 2.5, ``"3"`` or ``True``), ``Number`` (a finite int or
float, never a string, a bool, NaN or infinity) and ``PathText`` (a str field that also takes
a ``pathlib.Path``). ``one_line(exc, model)`` turns a ``ValidationError`` into one line that
names the knob, the value given and what is allowed.
"""

from __future__ import annotations

import difflib
import math
import os
from typing import Annotated, Any

from annotated_types import Ge, Gt, Le
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError


def _whole(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("whole", "not a whole number")
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise PydanticCustomError("whole", "not a whole number")
        return int(value)  # 3.0 from JSON is 3
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number", "not a number")
    if not math.isfinite(value):
        raise PydanticCustomError("number", "not a finite number")
    return value


def _path_text(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


Whole = Annotated[int, BeforeValidator(_whole)]
Number = Annotated[float, BeforeValidator(_number)]
PathText = Annotated[str, BeforeValidator(_path_text)]


class Group(BaseModel):
    """A group of knobs: unknown keys are errors, values (defaults from the environment too)
    are checked, instances are frozen."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, validate_default=True
    )


# --- one line per validation error --------------------------------------------------------


def one_line(exc: ValidationError, model: type[BaseModel]) -> str:
    """The first error of ``exc`` as ``<knob> must be <allowed>, not <value>`` (or, for an
    unknown key, the keys that exist), plus how many more there were."""
    errors = exc.errors()
    first = _describe(errors[0], model)
    return first if len(errors) == 1 else f"{first} (and {len(errors) - 1} more)"


def _describe(error: Any, model: type[BaseModel]) -> str:
    loc = tuple(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return _unknown(loc, model, error.get("input"))
    path = ".".join(loc) or "context"
    value = _shown(error.get("input"))
    field = _field_of(loc, model)
    if field is None:
        return f"{path}: {error['msg']}, not {value}"
    return f"{path} must be {_allowed(*field, error)}, not {value}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _unknown(loc: tuple[str, ...], model: type[BaseModel], value: Any) -> str:
    owner: type[BaseModel] | None = model
    for part in loc[:-1]:
        owner = _submodel(owner, part)
    if len(loc) > 1:
        names = sorted(owner.model_fields) if owner is not None else []
        scope = f" of {'.'.join(loc[:-1])}"
    else:
        known = getattr(model, "known_keys", None)
        names = sorted(known() if callable(known) else model.model_fields)
        scope = ""
    key = f"unknown context key {'.'.join(loc)!r} (set to {_shown(value)})"
    close = difflib.get_close_matches(loc[-1], names, n=1)
    if close:
        return f"{key}: did you mean {close[0]}?"
    return f"{key}: the keys{scope} are {', '.join(names)}"


def _submodel(owner: type[BaseModel] | None, name: str) -> type[BaseModel] | None:
    if owner is None or name not in owner.model_fields:
        return None
    annotation = owner.model_fields[name].annotation
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _field_of(loc: tuple[str, ...], model: type[BaseModel]) -> tuple[type[BaseModel], str] | None:
    """The innermost model field that ``loc`` names (list indices and the like skipped)."""
    owner: type[BaseModel] | None = model
    found: tuple[type[BaseModel], str] | None = None
    for part in loc:
        if owner is None or part not in owner.model_fields:
            continue
        found = (owner, part)
        owner = _submodel(owner, part)
    return found


KINDS = {
    "whole": "a whole number",
    "number": "a finite number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "a list",
    "tuple_type": "a list",
    "too_short": "a list of two",
    "too_long": "a list of two",
    "string_pattern_mismatch": "a date YYYY-MM-DD",
}
BOUND_ERRORS = {"greater_than_equal", "greater_than", "less_than_equal"}


def _allowed(owner: type[BaseModel], name: str, error: Any) -> str:
    """What ``owner.name`` accepts: the error's own ``allowed`` (a validator that knows the
    registered names says them), the field's ``allowed`` text, else its kind and bounds."""
    said = error.get("ctx") or {}
    if "allowed" in said:
        return str(said["allowed"])
    field = owner.model_fields[name]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "allowed" in extra:
        return str(extra["allowed"])
    bounds = [
        f"{symbol} {getattr(m, attr)}"
        for m in field.metadata
        for cls, attr, symbol in ((Ge, "ge", ">="), (Gt, "gt", ">"), (Le, "le", "<="))
        if isinstance(m, cls)
    ]
    if error["type"] in BOUND_ERRORS:
        return " and ".join(bounds)
    kind = KINDS.get(error["type"], str(error["msg"]).lower())
    text = " and ".join([f"{kind} {bounds[0]}", *bounds[1:]]) if bounds else kind
    return f"{text} (or null)" if "None" in str(field.annotation) else text
