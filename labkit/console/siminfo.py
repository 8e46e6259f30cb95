"""What the console reads from (or does to) the simulator beyond the facade.

The facade's snapshots are enough for most tables; a few real-tool outputs
need more: replica sets, creation times, a Swarm service's task history, the
join tokens, and three small actions the facade has no verb for yet
(`kubectl cordon`, `kubectl delete pod`, `docker stop`). They live here, in
one place, so nothing else depends on the simulator's insides.
"""
from __future__ import annotations

from ..errors import NotFound


def api(ctx):
    sim = ctx.sim
    return sim.api if sim is not None else None


def created(ctx, kind: str, name: str) -> float:
    """When a deployment was created (virtual seconds); 0 when unknown."""
    store = api(ctx)
    obj = store.get(kind, name) if store is not None else None
    return float(getattr(obj, "created", 0.0) or 0.0)


def first_event(ctx, obj: str, containing: str = "") -> float:
    for event in ctx.cluster.events():
        if event.object == obj and containing in event.message:
            return event.time
    return 0.0


def node_created(ctx, name: str) -> float:
    return first_event(ctx, f"node/{name}")


def replica_sets(ctx, deployment: str) -> list:
    """The simulator's ReplicaSet objects of one deployment, oldest revision first."""
    sim = ctx.sim
    if sim is None or sim.deployments is None:
        return []
    return list(sim.deployments.replica_sets(deployment))


def all_replica_sets(ctx) -> list:
    sim = ctx.sim
    if sim is None or sim.deployments is None:
        return []
    items = sim.api.items("replicasets")
    return sorted(items.values(), key=lambda rs: (rs.owner, rs.revision))


def replica_set_created(ctx, rs_name: str) -> float:
    for event in ctx.cluster.events():
        if event.reason == "ScalingReplicaSet" and event.message.split(" to ")[0].endswith(rs_name):
            return event.time
    return 0.0


def deployment(ctx, name: str):
    store = api(ctx)
    return store.get("deployments", name) if store is not None else None


def pod(ctx, name: str):
    store = api(ctx)
    return store.items("pods").get(name) if store is not None else None


def pod_owner(ctx, name: str) -> str:
    found = pod(ctx, name)
    return getattr(found, "owner", "") if found is not None else ""


def service_tasks(ctx, name: str) -> list[tuple[int, list]]:
    """(slot, [task Pod objects, newest first]) for a Swarm service."""
    store = api(ctx)
    svc = store.get("services", name) if store is not None else None
    if svc is None:
        return []
    pods = store.items("pods")
    out = []
    for slot in sorted(svc.slots):
        tasks = [pods[n] for n in reversed(svc.slots[slot]) if n in pods]
        if tasks:
            out.append((slot, tasks))
    return out


def service(ctx, name: str):
    store = api(ctx)
    return store.get("services", name) if store is not None else None


def published(ctx, name: str) -> list[int]:
    """The ports Swarm's routing mesh publishes for service `name` (the simulator's record)."""
    return sorted(port for port, holder in getattr(ctx.sim, "published", {}).items() if holder == name)


def node_obj(ctx, name: str):
    store = api(ctx)
    return store.get("nodes", name) if store is not None else None


def join_token(ctx, role: str) -> str:
    return ctx.sim.join_token(role)


# -- actions the facade has no verb for --------------------------------------------------------
def cordon(ctx, name: str) -> None:
    """Mark a node unschedulable without evicting anything (`kubectl cordon`)."""
    sim = ctx.sim
    sim.api.check()
    node = node_obj(ctx, name)
    if node is None:
        raise NotFound(f'nodes "{name}" not found', "see kubectl get nodes")
    node.schedulable = False
    sim.api.write("nodes", node)
    sim.api.record("NodeNotSchedulable", f"node/{name}", f"Node {name} status is now: NodeNotSchedulable",
                   source="kubectl")


def pause_node(ctx, name: str) -> None:
    """`docker node update --availability pause`: no new tasks, the running ones stay."""
    sim = ctx.sim
    sim.api.check()
    node = node_obj(ctx, name)
    node.schedulable = False
    node.availability = "pause"
    sim.api.write("nodes", node)


def delete_pod(ctx, name: str) -> None:
    """Delete one pod gracefully; its ReplicaSet (if any) makes a new one."""
    from ..backends.sim.controllers import delete_pod as graceful
    sim = ctx.sim
    sim.api.check()
    found = pod(ctx, name)
    if found is None:
        raise NotFound(f'pods "{name}" not found', "see kubectl get pods")
    graceful(sim.api, found, source="kubectl")


def stop_container(ctx, name: str, exit_code: int = 0) -> None:
    """`docker stop` (exit 0) / `docker kill` (137): stopped by hand, so its restart policy
    does not bring it back (until `docker start`)."""
    sim = ctx.sim
    found = pod(ctx, name)
    if found is None:
        raise NotFound(f"No such container: {name}", "see docker ps -a")
    if not found.container_up:
        return
    stopped = ctx.session.notes.setdefault(("stopped", id(sim)), {})
    stopped[name] = found.restart_policy
    found.restart_policy = "Never"
    if exit_code:
        sim.api.record("Killed", f"pod/{name}", f"container killed with docker kill (exit code {exit_code})",
                       "Warning", source="docker")
    sim.agents[found.node].crash(found, exit_code=exit_code)


def before_start(ctx, name: str) -> None:
    """`docker start` after `docker stop`: the container's restart policy applies again."""
    sim = ctx.sim
    stopped = ctx.session.notes.get(("stopped", id(sim)), {})
    found = pod(ctx, name)
    if found is not None and name in stopped:
        found.restart_policy = stopped.pop(name)


def exit_code(ctx, name: str) -> int | None:
    found = pod(ctx, name)
    if found is None:
        return None
    reason = found.reason or ""
    if reason.startswith("Exited ("):
        return int(reason[8:].split(")")[0])
    if found.phase != "failed" and reason != "Restarting":
        return None
    for event in reversed(ctx.cluster.events()):  # "container exited with code 1", "... (exit code 137)"
        if event.object == f"pod/{name}" and "code" in event.message:
            digits = "".join(c if c.isdigit() else " " for c in event.message.split("code", 1)[1]).split()
            if digits:
                return int(digits[0])
    return 1
