"""IPython integration: labkit's own errors show as a short message, not a traceback.

A student who types `web.scale(-1)` needs "replicas cannot be negative" and
a hint, not forty lines of our stack. Installed when labkit is imported in a
running IPython kernel; `%load_ext labkit` (labkit.load_ipython_extension) also loads the
course's magics. This module imports nothing of labkit's but its errors: the console and its
magics print with `show` and install `show_error`.
"""
from __future__ import annotations

import sys

from .errors import LabkitError, describe


def show(error: LabkitError, stream=None) -> None:
    """The one display of a labkit error in a notebook (errors.describe): what went wrong, what
    to do next. The console, its magics and the exception hook below all print with it."""
    stream = stream or sys.stderr
    text = describe(error)
    if text:
        print(text, file=stream)
    stream.flush()


def show_error(shell, etype, value, tb, tb_offset=None) -> None:
    """IPython's custom exception handler for LabkitError: `show` instead of a traceback."""
    show(value)


def install() -> None:
    """Register the handler with the running IPython shell, if there is one."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((LabkitError,), show_error)
