"""ConfigMaps (pkg/registry/core/configmap): configuration a pod reads, kept as written.

Validation follows pkg/apis/core/validation ValidateConfigMap: each key of data and
binaryData is a config key (alphanumerics, '-', '_', '.'; not "." or ".."; at most 253
characters), the two share no key, the whole is at most 1 MiB; an `immutable` one keeps its
data and stays immutable (ValidateConfigMapUpdate). Every namespace holds `kube-root-ca.crt`,
which the root CA publisher (pkg/controller/certificates/rootcacertpublisher) keeps. The table
follows printConfigMap: Name, Data, Age.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import resources as res
from ..namespaces import every as every_namespace
from ..printers import AGE, NAME, age
from . import ALL, REGISTRY, Cause, Column, Kind, Obj
from .stored import subdomain_name, stored

if TYPE_CHECKING:
    from ..rest import Storage

CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIG_KEY_HELP = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  " \
                  "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
MAX_SIZE = 1024 * 1024  # corev1.MaxSecretSize, shared by ConfigMaps
IMMUTABLE = "field is immutable when `immutable` is set"


def config_keys(data: dict | None, path: str) -> list[Cause]:
    """Each key of a ConfigMap's or Secret's data is a config key (IsConfigMapKey)."""
    causes = []
    for key in data or {}:
        if len(key) > 253:
            causes.append((f"{path}[{key}]", f'Invalid value: "{key}": must be no more than 253 characters'))
        elif not CONFIG_KEY.match(key):
            causes.append((f"{path}[{key}]", f'Invalid value: "{key}": {CONFIG_KEY_HELP}'))
        elif key in (".", ".."):
            causes.append((f"{path}[{key}]", f'Invalid value: "{key}": must not be \'{key}\''))
    return causes


def immutable_kept(body: Obj, current: Obj | None, fields: tuple[str, ...]) -> list[Cause]:
    """ValidateConfigMapUpdate/ValidateSecretUpdate: once immutable, the data stays and so does immutable."""
    if current is None or not current.get("immutable"):
        return []
    causes = [("immutable", f"Forbidden: {IMMUTABLE}")] if not body.get("immutable") else []
    causes += [(f, f"Forbidden: {IMMUTABLE}") for f in fields if body.get(f) != current.get(f)]
    return causes


def check(name: str, body: Obj, current: Obj | None) -> list[Cause]:
    data, binary = body.get("data") or {}, body.get("binaryData") or {}
    causes = subdomain_name(name) + config_keys(data, "data") + config_keys(binary, "binaryData")
    causes += [(f"data[{k}]", f'Invalid value: "{k}": duplicate of key present in binaryData') for k in data
               if k in binary]
    size = sum(len(k) + len(str(v)) for k, v in data.items()) + sum(len(k) + len(v) * 3 // 4 for k, v in binary.items())
    if size > MAX_SIZE:
        causes.append(("", f"Too long: may not be more than {MAX_SIZE} bytes"))
    return causes + immutable_kept(body, current, ("data", "binaryData"))


def root_ca(store: Storage) -> list[Obj]:
    """`kube-root-ca.crt` in every namespace: the cluster's CA, for clients in pods."""
    return [{"kind": "ConfigMap", "apiVersion": "v1",
             "metadata": {**res.meta("ConfigMap", res.key(name, "kube-root-ca.crt"), 1, ns.created, store.clock),
                          "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to "
                                          "verify the kube-apiserver when using internal endpoints such as the "
                                          "internal service IP or kubernetes.default.svc. No other usage is "
                                          "guaranteed across distributions of Kubernetes clusters."}},
             "data": {"ca.crt": store.ca_pem}}
            for name, ns in sorted(every_namespace(store.sim).items()) if ns.terminating is None]


def configmap_row(cm: Obj, now: float) -> list:
    """Follows printConfigMap: Name, Data (its keys, binary ones too), Age."""
    return [(cm.get("metadata") or {}).get("name", ""), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}),
            age(cm, now)]


CONFIGMAP = REGISTRY.add(Kind(
    group="", version="v1", plural="configmaps", kind="ConfigMap", namespaced=True, verbs=ALL, short=("cm",),
    schema="io.k8s.api.core.v1.ConfigMap", protobuf="ConfigMap",
    columns=(NAME, Column("Data", "string", "Data contains the configuration data."), AGE), row=configmap_row,
    **stored("ConfigMap", "v1", "configmaps", check=check, system=root_ca)))
