"""Decoding a request body as the real API server does: by the served OpenAPI schema, before anything is written.

The real server decodes JSON into Go structs: a value of the wrong type is a 400
("json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas
of type int32"), a number out of its field's range too, and an unknown field is
refused, warned about or dropped as the request's `fieldValidation` says (kubectl
asks for Strict; a client that says nothing gets Warn). Only then do the kind's
own rules run (rest.py: 422 Invalid with field causes). Doing the same here means
no later code meets a value of a type it does not expect.

    body, warnings = decode(body, "io.k8s.api.apps.v1.Deployment", "Deployment", "Strict")
"""
from __future__ import annotations

import re
from typing import Any

from . import openapi
from .status import ApiError, invalid

INT_RANGES = {"int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}
# RFC 3339, as metav1.Time parses it (time.RFC3339); what the API writes back is UTC with whole seconds.
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
MAX_WARNINGS = 20


class Mismatch(Exception):
    """A value the Go struct cannot hold: the message is encoding/json's."""


class Unknown(Exception):
    """A field the kind does not have, under fieldValidation=Strict."""


def decode(body: Any, schema_name: str, kind: str, field_validation: str | None = None,
           plural: str = "") -> tuple[Any, list[str]]:
    """The body as the real server keeps it (unknown fields dropped) and the warnings to send,
    or an ApiError: 400 for a wrong type, a number out of range or (Strict) an unknown field;
    422 for a value outside a field's enum."""
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "couldn't get version/kind; json parse error: json: cannot unmarshal "
                       f"{json_type(body)} into Go value of type struct {{ APIVersion string "
                       '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }')
    walker = Walker(field_validation or "Warn")
    try:
        kept = walker.value(body, ref(schema_name), "", kind)
    except Mismatch as error:
        raise ApiError(400, "BadRequest", f'{kind} in version "{version_of(body)}" cannot be handled as a '
                       f"{kind}: {error}") from None
    except Unknown as error:
        raise ApiError(400, "BadRequest", f"strict decoding error: {error}") from None
    if walker.unsupported:
        name = ((body.get("metadata") or {}).get("name")) or ""
        raise invalid(kind, plural, name, walker.unsupported)
    warnings = [f'unknown field "{path}"' for path in walker.unknown][:MAX_WARNINGS]
    return kept, warnings if walker.mode == "Warn" else []


def ref(schema_name: str) -> dict:
    """A reference to one of the served schemas, as the documents write it."""
    return {"$ref": f"#/components/schemas/{schema_name}"}


def version_of(body: dict) -> str:
    api_version = body.get("apiVersion")
    return api_version.rsplit("/", 1)[-1] if isinstance(api_version, str) and api_version else "v1"


