"""Tables, ages and made-up-but-stable identifiers, in the real tools' formats.

Both docker and kubectl print tables through Go's text/tabwriter: every
column but the last is as wide as its widest cell plus 3 spaces, and at
least 10 characters wide (docker) or 6 (kubectl). Ages come from the
simulator's virtual clock, never the wall clock, so a notebook prints the
same table on every run.
"""
from __future__ import annotations

import hashlib
import time

DOCKER_MIN_WIDTH = 10
KUBECTL_MIN_WIDTH = 6
PADDING = 3
# The simulator's time 0, as a date: what CreationTimestamp and "Start Time" show.
EPOCH = 1735689600.0  # 2025-01-01T00:00:00Z


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


def kubectl_table(header: list[str], rows: list[list[str]]) -> str:
    return table(header, rows, KUBECTL_MIN_WIDTH)


def kube_age(seconds: float) -> str:
    """k8s.io/apimachinery duration.HumanDuration: 12s, 3m5s, 15m, 2h10m, 3d4h ..."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def docker_duration(seconds: float) -> str:
    """go-units HumanDuration: "Less than a second", "12 seconds", "About a minute" ..."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 14:
        return f"{hours // 24} days"
    if hours < 24 * 60:
        return f"{hours // 24 // 7} weeks"
    return f"{hours // 24 // 30} months"


def timestamp(virtual: float) -> str:
    """An RFC 1123 date for a virtual time, as `kubectl describe` prints dates."""
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(EPOCH + virtual))


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


def pod_ip(node_index: int, name: str) -> str:
    return f"10.244.{node_index}.{2 + int(hex_id(name, length=4), 16) % 250}"


def node_ip(node_index: int, base: str = "192.168.49") -> str:
    return f"{base}.{2 + node_index}"
