"""The one version source: the installed package's metadata (pyproject.toml's ``version``)."""

from __future__ import annotations

DISTRIBUTION = "sovereign-agents"


def package_version() -> str:
    """``importlib.metadata.version("sovereign-agents")``; ``0+unknown`` when the package is
    not installed (run from a source tree without ``pip install``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
