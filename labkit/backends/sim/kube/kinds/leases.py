"""Leases (pkg/registry/coordination/lease): the heartbeats the control plane reads.

Each node's Lease in kube-node-lease, renewed by its kubelet every 10 s and left alone once
the kubelet or its node stops (the node lifecycle controller reads renewTime); and the leader
leases of kube-controller-manager and kube-scheduler in kube-system, renewed while they run
(pkg/kubelet/nodelease, client-go tools/leaderelection). Read-only. The table follows printLease.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import resources as res
from ..printers import AGE, NAME, age, parts
from . import READ, REGISTRY, Column, Kind, Obj, Strategy

if TYPE_CHECKING:
    from ..rest import Storage


NODE_LEASE = 40, 10.0  # the kubelet's Lease: 40 s long, renewed every 10 s (a quarter of it)
LEADER_LEASE = 15, 2.0  # leader election of the controller manager and the scheduler: 15 s, retried every 2 s


def _renewed(now: float, alive_until: float | None, every: float, offset: float) -> float:
    """The last renewal of a lease renewed every `every` seconds since `offset`, by a holder alive
    until `alive_until` (None: still alive)."""
    last = now if alive_until is None else min(alive_until, now)
    return max(last - ((last - offset) % every), 0.0)


def _lease(namespace: str, name: str, holder: str, seconds: int, renewed: float, clock: res.Clockwork,
           labels: dict | None = None) -> dict:
    return {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
            "metadata": res.meta("Lease", res.key(namespace, name), 1, 0.0, clock, labels=labels),
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds,
                     "acquireTime": clock.micro(0.0), "renewTime": clock.micro(renewed)}}


def leases(sim, clock: res.Clockwork) -> list[dict]:
    """The heartbeats the control plane reads: each node's Lease in kube-node-lease, renewed by
    its kubelet every 10 s and left alone once the kubelet or its node stops (the node lifecycle
    controller reads renewTime); and the leader leases of kube-controller-manager and
    kube-scheduler in kube-system, renewed while they run (pkg/kubelet/nodelease,
    client-go tools/leaderelection)."""
    now, out = sim.clock.now, []
    for name, agent in sim.agents.items():
        node = agent.node
        until = None if agent.alive else node.silent_since
        out.append(_lease("kube-node-lease", name, name, NODE_LEASE[0],
                          _renewed(now, until, NODE_LEASE[1], (node.index * 3.7) % NODE_LEASE[1]), clock))
    running = {c.name: c.running for c in sim.state().components}
    stops = {obj: t for t, reason, obj, *_ in sim.api.events if reason == "Stopped"}
    for component, part in (("kube-controller-manager", "controller-manager"), ("kube-scheduler", "scheduler")):
        until = None if running.get(part, True) else stops.get(f"component/{part}", now)
        holder = f"control-plane_{res.uid('leader', component)}"
        out.append(_lease("kube-system", component, holder, LEADER_LEASE[0],
                          _renewed(now, until, LEADER_LEASE[1], 0.0), clock))
    return sorted(out, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    return [o for o in leases(store.sim, store.clock) if namespace in (None, o["metadata"]["namespace"])]


def lease_row(lease: Obj, now: float) -> list:
    """Follows printLease: Name, Holder, Age."""
    meta, spec, _ = parts(lease)
    return [meta.get("name", ""), spec.get("holderIdentity") or "", age(lease, now)]


LEASE = REGISTRY.add(Kind(
    group="coordination.k8s.io", version="v1", plural="leases", kind="Lease", namespaced=True, verbs=READ,
    schema="io.k8s.api.coordination.v1.Lease",
    columns=(NAME, Column("Holder", "string", "Identity of the current holder of the lease."), AGE),
    row=lease_row, strategy=Strategy(objects=objects)))
