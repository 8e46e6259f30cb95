"""PodDisruptionBudgets (pkg/registry/policy/poddisruptionbudget), honoured by eviction.

Kept as written; the status is what the disruption controller (pkg/controller/disruption)
computes, here on every read: the pods the selector picks in the namespace, how many are
healthy (Ready, not being deleted), how many must stay (minAvailable, or the expected count
less maxUnavailable; percentages of the expected count rounded up), and so how many
disruptions are allowed. The expected count is the matching pods for an integer minAvailable,
else the replicas of the deployments that own them (bare pods count once). An eviction
(`kubectl drain`, pods/eviction) that would leave fewer healthy pods than desired is refused
with 429 and upstream's words (pkg/registry/core/pod/storage/eviction.go); kubectl drain then
retries every 5 s, as on a real cluster. Validation follows ValidatePodDisruptionBudgetSpec.
The table follows printPodDisruptionBudget. Protobuf field numbers from k8s.io/api policy/v1
generated.proto at 054d429d9f8bc8de4fc82e6cf2281e12a13fe1f2 (unhealthyPodEvictionPolicy = 4,
added in 1.26).
"""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from .. import resources as res
from ..printers import AGE, NAME, age
from ..status import ApiError
from . import ALL, REGISTRY, STATUS, Cause, Column, Kind, Obj
from .common import selects
from .stored import stored, subdomain_name

if TYPE_CHECKING:
    from ..rest import Storage

PERCENT = re.compile(r"^[0-9]+%$")
MESSAGES = {
    "PodDisruptionBudget": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodDisruptionBudgetSpec"),
                            3: ("status", "Unread")},
    "PodDisruptionBudgetSpec": {1: ("minAvailable", "IntOrString"), 2: ("selector", "LabelSelector"),
                                3: ("maxUnavailable", "IntOrString"), 4: ("unhealthyPodEvictionPolicy", "*string")},
}


def _count(value: int | str, path: str) -> list[Cause]:
    if isinstance(value, int):
        return [] if value >= 0 else [(path, f"Invalid value: {value}: must be greater than or equal to 0")]
    if not PERCENT.match(value):
        return [(path, f'Invalid value: "{value}": a valid percent string must be a numeric string followed by an '
                       "ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")]
    if int(value[:-1]) > 100:
        return [(path, f'Invalid value: "{value}": must not be greater than 100%')]
    return []


def check(name: str, body: Obj, current: Obj | None) -> list[Cause]:
    spec = body.get("spec") or {}
    causes = subdomain_name(name)
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    if low is not None and high is not None:
        causes.append(("spec", f"Invalid value: {_spec_text(spec)}: minAvailable and maxUnavailable cannot be both "
                               "set"))
    for field, value in (("minAvailable", low), ("maxUnavailable", high)):
        if value is not None:
            causes += _count(value, f"spec.{field}")
    return causes


def _spec_text(spec: Obj) -> str:
    def text(v):
        return "nil" if v is None else f"{v}" if isinstance(v, int) else f'"{v}"'
    return f"policy.PodDisruptionBudgetSpec{{MinAvailable:{text(spec.get('minAvailable'))}, " \
           f"MaxUnavailable:{text(spec.get('maxUnavailable'))}}}"


def _healthy(pod: Obj) -> bool:
    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in (pod.get("status") or {}).get("conditions") or [])
    return ready and not pod["metadata"].get("deletionTimestamp")


def status(store: Storage, pdb: Obj) -> Obj:
    """What the disruption controller writes for `pdb`, from the pods as they are."""
    namespace, spec = pdb["metadata"]["namespace"], pdb.get("spec") or {}
    pods = [p for p in store.objects("pods", namespace) if selects(spec.get("selector"), p["metadata"].get("labels") or {})]
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    if isinstance(low, int):
        expected, desired = len(pods), low
    else:
        owners = {ref["name"].rsplit("-", 1)[0] for p in pods for ref in p["metadata"].get("ownerReferences") or []
                  if ref.get("kind") == "ReplicaSet"}
        deployments = store.items("deployments")
        expected = sum(deployments[res.key(namespace, d)].replicas for d in owners
                       if res.key(namespace, d) in deployments)
        expected += sum(1 for p in pods if not p["metadata"].get("ownerReferences"))
        if low is not None:
            desired = math.ceil(int(low[:-1]) * expected / 100)
        else:
            high = high if high is not None else 0
            down = high if isinstance(high, int) else math.ceil(int(high[:-1]) * expected / 100)
            desired = max(expected - down, 0)
    healthy = sum(_healthy(p) for p in pods)
    allowed = max(healthy - desired, 0)
    return {"observedGeneration": pdb["metadata"].get("generation", 1), "disruptionsAllowed": allowed,
            "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
            "conditions": [{"type": "DisruptionAllowed", "status": "True" if allowed else "False",
                            "reason": "SufficientPods" if allowed else "InsufficientPods", "message": "",
                            "observedGeneration": pdb["metadata"].get("generation", 1),
                            "lastTransitionTime": pdb["metadata"]["creationTimestamp"]}]}


def with_status(store: Storage, pdb: Obj | None) -> Obj | None:
    return None if pdb is None else {**pdb, "status": status(store, pdb)}


def check_eviction(store: Storage, namespace: str, pod: Obj) -> None:
    """Refuse an eviction that a budget does not allow (429, as the eviction subresource does)."""
    labels = pod["metadata"].get("labels") or {}
    for pdb in PDB.strategy.objects(store, namespace):
        if selects((pdb.get("spec") or {}).get("selector"), labels) and _healthy(pod) and \
                pdb["status"]["disruptionsAllowed"] < 1:
            current = pdb["status"]
            raise ApiError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption "
                           "budget.", {"causes": [{"reason": "DisruptionBudget", "message": (
                               f"The disruption budget {pdb['metadata']['name']} needs {current['desiredHealthy']} "
                               f"healthy pods and has {current['currentHealthy']} currently")}]})


def _row(pdb: Obj, now: float) -> list:
    """Follows printPodDisruptionBudget: Name, Min Available, Max Unavailable, Allowed Disruptions, Age."""
    spec = pdb.get("spec") or {}
    shown = lambda v: "N/A" if v is None else str(v)  # noqa: E731
    return [pdb["metadata"]["name"], shown(spec.get("minAvailable")), shown(spec.get("maxUnavailable")),
            (pdb.get("status") or {}).get("disruptionsAllowed", 0), age(pdb, now)]


def _kept(plural: str) -> dict:
    parts = stored("PodDisruptionBudget", "policy/v1", plural, check=check, generation=True, status=True)
    strategy = parts["strategy"]
    parts["strategy"] = type(strategy)(**{
        **{f: getattr(strategy, f) for f in strategy.__dataclass_fields__},
        "objects": lambda store, ns: [with_status(store, o) for o in strategy.objects(store, ns)],
        "get": lambda store, ns, name: with_status(store, strategy.get(store, ns, name))})
    return parts


PDB = REGISTRY.add(Kind(
    group="policy", version="v1", plural="poddisruptionbudgets", kind="PodDisruptionBudget", namespaced=True,
    verbs=ALL, short=("pdb",), schema="io.k8s.api.policy.v1.PodDisruptionBudget", protobuf="PodDisruptionBudget",
    messages=MESSAGES, subresources=(STATUS,),
    columns=(NAME, Column("Min Available", "string", "The minimum number of pods that must be available."),
             Column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
             Column("Allowed Disruptions", "integer", "Number of pod disruptions that are currently allowed."), AGE),
    row=_row, **_kept("poddisruptionbudgets")))
