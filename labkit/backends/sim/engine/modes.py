"""A global service (`docker service create --mode global`): one task on every node that may run
it, kept so as nodes come, go, drain or change their labels. The simulator's swarm runs replicated
services; a global one is one of them whose count the engine keeps equal to the nodes that may run
it (ready, not drained, meeting its constraints), at most one task a node (its placement's
`max_per_node`), by the simulator's own scale. As swarmkit's global orchestrator, its tasks have no
slot: `docker service ps` names them by node (`web.<node id>`).

    docker service create --mode global --name agent nginx      # one on each node
    docker node update --availability drain node-2              # its task there goes, none elsewhere
"""
from __future__ import annotations

from ....errors import LabkitError
from . import placement
from .state import Engine


def is_global(engine: Engine, name: str) -> bool:
    record = engine.records.get(name)
    return record is not None and "Global" in ((record.spec.get("Mode") or {}))


def placement_of(engine: Engine, name: str, wanted) -> placement.Placement | None:
    """The service's placement: its constraints and tasks per node (a global one: 1)."""
    return placement.parse(list(wanted.constraints), engine.sim.swarm_network(), name,
                           1 if wanted.mode == "global" else wanted.max_per_node)


def eligible(engine: Engine, where: placement.Placement | None) -> int:
    """How many nodes may run one task of a global service (swarmkit's isValidNode and constraints)."""
    return sum(1 for n in engine.nodes() if n.ready and n.availability != "drain"
               and (where is None or where.admits(n)))


def reconcile(engine: Engine) -> None:
    """Every global service as many tasks as nodes that may run one (a node changed)."""
    services = engine.services()
    for name in list(services):
        if not is_global(engine, name):
            continue
        want = eligible(engine, services[name].template.placement)
        if want != services[name].replicas:
            try:
                engine.sim.scale(name, want)
            except LabkitError:
                pass  # no quorum: the swarm changes nothing until it has a leader again


def watch(engine: Engine) -> None:
    """Follow the swarm's nodes (a new simulator, after `docker swarm init`, has a new store)."""
    if engine.in_swarm:
        engine.sim.store.watch("nodes", lambda event, node: reconcile(engine))
