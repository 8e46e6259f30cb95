"""IPython integration: labkit's own errors show as a short message, not a traceback.

A student who types `web.scale(-1)` needs "replicas cannot be negative" and
a hint, not forty lines of our stack. Installed when labkit is imported in a
running IPython kernel; `%load_ext labkit` also loads the course's magics.
"""
from __future__ import annotations

import sys

from .errors import LabkitError, describe


def show_error(shell, etype, value, tb, tb_offset=None):
    """IPython custom exception handler for LabkitError (the console's magics use the same display)."""
    text = describe(value)
    print(text, file=sys.stderr)
    return [text]


def install() -> None:
    """Register the handler with the running IPython shell, if there is one."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((LabkitError,), show_error)


def load_ipython_extension(shell) -> None:
    install()
    try:
        from . import console
    except ImportError:
        return
    console.load_ipython_extension(shell)
