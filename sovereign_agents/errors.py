"""Errors a user can act on. The CLI prints their message as one line and exits non-zero.

Each is also a ``ValueError`` (a bad input, configuration, corpus or prompt) or a
``RuntimeError`` (a service down): LangGraph Server (``langgraph dev``) sends a client the
message of those builtin classes only and "An internal error occurred" for any other
exception (``langgraph_api.serde.default``), so a client sees what to fix.
"""


class SovereignError(Exception):
    """Base class: a problem with the input, the configuration, or a service."""

    exit_code = 2


class InputError(SovereignError, ValueError):
    """The research input is unusable (an empty goal, an unknown anchor paper)."""


class ConfigError(SovereignError, ValueError):
    """A configuration value is unusable (an unknown model spec, a bad knob)."""


class ContextError(ConfigError):
    """A context knob is unusable (a wrong type, out of range, an unknown key)."""


class CorpusError(SovereignError, ValueError):
    """The corpus file is missing, unreadable, or holds no arXiv records."""


class PromptError(SovereignError, ValueError):
    """A prompt file is missing or does not match what the code provides."""


class SearchUnavailable(SovereignError, RuntimeError):
    """The search service cannot be reached at all."""

    exit_code = 3
