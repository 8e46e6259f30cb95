"""IPython magics: `%docker`, `%kubectl`, `%minikube` lines and `%%labkit` cells.

A `%%labkit` cell runs one command per line (blank lines and `#` comments
skipped, a trailing backslash continues a line) and stops at the first
error, as a shell script with `set -e` would. `%%labkit NAME` runs the cell
against the cluster in the notebook variable NAME. Every `LabkitError`
raised in any cell prints as a short message and hint, never a traceback.
"""
from __future__ import annotations

from ..errors import LabkitError


def register(ip) -> None:
    from . import sh, show_error

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
        from . import run_cell
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

    from ..notebook import show_error as handler
    ip.set_custom_exc((LabkitError,), handler)


def cell_lines(cell: str) -> list[str]:
    """The command lines of a cell: continuations joined, blanks and comments dropped."""
    lines, pending = [], ""
    for raw in cell.splitlines():
        text = raw.rstrip()
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text = " ".join((pending + text).split())
        pending = ""
        if text and not text.startswith("#"):
            lines.append(text)
    if pending.strip():
        lines.append(pending.strip())
    return lines
