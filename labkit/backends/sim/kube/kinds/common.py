"""What every kind's strategy checks and keeps alike: the body's kind, its object meta, counts, names.

From k8s.io/apiserver's generic registry (pkg/registry/generic/registry/store.go: the kind
in the data must be the path's; AlreadyExists, Conflict and the delete's Status) and
apimachinery's ValidateObjectMeta (labels, annotations; the containers' images of
pkg/apis/core/validation).
"""
from __future__ import annotations

import re
from typing import Any

from .. import validation
from ..status import ApiError, group_of, invalid, qualified
from . import Kind

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_LABEL_HELP = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                      "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                      "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_HELP = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def check_kind(body: Any, kind: str, api_version: str) -> None:
    """The kind and apiVersion a body names, if it names them, must be the path's (400 otherwise)."""
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", f"the body of the request is not a {kind} object")
    if body.get("apiVersion", api_version) != api_version:
        raise ApiError(400, "BadRequest", f"the API version in the data ({body.get('apiVersion')}) does not match "
                       f"the expected API version ({api_version})")
    if body.get("kind", kind) != kind:
        raise ApiError(400, "BadRequest", f"the kind in the data ({body.get('kind')}) does not match the "
                       f"expected kind ({kind})")


def check_object(kind: Kind, body: Any) -> None:
    """What every kind's validation checks alike (apimachinery's ValidateObjectMeta, and the
    containers' images of core validation): labels and annotations, the pod template's too,
    and each container's image; 422 Invalid with every cause."""
    if not isinstance(body, dict):
        return  # check_kind refuses it with the kind's words
    meta = body.get("metadata") or {}
    causes = validation.labels(meta.get("labels")) + validation.annotations(meta.get("annotations"))
    spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
    is_pod = kind.strategy.pod_spec  # a pod's spec is a pod spec; other kinds keep theirs in spec.template
    pod, prefix = (spec, "spec") if is_pod else (None, "spec.template.spec")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else None
    if template is not None:
        inner = template.get("metadata") or {}
        causes += validation.labels(inner.get("labels"), "spec.template.metadata.labels")
        causes += validation.annotations(inner.get("annotations"), "spec.template.metadata.annotations")
        pod = template.get("spec") if isinstance(template.get("spec"), dict) else None
    for i, container in enumerate((pod or {}).get("containers") or []):
        if isinstance(container, dict) and "image" in container:
            causes += validation.image(container["image"], f"{prefix}.containers[{i}].image", pod=is_pod)
    if causes:
        raise invalid(kind.kind, kind.plural, meta.get("name") or "", causes)


def check_int32(kind: str, spec_type: str, replicas: object) -> None:
    """A count that does not fit the field's int32 fails to decode, as in the real API server."""
    if isinstance(replicas, int) and not -2**31 <= replicas < 2**31:
        raise ApiError(400, "BadRequest", f'{kind} in version "v1" cannot be handled as a {kind}: json: cannot '
                       f"unmarshal number {replicas} into Go struct field {spec_type}.spec.replicas of type int32")


def check_cap(sim, plural: str, name: str, replicas: object) -> None:
    """The simulator's safety cap (labkit.validate), refused as an admission plugin would."""
    from ..... import validate
    cap = validate.SIM_MAX_REPLICAS
    if isinstance(replicas, int) and replicas > cap:
        raise ApiError(403, "Forbidden", f'{qualified(plural)} "{name}" is forbidden: labkit\'s simulator runs at '
                       f"most {cap} replicas per workload, to stay responsive (asked for {replicas})",
                       {"name": name, "group": group_of(plural), "kind": plural})


def already_exists(plural: str, name: str) -> ApiError:
    """409 AlreadyExists for a name that is taken."""
    group = group_of(plural)
    return ApiError(409, "AlreadyExists", f'{qualified(plural)} "{name}" already exists',
                    {"name": name, **({"group": group} if group else {}), "kind": plural})


def deleted(plural: str, name: str, uid: str) -> dict:
    """The Status a delete answers when its registry does not return the deleted object."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "group": group_of(plural), "kind": plural, "uid": uid}}


def named(objects: list[dict], name: str) -> dict | None:
    """The object called `name` among `objects`, if any."""
    return next((o for o in objects if o["metadata"]["name"] == name), None)


def user_annotations(body: dict) -> dict[str, str]:
    """The annotations a client set; the deployment controller's own are the server's to keep."""
    given = (body.get("metadata") or {}).get("annotations") or {}
    return {k: str(v) for k, v in given.items() if not k.startswith("deployment.kubernetes.io/")}


def written_template(spec: dict) -> dict:
    """What a client wrote of a pod template, as Template keeps it: its annotations, labels and pod spec."""
    template = spec.get("template") or {}
    meta = template.get("metadata") or {}
    return {"annotations": dict(meta.get("annotations") or {}), "labels": dict(meta.get("labels") or {}),
            "spec": dict(template.get("spec") or {})}


def selects(selector: dict | None, labels: dict) -> bool:
    """Whether a LabelSelector (matchLabels and matchExpressions) matches `labels`; a null one matches
    nothing, an empty one everything (apimachinery's LabelSelectorAsSelector)."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values) or \
                (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True
