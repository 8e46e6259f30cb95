"""The swarm's machines, for the swarm backend: power, joining, and what runs on them.

On the playground each machine is a Docker-in-Docker container (`playground.py`):
switching one off kills it, so its dockerd and every task on it die at once;
powered on again, its dockerd rejoins the swarm with the state its volume kept.
Lesson 02's new machines start in no swarm, for the student's own `docker swarm
join`. Without the playground `pg` is None: the one machine is your own engine,
whose swarm labkit joins or makes (`join_or_init`), and what needs a playground
machine is refused.
"""
from __future__ import annotations

import time
from typing import Callable

from ...errors import NotFound, Refused, Unavailable
from . import common as du
from .playground import Playground, index_of
from ..base import LABEL

REJOIN_WAIT = 120.0  # seconds for a machine powered back on to be Ready in its swarm again


def node_container(pg: Playground | None, name: str) -> tuple[int, object]:
    """(index, container) of the playground machine `name`."""
    if pg is None:
        raise Refused(f"labkit does not switch off nodes of your own swarm ({name})",
                      "use the playground, where nodes are containers: labkit.connect('swarm', nodes=3)")
    i = index_of(name)
    found = pg.node_containers().get(i) if i else None
    if found is None:
        raise NotFound(f"no playground node named {name!r}", "see cluster.nodes")
    return i, found


# -- power --------------------------------------------------------------------------------

def power_off(pg: Playground | None, managers, name: str) -> None:
    """Switch machine `name` off; labkit first talks to another manager than this one
    (`managers`, see managers.py)."""
    i, container = node_container(pg, name)
    if managers is not None:
        managers.switch_from(i)
    container.reload()
    if container.status == "running":
        container.kill()  # the power goes: dockerd and every task on the node die at once


def power_on(pg: Playground | None, name: str) -> None:
    """Power machine `name` back on; returns once its engine answers."""
    i, container = node_container(pg, name)
    container.reload()
    if container.status != "running":
        container.start()
        pg.wait_engine(i)


def power_on_all(pg: Playground) -> None:
    """Power every machine switched off back on, one after the other."""
    for i, c in pg.node_containers().items():
        if c.status != "running":
            c.start()
            pg.wait_engine(i)


def wait_rejoined(pg: Playground, name: str, nodes: Callable[[], list], progress: du.Progress,
                  timeout: float = REJOIN_WAIT) -> None:
    """Wait until `name`'s agent is back in the swarm and the managers see it Ready, with every
    other powered node (a new leader marks them all "unknown" until each reports again): a
    change made sooner may find no node to place its tasks on, and a task may be left pending.
    `nodes` lists the swarm's nodes (docker-py's) from the manager labkit talks to."""
    deadline = time.monotonic() + timeout
    shown = False
    while not rejoined(pg, name, nodes):
        if time.monotonic() > deadline:
            raise Unavailable(f"{name} is powered on but the swarm has not seen it back within {timeout:g} s",
                              f"see `docker logs {pg.names.container(index_of(name))}`; "
                              "cluster.state() shows it once it rejoins")
        if not shown:
            progress.step(f"waiting for {name} to rejoin the swarm")
            shown = True
        time.sleep(0.5)


def rejoined(pg: Playground, name: str, nodes: Callable[[], list]) -> bool:
    """Whether `name`'s own engine says its agent is in the swarm again, the managers see it
    Ready, and none of the powered nodes is "unknown" to them any more."""
    try:
        local = (pg.node_client(index_of(name)).info().get("Swarm") or {}).get("LocalNodeState")
        if local != "active":
            return local != "pending"  # in no swarm (left, or never joined): nothing to wait for
        powered = {f"node-{i}" for i, c in pg.node_containers().items() if c.status == "running"}
        seen = [(n.attrs["Description"]["Hostname"], n.attrs["Status"]["State"]) for n in nodes()]
    except du.engine_failures():  # its engine, or the managers, still busy after the restart
        return False
    return (name, "ready") in seen and not any(host in powered and state == "unknown" for host, state in seen)


# -- joining ------------------------------------------------------------------------------

def join_or_init(host, lab: str, progress: du.Progress) -> bool:
    """Without the playground: use your own engine's swarm; create one (labelled as labkit's) if
    there is none. Whether the swarm is labkit's (then destroy() leaves it again)."""
    swarm = host.info().get("Swarm") or {}
    if swarm.get("LocalNodeState") == "active":
        if not swarm.get("ControlAvailable"):
            raise Unavailable("this engine is a swarm worker: services can only be created on a manager",
                              "run labkit on a manager node, or use the playground: labkit.connect('swarm')")
        host.swarm.reload()
        return ((host.swarm.attrs.get("Spec") or {}).get("Labels") or {}).get(LABEL) is not None
    progress.step("docker swarm init (on your engine; `labkit reset` leaves it again)")
    host.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377", labels={LABEL: lab})
    return True


