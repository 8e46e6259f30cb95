"""docker's tables, durations and made-up-but-stable identifiers, for the simulated docker.

docker prints tables through Go's text/tabwriter: every column but the last
is as wide as its widest cell plus 3 spaces, and at least 10 characters wide.
Durations come from the simulator's virtual clock, never the wall clock, so a
notebook prints the same table on every run. (kubectl is the real binary,
against the simulator served as a Kubernetes API: it prints its own.)
"""
from __future__ import annotations

import hashlib

DOCKER_MIN_WIDTH = 10
PADDING = 3


def table(header: list[str], rows: list[list[str]], min_width: int, padding: int = PADDING) -> str:
    """Columns as text/tabwriter lays them out (trailing spaces dropped)."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    count = len(header)
    widths = [max(max(len(r[i]) for r in cells) + padding, min_width) for i in range(count - 1)]
    lines = []
    for row in cells:
        parts = [row[i].ljust(widths[i]) for i in range(count - 1)] + [row[count - 1]]
        lines.append("".join(parts).rstrip())
    return "\n".join(lines)


def docker_table(header: list[str], rows: list[list[str]]) -> str:
    return table(header, rows, DOCKER_MIN_WIDTH)


def hex_id(*parts: object, length: int = 12) -> str:
    """A container-style id (hex) that is the same on every run for the same name."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()
    while len(digest) < length:
        digest += hashlib.sha256(digest.encode()).hexdigest()
    return digest[:length]


def swarm_id(*parts: object, length: int = 25) -> str:
    """A Swarm-style object id: 25 characters of [a-z0-9]."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    number = int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest(), 16)
    out = []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        out.append(alphabet[digit])
    return "".join(out)


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def node_ip(node_index: int, base: str = "192.168.49") -> str:
    return f"{base}.{2 + node_index}"
