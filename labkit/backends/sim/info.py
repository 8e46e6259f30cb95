"""The one door to the simulator's insides for code outside it: read-only looks.

The snapshots (labkit.model) carry what every backend can say. A few outputs of
the real tools need more of the simulated engine, as the real engine would
give them: a Swarm service's task history (`docker service ps`), the ports its
routing mesh publishes, a node's power, the managers' quorum, a container's
exit code. The console's simulated `docker` reads them here and nowhere else;
anything that changes the simulator goes through a backend verb.
"""
from __future__ import annotations

from .backend import SimBackend
from .objects import Pod
from .versions import DOCKER_ENGINE  # the Docker Engine version the simulated one answers as

__all__ = ["DOCKER_ENGINE", "exit_code", "has_quorum", "pod", "powered", "published", "revision", "running",
           "service", "service_tasks"]


def pod(sim: SimBackend, name: str) -> Pod | None:
    return sim.api.items("pods").get(name)


def service(sim: SimBackend, name: str):
    """A Swarm service's object (its template, update config, state), or None."""
    return sim.api.get("services", name)


def service_tasks(sim: SimBackend, name: str) -> list[tuple[int, list[Pod]]]:
    """(slot, [task pods, newest first]) of a Swarm service: its task history by slot."""
    svc = service(sim, name)
    if svc is None:
        return []
    pods = sim.api.items("pods")
    out = []
    for slot in sorted(svc.slots):
        tasks = [pods[n] for n in reversed(svc.slots[slot]) if n in pods]
        if tasks:
            out.append((slot, tasks))
    return out


def published(sim: SimBackend, name: str) -> list[int]:
    """The ports Swarm's routing mesh publishes for service `name`."""
    return sorted(port for port, holder in sim.published.items() if holder == name)


def powered(sim: SimBackend, node: str) -> bool:
    """Whether machine `node` is on (a Swarm node that lost power still shows Ready for a while)."""
    agent = sim.agents.get(node)  # the machine itself: it answers even while the API server does not
    return bool(agent is not None and agent.node.up)


def revision(sim: SimBackend) -> int:
    """The store's revision: it grows with every change (cheaper than a snapshot's version)."""
    return sim.store.revision


def running(sim: SimBackend, node: str) -> bool:
    """Whether machine `node` is on and its kubelet/agent runs."""
    agent = sim.agents.get(node)
    return bool(agent is not None and agent.node.up and agent.running)


def has_quorum(sim: SimBackend) -> bool:
    """Whether a majority of the swarm's managers is up (raft accepts changes)."""
    return sim.has_quorum()


def exit_code(sim: SimBackend, name: str, events) -> int | None:
    """The exit code of container `name` when it has exited (None while it runs): from its
    state's reason ("Exited (1)") or else from the events that recorded it."""
    found = pod(sim, name)
    if found is None:
        return None
    reason = found.reason or ""
    if reason.startswith("Exited ("):
        return int(reason[8:].split(")")[0])
    if found.phase != "failed" and reason != "Restarting":
        return None
    for event in reversed(events):  # "container exited with code 1", "... (exit code 137)"
        if event.object == f"pod/{name}" and "code" in event.message:
            digits = "".join(c if c.isdigit() else " " for c in event.message.split("code", 1)[1]).split()
            if digits:
                return int(digits[0])
    return 1
