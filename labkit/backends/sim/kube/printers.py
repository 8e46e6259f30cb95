"""The printing helpers every kind's table uses, as kube-apiserver's printers have them.

Ported from kubernetes pkg/printers/internalversion/printers.go and apimachinery
pkg/util/duration/duration.go. Each kind's columns and row function live in its module
(kinds/); columns.py makes the Table. Objects are the JSON dicts kubectl sees; `now` is
epoch seconds. Column names, types, order and priorities are upstream's; descriptions are
upstream's where printers.go spells them out, and short ones of our own where it quotes the
API's field documentation.
"""
from __future__ import annotations

import calendar
import re
from typing import Any

from .kinds import Column

Obj = dict[str, Any]

NAME = Column("Name", "string", "Name must be unique within a namespace (or the cluster, for cluster-scoped objects).")
AGE = Column("Age", "string", "Time since the object was created (metadata.creationTimestamp).")
TEMPLATE = (Column("Containers", "string", "Names of each container in the template.", 1),
            Column("Images", "string", "Images referenced by each container in the template.", 1))


def human_duration(seconds: float) -> str:
    """Follows duration.HumanDuration: ~2-3 significant figures ("119s", "3m10s", "2d1h", "2y1d").

    Every printer here (each Age, Last Seen, First Seen and the "(5m ago)" of Restarts)
    and kubectl's own `kubectl events` use this one. Up to 2s in the future counts as "0s"
    (clock skew); further is "<invalid>"."""
    secs = int(seconds)  # truncates toward zero, like Go's int(d.Seconds())
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 2 * 60:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        return _pair(minutes, "m", secs % 60, "s")
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        return _pair(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return _pair(days, "d", hours % 24, "h")
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        return _pair(days // 365, "y", days % 365, "d")
    return f"{days // 365}y"


def _pair(big: int, big_unit: str, small: int, small_unit: str) -> str:
    """"3m10s", or just "3m" when the smaller part is zero."""
    return f"{big}{big_unit}{small}{small_unit}" if small else f"{big}{big_unit}"


def short_duration(seconds: float) -> str:
    """Follows duration.ShortHumanDuration: one unit only ("59s", "1m", "23h", "364d", "1y").

    No printer in printers.go uses it any more (they moved to HumanDuration); it is here
    for callers that want the terse form, with the same "0s"/"<invalid>" rules."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m"
    hours = secs // 3600
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)?$")


def parse_time(text: str) -> float:
    """Epoch seconds of an RFC 3339 timestamp ("2026-11-30T12:00:00Z", fractions and offsets too)."""
    match = _RFC3339.match(text.strip())
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    value = calendar.timegm((year, month, day, hour, minute, second)) + (float(fraction) if fraction else 0.0)
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        value -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return value


def since(stamp: str | None, now: float) -> str:
    """Follows translateTimestampSince: "<unknown>" for an unset time."""
    if not stamp:
        return "<unknown>"
    return human_duration(now - parse_time(stamp))


def age(obj: Obj, now: float) -> str:
    return since((obj.get("metadata") or {}).get("creationTimestamp"), now)


def parts(obj: Obj) -> tuple[Obj, Obj, Obj]:
    return obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}


def format_labels(labels: dict | None) -> str:
    """Follows labels.FormatLabels: "a=1,b=2" sorted by key, or "<none>"."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


_OPERATORS = {"In": " in ", "NotIn": " notin ", "Exists": "", "DoesNotExist": ""}


def selector_string(selector: dict | None) -> str | None:
    """Follows metav1.LabelSelectorAsSelector(...).String(); "" if empty, None if invalid."""
    parts = [(key, f"{key}={value}") for key, value in ((selector or {}).get("matchLabels") or {}).items()]
    for expr in (selector or {}).get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
        if op not in _OPERATORS:
            return None
        if op in ("In", "NotIn"):
            parts.append((key, f"{key}{_OPERATORS[op]}({','.join(sorted(values))})"))
        else:
            parts.append((key, ("!" if op == "DoesNotExist" else "") + key))
    return ",".join(text for _, text in sorted(parts, key=lambda part: part[0]))


def format_label_selector(selector: dict | None) -> str:
    """Follows metav1.FormatLabelSelector: like selector_string, "<none>" if empty, "<error>" if invalid."""
    text = selector_string(selector)
    return "<error>" if text is None else text or "<none>"


def container_cells(template: Obj) -> list[str]:
    """Follows layoutContainerCells: comma-joined container names and images."""
    containers = ((template or {}).get("spec") or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def replicas(spec: Obj) -> int:
    """spec.replicas, with the API's default of 1."""
    value = spec.get("replicas")
    return 1 if value is None else int(value)
