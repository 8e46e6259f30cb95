"""IPython magics: `%docker`, `%kubectl`, `%minikube` lines and `%%labkit` cells.

A `%%labkit` cell runs one command per line (blank lines and `#` comments
skipped, a trailing backslash continues a line) and stops at the first
error, as a shell script with `set -e` would. `%%labkit NAME` runs the cell
against the cluster in the notebook variable NAME. Every `LabkitError`
raised in any cell prints as a short message and hint, never a traceback.
"""
from __future__ import annotations

from ..errors import LabkitError
from ..notebook import show_error as handler
from .shell import run_cell, sh, show_error


def register(ip) -> None:
    def line_magic(tool: str):
        def magic(line: str) -> None:
            sh(f"{tool} {line}")
        magic.__name__ = tool
        magic.__doc__ = f"Run `{tool} ...` on labkit's current cluster (see labkit.console)."
        return magic

    for tool in ("docker", "kubectl", "minikube"):
        ip.register_magic_function(line_magic(tool), "line", tool)

    def labkit_cell(line: str, cell: str) -> None:
        """Run several docker/kubectl/minikube commands, one per line."""
        name = line.strip()
        cluster = None
        if name:
            if name not in ip.user_ns:
                show_error(LabkitError(f"no variable named {name!r} in this notebook",
                                       "write %%labkit alone, or name a cluster: cluster = labkit.connect()"))
                return
            cluster = ip.user_ns[name]
        run_cell(cell, cluster)

    ip.register_magic_function(labkit_cell, "cell", "labkit")
    ip.set_custom_exc((LabkitError,), handler)
