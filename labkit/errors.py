"""labkit's errors: each says what went wrong and what to try next.

Notebooks show a `LabkitError` as a short message, not a traceback (see
`labkit.console` for the IPython hook), because a student who typed a bad
replica count needs the fix, not our stack.
"""
from __future__ import annotations


class LabkitError(Exception):
    """Base of every error labkit raises on purpose."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message}\n  hint: {hint}" if hint else message)


def describe(error: LabkitError) -> str:
    """How a notebook shows a labkit error that no code caught: what went wrong, then what to do,
    never a traceback. A command's error is the tool's own words (the real tool may have printed
    them already); the Python API's names its kind, as Python does (`InvalidInput: ...`)."""
    lines = []
    if not getattr(error, "said", False):
        lines.append(error.message if getattr(error, "tool_words", False) else f"{type(error).__name__}: {error.message}")
    if error.hint:
        lines.append(f"  hint: {error.hint}")
    return "\n".join(lines)


class InvalidInput(LabkitError, ValueError):
    """A name, image, replica count or option that cannot be right."""


class NotFound(LabkitError, LookupError):
    """An unknown node, workload or replica."""


class AlreadyExists(LabkitError):
    """A name that is taken (by labkit, or by something that is not labkit's)."""


class Unavailable(LabkitError):
    """The engine, daemon, cluster or control-plane component is not reachable."""


class Refused(LabkitError):
    """An action labkit will not take, to protect the user (e.g. a remote cluster)."""


class Timeout(LabkitError, TimeoutError):
    """The cluster did not converge in time."""
