"""Errors a user can act on. The CLI prints their message as one line and exits non-zero."""


class SovereignError(Exception):
    """Base class: a problem with the input, the configuration, or a service."""

    exit_code = 2


class InputError(SovereignError):
    """The research input is unusable (an empty goal, an unknown anchor paper)."""


class ConfigError(SovereignError):
    """A configuration value is unusable (an unknown model spec, a bad knob)."""


class ContextError(ConfigError, ValueError):
    """A context knob is unusable (a wrong type, out of range, an unknown key). Also a
    ValueError: LangGraph Server shows a ValueError's message to the client (any other
    exception is "An internal error occurred")."""


class CorpusError(SovereignError):
    """The corpus file is missing, unreadable, or holds no arXiv records."""


class PromptError(SovereignError):
    """A prompt file is missing or does not match what the code provides."""


class SearchUnavailable(SovereignError):
    """The search service cannot be reached at all."""

    exit_code = 3