def join_token(api, role: str) -> str:
    """What `docker swarm join-token -q <role>` prints, asked of the manager `api`."""
    api.swarm.reload()
    return api.swarm.attrs["JoinTokens"]["Worker" if role == "worker" else "Manager"]


def manager_address(pg: Playground | None, managers) -> str:
    """The address a new node joins at (`<ip>:2377` of the manager labkit talks to)."""
    if pg is None:
        return "127.0.0.1:2377"
    return f"{pg.ip(managers.current)}:2377"


def join(pg: Playground, name: str, address: str, token: str) -> None:
    """Machine `name` joins the swarm at `address` with `token`, as `docker swarm join` on it would."""
    pg.node_client(index_of(name)).swarm.join(remote_addrs=[address], join_token=token, listen_addr="0.0.0.0:2377")


# -- new machines (lesson 02: the student's own `docker swarm join` runs on one) ----------

def new_machine(pg: Playground | None) -> tuple[str, str]:
    """Start one more playground machine in no swarm: (its name, its engine's URL)."""
    if pg is None:
        raise Refused("labkit adds machines only to its playground, not to your own swarm",
                      "use the playground: labkit.connect('swarm')")
    i = pg.add_machine()
    return f"node-{i}", pg.names.socket_url(i)


def in_swarm(pg: Playground, name: str) -> bool:
    """True when machine `name` is in a swarm, or on its way in (a slow join goes on by itself)."""
    try:
        state = (pg.node_client(index_of(name)).info().get("Swarm") or {}).get("LocalNodeState")
    except du.engine_failures():  # its engine does not answer (yet): not in a swarm
        return False
    return state in ("active", "pending")


def remove_machine(pg: Playground | None, name: str) -> None:
    """Remove a machine that `new_machine` started (its join failed: nothing half made)."""
    i, _ = node_container(pg, name)
    pg.remove_machine(i)


# -- what runs on them --------------------------------------------------------------------

def require_image(api, image: str, pull: bool) -> None:
    """`image` must be on the manager `api` (playground nodes have the demo images loaded);
    `pull`: else pulled from a registry (on your own engine)."""
    import docker
    from . import images
    try:
        api.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    if pull:
        try:
            api.images.pull(image)
            return
        except du.engine_failures():  # no such image, or no registry: said below, better
            pass
    demo = ", ".join(sorted(images.DEMO_IMAGES))
    raise NotFound(f"image {image!r} is not on the swarm's nodes and no registry can provide it",
                   f"the demo images are {demo}")


def kill_task(host, pg: Playground | None, name: str, task: dict, hostnames: Callable[[], dict]) -> None:
    """Kill task `name`'s container (`task`: its attrs) inside its node, as a crash would: Swarm
    sees the task fail. `hostnames` (node id -> hostname) is asked on the playground only."""
    cid = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
    if not cid:
        raise Refused(f"{name} has no container yet", "wait until it runs")
    engine = host
    if pg is not None:
        node = hostnames().get(task.get("NodeID"), "")
        engine = pg.node_client(index_of(node) or 1)
    with du.tolerate(404, 409):  # gone, or not running any more: dead already
        engine.containers.get(cid).kill()  # inside its node: Swarm sees the task fail


def lab_containers(host, pg: Playground | None, lab: str, kind: str | None = None) -> list:
    """This lab's containers on every running engine: the machines' (on your own engine: `host`),
    of one `io.labkit.kind` when given."""
    engines = [host] if pg is None else [
        pg.node_client(i) for i, c in pg.node_containers().items() if c.status == "running"]
    wanted = [f"{LABEL}={lab}"] + ([f"{LABEL}.kind={kind}"] if kind else [])
    found = []
    for engine in engines:
        try:
            found += engine.containers.list(all=True, ignore_removed=True, filters={"label": wanted})
        except du.engine_failures():  # a node's engine going down meanwhile: nothing of ours runs there
            pass
    return found


def wait_containers_gone(host, pg: Playground | None, lab: str, timeout: float) -> None:
    """Wait, at most `timeout` seconds, until no container of this lab is left on any engine
    (the tasks of services just removed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            left = lab_containers(host, pg, lab)
        except du.engine_failures():  # the host engine did not answer: stop waiting
            left = []
        if not left:
            break
        time.sleep(0.3)
