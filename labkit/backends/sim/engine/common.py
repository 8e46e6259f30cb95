"""What every endpoint of the served engine shares: its errors, its routes, its filters, and
the typed reading of a JSON body (as Go's encoding/json reads it into moby's structs).

    @route("GET", "/nodes/{id}")
    def inspect(call: Call) -> Answer:
        return Answer(200, call.engine.node_json(call.engine.find_node(call.params["id"])))
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    from .state import Engine


class EngineError(Exception):
    """An answer that is an error: `{"message": ...}` with the engine's status code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def bad(message: str) -> EngineError:
    """moby's errdefs.InvalidParameter: 400."""
    return EngineError(400, message)


def rpc(code: str, message: str) -> str:
    """A swarmkit error as moby passes it on: `rpc error: code = InvalidArgument desc = ...`."""
    return f"rpc error: code = {code} desc = {message}"


@dataclass(frozen=True, kw_only=True)
class Call:
    """One request, read and checked: its path parameters, query and body (None: no body)."""
    engine: "Engine"
    method: str
    params: dict[str, str]
    query: dict[str, str]
    body: object = None
    version: str = ""  # the API version the client asked for (negotiated)


@dataclass(frozen=True, kw_only=True)
class Answer:
    code: int = 200
    json: object = None
    text: str | None = None  # a plain-text answer (the ping's "OK")
    raw: bytes | None = None  # a stream's bytes (logs), sent as `content_type`
    # A body written as it comes (chunked), after the headers: what moby flushes before it waits
    # (POST /containers/{id}/wait, logs with follow). It runs without the engine's lock.
    stream: Callable[[], Iterator[bytes]] | None = None
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    method: str
    parts: tuple[str, ...]  # "{name}" captures one segment
    handler: Callable[[Call], Answer]
    body: bool = True  # a POST whose JSON body is read (and required); False: any body is ignored

    def match(self, method: str, parts: list[str]) -> dict[str, str] | None:
        if method != self.method and not (method == "HEAD" and self.method == "GET"):
            return None
        greedy = next((i for i, p in enumerate(self.parts) if p.endswith("+}")), None)
        if greedy is not None:  # "{name+}" takes one segment or more (an image name has slashes)
            after = len(self.parts) - greedy - 1
            if len(parts) < len(self.parts):
                return None
            parts = parts[:greedy] + ["/".join(parts[greedy:len(parts) - after])] + parts[len(parts) - after:]
        if len(parts) != len(self.parts):
            return None
        params = {}
        for want, got in zip(self.parts, parts):
            if want.startswith("{"):
                params[want[1:-1].rstrip("+")] = got
            elif want != got:
                return None
        return params


ROUTES: list[Route] = []


def route(method: str, path: str, *, body: bool = True):
    """Register the decorated function as the answer to `method path` (every module of a
    resource group declares its own; server.py never names them). `body=False`: a POST that
    takes no body (`/containers/{id}/start`), as moby's handler reads none."""
    def register(handler: Callable[[Call], Answer]):
        ROUTES.append(Route(method, tuple(path.strip("/").split("/")), handler, body))
        return handler
    return register


def swarm_id(*parts: object, length: int = 25) -> str:
    """A swarmkit-style object id, 25 characters of [a-z0-9], the same for the same name on every
    run."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    number = int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest(), 16)
    out = []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        out.append(alphabet[digit])
    return "".join(out)


def hex_id(*parts: object) -> str:
    """A container-style id: 64 hex digits."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


# -- filters (moby's api/types/filters) ------------------------------------------------------------
def filters(query: dict[str, str], accepted: tuple[str, ...]) -> dict[str, list[str]]:
    """The `filters` query parameter: JSON, {"name": {"web": true}} or the old {"name": ["web"]};
    a key the endpoint does not take is refused, as moby's filters.Validate does."""
    raw = query.get("filters", "")
    if not raw:
        return {}
    try:
        given = json.loads(raw)
    except ValueError as error:
        raise bad(go_json_error(error)) from None
    if not isinstance(given, dict):
        raise bad(f"json: cannot unmarshal {go_type(given)} into Go value of type map[string]map[string]bool")
    out: dict[str, list[str]] = {}
    for key, values in given.items():
        if isinstance(values, dict) and all(isinstance(v, bool) for v in values.values()):
            out[key] = [v for v, on in values.items() if on]
        elif isinstance(values, list) and all(isinstance(v, str) for v in values):
            out[key] = list(values)
        else:
            raise bad(f"json: cannot unmarshal {go_type(values)} into Go value of type map[string]bool")
        if key not in accepted:
            raise bad(f"Invalid filter '{key}'")
    return out


