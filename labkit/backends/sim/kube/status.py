"""Answers other than success, as the real API server words them: a metav1.Status with reason and code.

One place for the shapes every served kind refuses with (404 NotFound, 409 AlreadyExists,
422 Invalid with field causes), so rest.py, schema.py and watch.py say them alike. A kind is
named by its plural; its group comes from the registry of served kinds (kinds/).
"""
from __future__ import annotations

from ....errors import AlreadyExists, LabkitError, NotFound, Unavailable
from .kinds import REGISTRY


def group_of(plural: str) -> str:
    """The group of the served kind `plural` ("" for the core group's, and for the core events)."""
    kind = REGISTRY.find(plural)
    return kind.group if kind is not None else ""


# Kinds of another group that a served kind's subresource takes, named with their group in a 422.
OTHER_GROUPS = {"Scale": "autoscaling"}


class ApiError(Exception):
    """An answer other than success, as a metav1.Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            out["details"] = self.details
        return out


def qualified(plural: str) -> str:
    group = group_of(plural)
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, name: str) -> ApiError:
    group = group_of(plural)
    return ApiError(404, "NotFound", f'{qualified(plural)} "{name}" not found',
                    {"name": name, "group": group, "kind": plural})


def invalid(kind: str, plural: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid with field causes: [(field, 'Invalid value: ...' or 'Required value')]."""
    text = "; ".join(f"{field}: {message}" for field, message in causes)
    group = OTHER_GROUPS.get(kind, group_of(plural))
    return ApiError(422, "Invalid", f'{kind}{"." + group if group else ""} "{name}" is invalid: {text}',
                    {"name": name, "group": group, "kind": kind,
                     "causes": [{"reason": "FieldValueRequired" if m == "Required value" else "FieldValueInvalid",
                                 "message": m, "field": f} for f, m in causes]})


def from_labkit(error: LabkitError, plural: str, name: str) -> ApiError:
    """The simulator refused (its API server or etcd is down, a name is taken, ...)."""
    if isinstance(error, AlreadyExists):
        return ApiError(409, "AlreadyExists", f'{qualified(plural)} "{name}" already exists',
                        {"name": name, "group": group_of(plural), "kind": plural})
    if isinstance(error, NotFound):
        return not_found(plural, name)
    if isinstance(error, Unavailable):
        return ApiError(503, "ServiceUnavailable", error.message)
    return ApiError(422, "Invalid", error.message)
