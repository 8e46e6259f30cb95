"""ServiceAccounts (pkg/registry/core/serviceaccount): the identity a pod's processes run as.

Every namespace has `default`, which the service account controller
(pkg/controller/serviceaccount) makes as the namespace appears; others are kept as written.
Since 1.24 no token Secret is made for them (a pod gets a projected token), so `secrets` stays
empty. The table follows printServiceAccount: Name, Secrets, Age.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import resources as res
from ..namespaces import every as every_namespace
from ..printers import AGE, NAME, age
from . import ALL, REGISTRY, Column, Kind, Obj
from .stored import stored

if TYPE_CHECKING:
    from ..rest import Storage


def defaults(store: Storage) -> list[Obj]:
    """`default` in every namespace that is not being deleted."""
    return [{"kind": "ServiceAccount", "apiVersion": "v1",
             "metadata": res.meta("ServiceAccount", res.key(name, "default"), 1, ns.created, store.clock)}
            for name, ns in sorted(every_namespace(store.sim).items()) if ns.terminating is None]


def serviceaccount_row(account: Obj, now: float) -> list:
    """Follows printServiceAccount: Name, Secrets (how many it lists), Age."""
    return [(account.get("metadata") or {}).get("name", ""), len(account.get("secrets") or []), age(account, now)]


SERVICE_ACCOUNT = REGISTRY.add(Kind(
    group="", version="v1", plural="serviceaccounts", kind="ServiceAccount", namespaced=True, verbs=ALL,
    short=("sa",), schema="io.k8s.api.core.v1.ServiceAccount", protobuf="ServiceAccount",
    columns=(NAME, Column("Secrets", "string", "Secrets is a list of the secrets in the same namespace that pods "
                          "running using this ServiceAccount are allowed to use."), AGE),
    row=serviceaccount_row, **stored("ServiceAccount", "v1", "serviceaccounts", system=defaults)))
