"""Namespaces: which exist, making one, and deleting one with everything in it.

The simulator's controllers know nothing of namespaces: an object outside "default"
is stored under "namespace/name" (resources.key), so they keep namespaces apart by
name alone. Deleting a namespace marks it Terminating, deletes its deployments (the
garbage collector takes their replica sets and pods), services and bare pods; pods
terminate gracefully, and the namespace goes once none is left, as the namespace
controller's finalizer does. That last step is taken whenever the namespaces are read or
watched: nobody can see a namespace otherwise. The served kind is kinds/namespaces.py.
"""
from __future__ import annotations

from ..controllers import delete_pod
from ..objects import KubeNamespace
from . import resources as res

KIND = "namespaces"
NAMESPACED_KINDS = ("deployments", "pods", "kube-services")
STORED = "stored/"  # the record kinds of kinds kept as written (kinds/stored.PREFIX)


SYSTEM = {name: KubeNamespace(name, {}, {}, 0.0) for name in res.SYSTEM_NAMESPACES}


def every(sim) -> dict[str, KubeNamespace]:
    """All namespaces by name: the ones every cluster starts with (stored only once changed,
    so serving a simulator writes nothing to it) and the ones made since."""
    return {**SYSTEM, **sim.api.items(KIND)}


def of(key: str) -> str:
    return res.split(key)[0]


def contents(sim, name: str, kind: str) -> list[str]:
    return [k for k in sim.api.items(kind) if of(k) == name]


def delete(sim, name: str) -> None:
    """Start deleting namespace `name` and everything in it."""
    sim.api.check()
    ns = sim.api.items(KIND)[name]
    if ns.terminating is None:
        ns.terminating = sim.now()
        sim.api.write(KIND, ns)
    for key in contents(sim, name, "deployments"):
        sim.delete(key)
    for key in contents(sim, name, "kube-services"):
        sim.api.remove("kube-services", key)
    for kind in (k for k in sim.store.kinds() if k.startswith(STORED)):  # kinds kept as written (kinds/stored.py)
        for key in contents(sim, name, kind):
            sim.api.remove(kind, key)
    for key in contents(sim, name, "pods"):
        pod = sim.api.items("pods").get(key)
        if pod is not None and not pod.deleting:
            delete_pod(sim.api, pod, source="namespace-controller")
    finish(sim)


def finish(sim) -> None:
    """Remove the terminating namespaces whose pods are all gone."""
    for ns in list(sim.api.items(KIND).values()):
        if ns.terminating is not None and not contents(sim, ns.name, "pods") and sim.api.reachable:
            sim.api.remove(KIND, ns.name)