def json_type(value: Any) -> str:
    """The JSON type's name as encoding/json says it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def resolve(schema: dict) -> tuple[dict, str | None]:
    """The schema itself (following $ref and a one-element allOf) and its name, if it has one."""
    name = None
    while True:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = openapi.components()[name]
        elif len(schema.get("allOf") or ()) == 1 and "type" not in schema:
            schema = schema["allOf"][0]
        else:
            return schema, name


def go_type(schema: dict) -> str:
    """The Go type a schema stands for, as encoding/json names it in its messages."""
    schema, name = resolve(schema)
    if schema.get("x-kubernetes-int-or-string"):
        return "intstr.IntOrString" if name and name.endswith("IntOrString") else "resource.Quantity"
    kind = schema.get("type")
    if kind == "integer":
        return schema.get("format", "int64")
    if kind == "number":
        return "float64"
    if kind == "boolean":
        return "bool"
    if kind == "string":
        return "v1.Time" if schema.get("format") == "date-time" else "string"
    if kind == "array":
        return "[]" + go_type(schema.get("items") or {})
    if "additionalProperties" in schema:
        return "map[string]" + go_type(schema["additionalProperties"])
    if name:
        package, struct = name.rsplit(".", 2)[-2:]
        return f"{package}.{struct}"
    return "interface {}"


class Walker:
    """One body's walk: the kept value, the unknown fields seen (Warn) and enum refusals."""

    def __init__(self, mode: str) -> None:
        self.mode = mode if mode in ("Strict", "Warn", "Ignore") else "Warn"
        self.unknown: list[str] = []
        self.unsupported: list[tuple[str, str]] = []

    def value(self, value: Any, schema: dict, path: str, struct: str) -> Any:
        """`value` decoded by `schema`; `path` is the JSON path (with [i] for the 422 causes),
        `struct` the Go struct that holds the field (for the 400 messages)."""
        schema, name = resolve(schema)
        if value is None:
            return zero(schema)  # null leaves a Go value at its zero value
        if schema.get("x-kubernetes-int-or-string"):
            return self.scalar(value, (int, str), schema, path, struct)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            if not isinstance(value, dict):
                self.mismatch(value, schema, path, struct)
            if "properties" in schema:
                return self.struct(value, schema, path, name.rsplit(".", 1)[-1] if name else struct)
            inner = schema.get("additionalProperties")
            if inner is None or inner is True:
                return value  # free-form (FieldsV1, RawExtension): kept as sent
            return {k: self.value(v, inner, f"{path}.{k}" if path else k, struct) for k, v in value.items()}
        if kind == "array":
            if not isinstance(value, list):
                self.mismatch(value, schema, path, struct)
            items = schema.get("items") or {}
            return [self.value(v, items, f"{path}[{i}]", struct) for i, v in enumerate(value)]
        if kind == "integer":
            return self.integer(value, schema, path, struct)
        if kind == "number":
            return self.scalar(value, (int, float), schema, path, struct)
        if kind == "boolean":
            return self.scalar(value, (bool,), schema, path, struct)
        if kind == "string":
            return self.string(value, schema, path, struct)
        return value

    def struct(self, value: dict, schema: dict, path: str, struct: str) -> dict:
        fields = schema["properties"]
        kept = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key not in fields:
                if self.mode == "Strict":
                    raise Unknown(f'unknown field "{plain(where)}"')
                self.unknown.append(plain(where))
                continue  # dropped, as the real decoder drops it
            if item is not None:  # a null field is left unset: read back as absent, as Go writes a nil pointer
                kept[key] = self.value(item, fields[key], where, struct)
        return kept

    def integer(self, value: Any, schema: dict, path: str, struct: str) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON 3.0 is a whole number to Go
        if isinstance(value, bool) or not isinstance(value, int):
            self.mismatch(value, schema, path, struct)
        low, high = INT_RANGES.get(schema.get("format", "int64"), INT_RANGES["int64"])
        if not low <= value <= high:
            raise Mismatch(f"json: cannot unmarshal number {value} into Go struct field {struct}.{plain(path)} "
                           f"of type {go_type(schema)}")
        return value

    def string(self, value: Any, schema: dict, path: str, struct: str) -> str:
        if not isinstance(value, str):
            self.mismatch(value, schema, path, struct)
        if schema.get("format") == "date-time" and value and not DATE_TIME.match(value):
            raise Mismatch(f'parsing time "{value[:64]}" as "2006-01-02T15:04:05Z07:00": cannot parse '
                           f'"{value[:64]}" as "2006"')
        if schema.get("format") == "byte":
            check_base64(value)
        allowed = schema.get("enum")
        if allowed and value not in allowed and path not in ("kind", "apiVersion"):  # those: rest.check_kind
            listed = ", ".join(f'"{a}"' for a in allowed)
            self.unsupported.append((path, f'Unsupported value: "{value}": supported values: {listed}'))
        return value

    def scalar(self, value: Any, types: tuple, schema: dict, path: str, struct: str) -> Any:
        if isinstance(value, bool) and bool not in types:
            self.mismatch(value, schema, path, struct)
        if not isinstance(value, types):
            self.mismatch(value, schema, path, struct)
        return value

    def mismatch(self, value: Any, schema: dict, path: str, struct: str) -> None:
        where = f"Go struct field {struct}.{plain(path)}" if path else "Go value"
        raise Mismatch(f"json: cannot unmarshal {json_type(value)} into {where} of type {go_type(schema)}")


BASE64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def check_base64(value: str) -> None:
    """A []byte field is standard base64 in JSON (Go's encoding/json: newlines ignored, padding needed)."""
    text = value.replace("\r", "").replace("\n", "")
    body = text.rstrip("=")
    bad = next((i for i, c in enumerate(body) if c not in BASE64), None)
    if bad is None and (len(text) % 4 or len(text) - len(body) > 2):
        bad = len(body) - len(body) % 4 if len(text) % 4 else len(body)
    if bad is not None:
        raise Mismatch(f"illegal base64 data at input byte {bad}")


def zero(schema: dict) -> Any:
    """Go's zero value of a (resolved) schema's type: what a null in a list or map decodes to."""
    if schema.get("x-kubernetes-int-or-string"):
        return 0
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": []}.get(schema.get("type"), {})


def plain(path: str) -> str:
    """A JSON path without list indices, as encoding/json writes a field's path."""
    return re.sub(r"\[\d+\]", "", path)