def labels_match(labels: dict[str, str], wanted: list[str]) -> bool:
    """`label=key` or `label=key=value`, every one of them (moby's filters.MatchKVList)."""
    for item in wanted:
        key, eq, value = item.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


# -- bodies: JSON as Go reads it into moby's structs --------------------------------------------------
def go_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}.get(type(value), "value")


def go_json_error(error: ValueError) -> str:
    """A Python JSON error in the words of Go's decoder (the common cases)."""
    text = str(error)
    if "Expecting value" in text and getattr(error, "pos", 0) >= len(getattr(error, "doc", "") or ""):
        return "unexpected EOF"
    doc, pos = getattr(error, "doc", ""), getattr(error, "pos", 0)
    if isinstance(doc, str) and 0 <= pos < len(doc):
        return f"invalid character {doc[pos]!r} looking for beginning of value"
    return "unexpected EOF"


def parse_body(raw: bytes):
    """The body as JSON; an empty one is Go's io.EOF (moby: "got EOF while reading request body")."""
    if not raw.strip():
        raise bad("got EOF while reading request body")
    try:
        return json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except RecursionError:
        raise bad("exceeded max depth") from None
    except UnicodeDecodeError:
        raise bad("invalid character looking for beginning of value") from None
    except ValueError as error:
        raise bad(go_json_error(error)) from None


def _not_json(word: str):
    raise json.JSONDecodeError("invalid", word, 0)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


class Reader:
    """Typed fields of a JSON object, named as Go names a struct field in its errors:
    `Reader(body, "ServiceSpec").obj("Mode").obj("Replicated").whole("Replicas")`."""

    def __init__(self, value: object, where: str) -> None:
        """`where`: the Go struct, `swarm.X` unless it names its package (`types.NetworkCreateRequest`)."""
        qualified = where[:1].islower() and "." in where
        if value is not None and not isinstance(value, dict):
            raise bad(f"json: cannot unmarshal {go_type(value)} into Go value of type "
                      f"{where if qualified else 'swarm.' + where}")
        self.value: dict = value or {}
        self.where = where.split(".", 1)[1] if qualified else where

    def _wrong(self, key: str, value: object, want: str) -> EngineError:
        return bad(f"json: cannot unmarshal {go_type(value)} into Go struct field {self.where}.{key} of type {want}")

    def has(self, key: str) -> bool:
        return self.value.get(key) is not None

    def obj(self, key: str) -> "Reader":
        value = self.value.get(key)
        if value is not None and not isinstance(value, dict):
            raise self._wrong(key, value, "struct")
        return Reader(value, f"{self.where}.{key}")

    def text(self, key: str, default: str = "") -> str:
        value = self.value.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._wrong(key, value, "string")
        return value

    def texts(self, key: str) -> list[str]:
        value = self.value.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(key, value, "[]string")
        return list(value)

    def labels(self, key: str) -> dict[str, str]:
        value = self.value.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self._wrong(key, value, "map[string]string")
        return dict(value)

    def whole(self, key: str, default: int = 0, *, bits: int = 64, signed: bool = False) -> int:
        value = self.value.get(key)
        if value is None:
            return default
        kind = f"{'int' if signed else 'uint'}{bits}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._wrong(key, value, kind)
        if isinstance(value, float) and not value.is_integer() or \
                not (-(1 << (bits - 1)) if signed else 0) <= value < (1 << (bits - (1 if signed else 0))):
            raise bad(f"json: cannot unmarshal number {value} into Go struct field {self.where}.{key} of type {kind}")
        return int(value)

    def number(self, key: str, default: float = 0.0) -> float:
        value = self.value.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._wrong(key, value, "float32")
        return float(value)

    def items(self, key: str, where: str) -> list["Reader"]:
        value = self.value.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong(key, value, f"[]swarm.{where}")
        return [Reader(item, where) for item in value]


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
