"""What `kubectl wait` waits for, read from its own arguments, so the clock moves only as long as it waits.

    kubectl wait --for=condition=Available deployment/web --timeout=60s
    kubectl wait --for=delete pod/web-1
    kubectl wait --for=jsonpath='{.status.phase}'=Running pod/web-1

The condition is judged on the objects as the served API renders them (what kubectl itself
reads), and `--timeout` (kubectl's default 30 s) counts in cluster time: once it has passed,
the clock stands still and kubectl's own timer ends the command with its own words.
"""
from __future__ import annotations

import re
from typing import Callable

from ...backends.sim.kube import discovery
from ...backends.sim.kube import resources as res
from ...backends.sim.kube.status import ApiError

DEFAULT_TIMEOUT = 30.0  # kubectl wait's --timeout
FOREVER = 7 * 24 * 3600.0  # what kubectl takes a negative timeout for (a week)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def duration(text: str | None) -> float:
    """Seconds of a Go duration ("30s", "2m30s", "0"); kubectl's default when None."""
    if text is None:
        return DEFAULT_TIMEOUT
    text = text.strip()
    if text.startswith("-"):
        return FOREVER
    if text == "0":
        return 0.0
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return DEFAULT_TIMEOUT  # kubectl refuses it itself, with its own words
    return sum(float(n) * _UNITS[u] for n, u in parts)


def targets(words: list[str]) -> list[tuple[str, str]] | None:
    """(plural, name) of each object named as TYPE/NAME or TYPE NAME...; None for what names no
    object (a selector, --all): then only the timeout ends the wait."""
    if not words:
        return None
    if all("/" in w for w in words):
        pairs = [w.split("/", 1) for w in words]
    elif "/" not in words[0] and len(words) > 1:
        pairs = [(words[0], name) for name in words[1:]]
    else:
        return None
    found = []
    for kind, name in pairs:
        plural = plural_of(kind)
        if plural is None:
            return None
        found.append((plural, name))
    return found


def plural_of(word: str) -> str | None:
    word = word.lower().split(".", 1)[0]
    for r in discovery.RESOURCES:
        if word in (r.plural, r.kind.lower(), *r.short):
            return r.plural
    return None


def condition(spec: str | None) -> Callable[[dict | None], bool] | None:
    """Whether an object (None: gone) meets `--for`: delete, condition=TYPE[=VALUE], jsonpath={...}=VALUE."""
    if spec is None:
        return None
    if spec == "delete":
        return lambda obj: obj is None
    if spec.startswith("condition="):
        kind, _, value = spec.removeprefix("condition=").partition("=")
        wanted = (value or "True").lower()
        return lambda obj: obj is not None and any(
            c.get("type", "").lower() == kind.lower() and str(c.get("status", "")).lower() == wanted
            for c in (obj.get("status") or {}).get("conditions") or [])
    if spec.startswith("jsonpath="):
        path, _, value = spec.removeprefix("jsonpath=").strip("'").partition("}=")
        steps = [s for s in path.strip("{}").lstrip(".").split(".") if s]
        return lambda obj: obj is not None and str(_at(obj, steps)) == value.strip("'\"")
    return None


def _at(obj, steps: list[str]):
    for step in steps:
        obj = obj.get(step) if isinstance(obj, dict) else None
    return obj


def done(api, argv_targets: list[tuple[str, str]] | None, namespace: str, met) -> Callable[[], bool]:
    """A check, under the API's lock, that every named object meets the condition."""
    def check() -> bool:
        if not argv_targets or met is None:
            return False
        return all(met(_read(api, plural, namespace, name)) for plural, name in argv_targets)
    return check


def _read(api, plural: str, namespace: str, name: str) -> dict | None:
    try:
        return api.storage.get(plural, None if plural in ("nodes", "namespaces") else namespace or res.NAMESPACE,
                               name)
    except ApiError:
        return None
