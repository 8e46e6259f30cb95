"""Secrets (pkg/registry/core/secret): small confidential data, kept as written, base64 in JSON.

A client may write `stringData` (plain text): the API server folds it into `data`, base64,
over any key of the same name, and never stores or returns stringData (the v1 conversion).
The type defaults to Opaque and never changes; each built-in type needs its keys
(pkg/apis/core/validation ValidateSecret); the data is at most 1 MiB; an immutable one keeps
its data. The table follows printSecret: Name, Type, Data, Age; `type` is a field selector.
"""
from __future__ import annotations

import base64
import json

from ..printers import AGE, NAME, age
from . import ALL, REGISTRY, Cause, Column, Kind, Obj
from .configmaps import MAX_SIZE, config_keys, immutable_kept
from .stored import subdomain_name, stored

# The keys each built-in type needs (corev1.SecretType* and their *Key constants).
REQUIRED = {"kubernetes.io/dockercfg": (".dockercfg",), "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
            "kubernetes.io/ssh-auth": ("ssh-privatekey",), "kubernetes.io/tls": ("tls.crt", "tls.key")}


def prepare(body: Obj, current: Obj | None) -> Obj:
    """stringData folded into data (base64), the type defaulted."""
    text = body.pop("stringData", None) or {}
    if text:
        body["data"] = {**(body.get("data") or {}),
                        **{k: base64.b64encode(str(v).encode()).decode() for k, v in text.items()}}
    body.setdefault("type", "Opaque")
    return body


def check(name: str, body: Obj, current: Obj | None) -> list[Cause]:
    data, kind = body.get("data") or {}, body.get("type") or "Opaque"
    causes = subdomain_name(name) + config_keys(data, "data")
    if sum(len(k) + len(v) * 3 // 4 for k, v in data.items()) > MAX_SIZE:
        causes.append(("data", f"Too long: may not be more than {MAX_SIZE} bytes"))
    causes += [(f"data[{key}]", "Required value") for key in REQUIRED.get(kind, ()) if key not in data]
    if kind == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" in data:
        try:
            json.loads(base64.b64decode(data[".dockerconfigjson"]))
        except ValueError as error:
            causes.append(("data[.dockerconfigjson]", f"Invalid value: \"<secret contents redacted>\": {error}"))
    if kind == "kubernetes.io/basic-auth" and not {"username", "password"} & set(data):
        causes.append(("data[username]", "Required value"))
    if kind == "kubernetes.io/service-account-token" and not (
            (body.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/service-account.name"):
        causes.append(("metadata.annotations[kubernetes.io/service-account.name]", "Required value"))
    if current is not None and kind != (current.get("type") or "Opaque"):
        causes.append(("type", f'Invalid value: "{kind}": field is immutable'))
    return causes + immutable_kept(body, current, ("data",))


def secret_row(secret: Obj, now: float) -> list:
    """Follows printSecret: Name, Type, Data (its keys), Age."""
    return [(secret.get("metadata") or {}).get("name", ""), secret.get("type") or "", len(secret.get("data") or {}),
            age(secret, now)]


SECRET = REGISTRY.add(Kind(
    group="", version="v1", plural="secrets", kind="Secret", namespaced=True, verbs=ALL,
    schema="io.k8s.api.core.v1.Secret", protobuf="Secret", fields=("metadata.name", "metadata.namespace", "type"),
    columns=(NAME, Column("Type", "string", "Used to facilitate programmatic handling of secret data."),
             Column("Data", "string", "Data contains the secret data."), AGE), row=secret_row,
    **stored("Secret", "v1", "secrets", prepare=prepare, check=check)))
