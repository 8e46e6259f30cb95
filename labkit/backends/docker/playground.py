"""A real multi-node Docker Swarm on one machine: Docker-in-Docker node containers.

    node image   a Debian root file system with docker.io, or `docker:dind` (node_image.py)
    network      `labkit-<lab>` (a private bridge on 10.10.<k>.0/24, each node at a fixed
                 address, node-1 at .2, so a manager keeps its address across a power cycle)
    nodes        containers `labkit-<lab>-node-<i>` with hostname `node-<i>`, each running
                 its own dockerd; /var/lib/docker lives in a labelled volume so that a
                 stopped node (a failed machine) comes back with its swarm state
    swarm        node-1 runs `swarm init`; nodes 2..managers join with the real manager
                 join token, the others with the worker token. With init=False the
                 machines have Docker and no swarm: the student's own
                 `docker swarm init` / `docker swarm join` make it (lesson 02), and
                 `add_machine()` starts one more machine for each join
    images       the demo images, `docker save` on the host, `docker load` in each node

labkit talks to each node's dockerd through a unix socket that the node
creates in a host directory bind-mounted into it (no TCP port is opened).
A running playground is reused by the next `connect` of the same lab: a lock
file per lab in labkit's private folder, `<lab>.lock`, makes a second kernel
wait while the first one makes the machines, and goes with them (`down`).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import os
import re
import shutil
import time
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from ...errors import InvalidInput, Unavailable
from ...private import find_dir, open_private, private_dir
from . import common as du
# node_image_tag and SUBNET_LABEL: still importable from here, where they were before
from .node_image import DIND_IMAGE, ensure_node_image, node_image_tag  # noqa: F401
from .node_network import SUBNET_LABEL, ensure_network, node_ip, without_addresses  # noqa: F401
from ..base import LABEL

SOCKET_DIR_IN_NODE = "/run/labkit"
MAX_NODES = 9
HEARTBEAT_NS = 2_000_000_000


# -- the playground's objects -----------------------------------------------------------
@dataclass(frozen=True)
class Names:
    lab: str

    @property
    def network(self) -> str:
        return f"labkit-{self.lab}"

    def container(self, i: int) -> str:
        return f"labkit-{self.lab}-node-{i}"

    def volume(self, i: int) -> str:
        return f"labkit-{self.lab}-node-{i}"

    @staticmethod
    def hostname(i: int) -> str:
        return f"node-{i}"

    def socket_dir(self, i: int) -> str:
        """Where node `i`'s engine puts its socket: in labkit's private folder, so no other
        user can plant a socket that answers as the node's Docker."""
        return os.path.join(private_dir(self.lab), f"node-{i}")

    def socket_url(self, i: int) -> str:
        return "unix://" + os.path.join(self.socket_dir(i), "docker.sock")


def index_of(hostname: str) -> int | None:
    m = re.fullmatch(r"node-(\d+)", hostname or "")
    return int(m.group(1)) if m else None


# -- the lab's lock ---------------------------------------------------------------------
@contextlib.contextmanager
def lab_lock(lab: str) -> Iterator[None]:
    """Held while this process makes machines of `lab`: two kernels connecting to one lab at
    once, the second waits, then reuses. The file may be removed while one waits for it (the
    lab destroyed meanwhile, see remove_lock): then the lock is taken on the file there now."""
    path = os.path.join(private_dir(), f"{lab}.lock")
    while True:
        with open_private(path) as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                if _still_at(f, path):
                    yield
                    return
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def remove_lock(lab: str) -> None:
    """Remove `lab`'s lock file, unless another process holds it (it is making the lab's
    machines again right now). It is taken first, without waiting, and removed while held, so
    one that opened it meanwhile finds it gone once it has it, and locks a new file."""
    folder = find_dir()
    if folder is None:
        return
    path = os.path.join(folder, f"{lab}.lock")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:  # none (or a link, not followed)
        return
    with os.fdopen(fd, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # held: the lab is being made again
            return
        if _still_at(f, path):
            os.unlink(path)


def _still_at(f: BinaryIO, path: str) -> bool:
    """Whether the open file `f` is the file at `path` still (not removed, nor replaced)."""
    try:
        there = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(f.fileno())
    return (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino)


class Playground:
    """N Docker-in-Docker nodes of one lab, forming a swarm; see the module docstring."""

    def __init__(self, client, lab: str, progress: du.Progress | None = None) -> None:
        self.client = client
        self.lab = lab
        self.names = Names(lab)
        self.progress = progress or du.Progress("swarm")
        self._node_clients: dict[int, object] = {}

    # -- discovery ------------------------------------------------------------------
    def node_containers(self) -> dict[int, object]:
        found = {}
        for c in self.client.containers.list(all=True, ignore_removed=True,
                                             filters={"label": [f"{LABEL}={self.lab}", f"{du.KIND}=node"]}):
            i = index_of(c.labels.get(LABEL + ".node", ""))
            if i:
                found[i] = c
        return dict(sorted(found.items()))

    def node_client(self, i: int, timeout: int = 60):
        import docker
        if i not in self._node_clients:
            self._node_clients[i] = docker.DockerClient(base_url=self.names.socket_url(i), timeout=timeout)
        return self._node_clients[i]

    def close(self) -> None:
        for i in list(self._node_clients):
            self._node_clients.pop(i).close()

    def manager(self):
        return self.node_client(1)

    # -- bring up ----------------------------------------------------------------------
    def up(self, nodes: int, managers: int = 1, init: bool = True) -> float:
        """Make sure `nodes` nodes run and form a swarm with `managers` managers (no swarm
        at all with init=False); return the seconds it took."""
        if not 1 <= nodes <= MAX_NODES:
            raise InvalidInput(f"a playground swarm has 1 to {MAX_NODES} nodes, not {nodes}",
                               "nodes=3 is what the lessons use")
        if not 1 <= managers <= nodes:
            raise InvalidInput(f"managers must be from 1 to the number of nodes ({nodes}), not {managers}",
                               "e.g. nodes=5, managers=3: a swarm that survives one lost manager")
        start = time.monotonic()
        made: list[tuple[str, str]] = []  # (kind, name) of what this call created, for cleanup
        with self._lock():  # two kernels connecting to one lab at once: the second one reuses
            try:
                self._up(nodes, managers, init, made)
            except BaseException:
                self._undo(made)
                raise
        return time.monotonic() - start

    def add_machine(self) -> int:
        """Start one more node, with Docker and the demo images but in no swarm; its index."""
        made: list[tuple[str, str]] = []
        with self._lock():
            existing = self.node_containers()
            i = max(existing, default=0) + 1
            if i > MAX_NODES:
                raise InvalidInput(f"this playground has {len(existing)} machines, the most it runs is {MAX_NODES}",
                                   "remove a swarm with cluster.destroy(), or use the simulator for more")
            try:
                image = ensure_node_image(self.client, self.progress)
                ensure_network(self.client, self.names.network, self.lab, made)
                self._create_node(i, image, made)
                self._wait_engine(i)
                self._load_images([i])
            except BaseException:
                self._undo(made)
                raise
        return i

    def remove_machine(self, i: int) -> None:
        """Remove node `i` (a machine whose join failed), leaving the rest as they are."""
        container = self.node_containers().get(i)
        if container is not None:
            self._remove_node(i, container)

    def _lock(self):
        return lab_lock(self.lab)

    def _up(self, nodes: int, managers: int, init: bool, made: list) -> None:
        from . import images
        if without_addresses(self.client, self.names.network, self.lab):
            self.progress.step(f"lab {self.lab!r} was made before nodes had fixed addresses: starting it afresh")
            self._remove_all()  # not down(): this process holds the lab's lock
        existing = self.node_containers()
        if init and existing and set(existing) == set(range(1, nodes + 1)) and self._healthy(existing, managers):
            self._load_images(list(existing))
            return
        what = f"{nodes}-node swarm playground" if init else "machine with Docker, in no swarm yet,"
        self.progress.step(f"starting a {what} (lab {self.lab!r})")
        images.ensure_images(self.client, self.progress)
        image = ensure_node_image(self.client, self.progress)
        ensure_network(self.client, self.names.network, self.lab, made)
        existing = self.node_containers()  # (none left when the network had to be made anew)
        for i in range(1, nodes + 1):
            if i not in existing:
                self._create_node(i, image, made)
            elif existing[i].status != "running":
                existing[i].start()
        for i, c in existing.items():
            if i > nodes:
                self._remove_node(i, c)
        self.progress.step("waiting for the nodes' docker engines")
        self._parallel(self._wait_engine, range(1, nodes + 1))
        self.progress.step("loading the demo images into every node")
        self._load_images(list(range(1, nodes + 1)))
        if not init:
            self._parallel(self._leave, range(1, nodes + 1))
            self.progress.done(f"{nodes} machine(s) with Docker ready, in no swarm: `docker swarm init` makes one")
            return
        self._form_swarm(nodes, managers)
        self.progress.done(f"swarm of {nodes} nodes ready: " + ("node-1 is the manager" if managers == 1 else
                                                                f"node-1 to node-{managers} are managers"))

    def _leave(self, i: int) -> None:
        node = self.node_client(i)
        if (node.info().get("Swarm") or {}).get("LocalNodeState") in ("active", "pending", "error"):
            node.swarm.leave(force=True)

    def _healthy(self, existing: dict, managers: int = 1) -> bool:
        if any(c.status != "running" for c in existing.values()) or 1 not in existing:
            return False
        try:
            info = self.manager().info()
            swarm = info.get("Swarm") or {}
            if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
                return False
            ready = [n for n in self.manager().nodes.list() if n.attrs["Status"]["State"] == "ready"]
            roles = [n.attrs["Spec"].get("Role") for n in ready]
            return len(ready) >= len(existing) and roles.count("manager") == managers
        except du.engine_failures():  # node-1 does not answer, or is no manager: not healthy
            return False


    def ip(self, i: int) -> str:
        """Node `i`'s fixed address on the lab's network."""
        return node_ip(self.client, self.names.network, i)

    def _create_node(self, i: int, image: str, made: list) -> None:
        import docker
        from docker.types import Mount
        name = self.names.container(i)
        du.check_container_name(self.client, name, self.lab)
        self.progress.step(f"starting node-{i}")
        try:
            self.client.volumes.get(self.names.volume(i))
        except docker.errors.NotFound:
            self.client.volumes.create(self.names.volume(i), labels=du.labels(self.lab, "volume"))
            made.append(("volume", self.names.volume(i)))
        shutil.rmtree(self.names.socket_dir(i), ignore_errors=True)  # an old node's socket
        sockets = private_dir(self.lab, f"node-{i}")
        command = ["dockerd", "--host", f"unix://{SOCKET_DIR_IN_NODE}/docker.sock",
                   "--host", "unix:///var/run/docker.sock", "--storage-driver", "vfs"]
        if image == DIND_IMAGE:
            command = ["dockerd-entrypoint.sh"] + command[1:]
        api = self.client.api
        host_config = api.create_host_config(
            cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            cgroupns="host", network_mode=self.names.network, tmpfs={"/run": "exec"},
            mounts=[Mount("/sys/fs/cgroup", "/sys/fs/cgroup", type="bind", read_only=False),
                    Mount("/var/lib/docker", self.names.volume(i), type="volume"),
                    Mount(SOCKET_DIR_IN_NODE, sockets, type="bind")])
        # `--security-opt systempaths=unconfined` is a CLI spelling: the API wants empty path lists.
        host_config["MaskedPaths"] = []
        host_config["ReadonlyPaths"] = []
        networking = api.create_networking_config(
            {self.names.network: api.create_endpoint_config(ipv4_address=self.ip(i))})
        created = api.create_container(
            image, command, name=name, hostname=self.names.hostname(i), detach=True,
            labels=du.labels(self.lab, "node", **{LABEL + ".node": f"node-{i}"}), host_config=host_config,
            networking_config=networking)
        made.append(("container", name))
        api.start(created["Id"])

    def _wait_engine(self, i: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        path = self.names.socket_url(i)[len("unix://"):]
        while True:
            try:
                if os.path.exists(path):
                    self.node_client(i).ping()
                    return
            except du.engine_failures():  # its dockerd is still starting
                pass
            if time.monotonic() > deadline:
                logs = ""
                try:
                    logs = self.client.containers.get(self.names.container(i)).logs(tail=15).decode(errors="replace")
                except du.engine_failures():  # no logs to show: the error below says where to look
                    pass
                raise Unavailable(f"node-{i}'s docker engine did not start within {timeout:g} s:\n{logs}",
                                  "see `docker logs " + self.names.container(i) + "`; the playground needs "
                                  "cgroup v2 and a kernel that allows nested containers")
            time.sleep(0.3)

    def wait_engine(self, i: int, timeout: float = 90) -> None:
        client = self._node_clients.pop(i, None)  # its connections were to the engine before a restart
        if client is not None:
            client.close()
        self._wait_engine(i, timeout)

    def load_images(self) -> None:
        """Every node that has power holds the demo images (built on the host first if need be)."""
        self._load_images([i for i, c in self.node_containers().items() if c.status == "running"])

    def _load_images(self, indices: list[int]) -> None:
        from . import images
        tags = images.all_tags()

        def missing(i: int) -> bool:
            have = {t: img.id for img in self.node_client(i).images.list() for t in img.tags}
            return not all(have.get(t) == wanted[t] for t in tags)

        wanted = images.ensure_images(self.client, self.progress)
        todo = [i for i in indices if missing(i)]
        if todo:
            data = images.save_images(self.client, tags)  # one `docker save`, loaded by every node at once
            self._parallel(lambda i: self.node_client(i).images.load(data), todo)

    def _form_swarm(self, nodes: int, managers: int = 1) -> None:
        import docker
        manager = self.manager()
        info = manager.info().get("Swarm") or {}
        addr = self.ip(1)
        if info.get("LocalNodeState") == "active" and not self._shaped(manager, nodes, managers):
            # Reshaping a Raft group member by member can lose its quorum: start a new swarm.
            self.progress.step(f"the lab's swarm does not have {managers} manager(s): making a new one")
            self._parallel(self._leave, range(1, nodes + 1))
            info = {}
        if info.get("LocalNodeState") != "active":
            self.progress.step("node-1: docker swarm init")
            # Heartbeats every 2 s (Swarm's default is 5 s), so a failed node is noticed
            # in seconds rather than after a long pause in the middle of a lesson.
            manager.swarm.init(advertise_addr=addr, listen_addr="0.0.0.0:2377",
                               labels={LABEL: self.lab}, dispatcher_heartbeat_period=HEARTBEAT_NS)
        manager.swarm.reload()
        tokens = manager.swarm.attrs["JoinTokens"]
        joined = {n.attrs["Description"]["Hostname"]: n.attrs["Spec"].get("Role")
                  for n in manager.nodes.list() if n.attrs["Status"]["State"] == "ready"}

        def join(i: int) -> None:
            role = "manager" if i <= managers else "worker"
            node = self.node_client(i)
            state = (node.info().get("Swarm") or {}).get("LocalNodeState")
            if state == "active" and joined.get(f"node-{i}") == role:
                return
            if state in ("active", "pending", "error"):
                node.swarm.leave(force=True)
            self.progress.step(f"node-{i}: docker swarm join ({role})")
            node.swarm.join(remote_addrs=[f"{addr}:2377"], join_token=tokens[role.capitalize()],
                            listen_addr="0.0.0.0:2377")
        # Managers one at a time: Raft adds members one by one.
        for i in range(2, managers + 1):
            join(i)
        self._parallel(join, range(managers + 1, nodes + 1))
        # Forget nodes that left (old ids of rebuilt workers), so `docker node ls` is clean.
        for n in manager.nodes.list():
            if n.attrs["Status"]["State"] == "down":
                host = n.attrs["Description"]["Hostname"]
                fresh = [m for m in manager.nodes.list()
                         if m.attrs["Description"]["Hostname"] == host and m.attrs["Status"]["State"] == "ready"]
                if fresh or (index_of(host) or 0) > nodes:
                    try:
                        if n.attrs["Spec"].get("Role") == "manager":
                            manager.api.update_node(n.id, n.version, dict(n.attrs["Spec"], Role="worker"))
                            n.reload()
                        n.remove(force=True)
                    except docker.errors.APIError:  # tidying `docker node ls` only: a stale entry may stay
                        pass
        deadline = time.monotonic() + 60
        while True:
            ready = [n for n in manager.nodes.list() if n.attrs["Status"]["State"] == "ready"]
            if len(ready) >= nodes:
                return
            if time.monotonic() > deadline:
                raise Unavailable(f"only {len(ready)} of {nodes} nodes became ready in the swarm",
                                  "look at `docker logs labkit-<lab>-node-2`, then try cluster.reset()")
            time.sleep(0.5)

    @staticmethod
    def _shaped(manager, nodes: int, managers: int, wait: float = 60) -> bool:
        """True when every ready node of the swarm has the role it should (node-1..managers manage).
        Managers that were just powered on may still be electing a leader: wait for it."""
        deadline = time.monotonic() + wait
        while True:
            try:
                listed = manager.nodes.list()
                break
            except du.engine_failures():  # electing a leader, or no manager any more: see below
                if not (manager.info().get("Swarm") or {}).get("ControlAvailable"):
                    return False  # node-1 is not a manager any more
                if time.monotonic() > deadline:
                    return False
                time.sleep(1.0)
        for n in listed:
            i = index_of(n.attrs["Description"]["Hostname"]) or 0
            if n.attrs["Status"]["State"] == "ready" and i <= nodes:
                if n.attrs["Spec"].get("Role") != ("manager" if i <= managers else "worker"):
                    return False
        return True

    def _parallel(self, fn, items) -> None:
        items = list(items)
        if not items:
            return
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(items)) as pool:
            for future in [pool.submit(fn, i) for i in items]:
                future.result()

    # -- tear down -----------------------------------------------------------------
    def _remove_node(self, i: int, container) -> None:
        try:
            container.remove(force=True, v=True)
        finally:
            self._forget(i)

    def _forget(self, i: int) -> None:
        client = self._node_clients.pop(i, None)
        if client is not None:
            client.close()
        shutil.rmtree(self.names.socket_dir(i), ignore_errors=True)
        with du.tolerate(404, 409):  # no volume, or still held by the node being removed: the reaper retries
            self.client.volumes.get(self.names.volume(i)).remove(force=True)

    def _undo(self, made: list) -> None:
        import docker
        for kind, name in reversed(made):
            try:
                if kind == "container":
                    self.client.containers.get(name).remove(force=True, v=True)
                    self._forget(int(name.rsplit("-", 1)[1]))
                elif kind == "volume":
                    self.client.volumes.get(name).remove(force=True)
                elif kind == "network":
                    self.client.networks.get(name).remove()
            except docker.errors.APIError:  # best effort while another error is on its way out: `labkit reset` tidies the rest
                pass
        self._rmdir_lab()

    def _rmdir_lab(self) -> None:
        try:
            os.rmdir(os.path.dirname(self.names.socket_dir(1)))  # only when empty
        except OSError:
            pass

    def down(self) -> None:
        """Remove every node, volume and the network of this lab, and its lock file unless
        another process holds it (see remove_lock)."""
        self._remove_all()
        remove_lock(self.lab)

    def _remove_all(self) -> None:
        import docker
        for i, c in self.node_containers().items():
            self._remove_node(i, c)
        for v in self.client.volumes.list(filters={"label": f"{LABEL}={self.lab}"}):
            try:
                v.remove(force=True)
            except docker.errors.APIError:  # best effort: gone already, or still in use (the reaper retries)
                pass
        for net in self.client.networks.list(filters={"label": f"{LABEL}={self.lab}"}):
            try:
                net.remove()
            except docker.errors.APIError:  # likewise
                pass
        shutil.rmtree(os.path.dirname(self.names.socket_dir(1)), ignore_errors=True)


def main() -> None:  # `python -m labkit.backends.docker.playground [nodes]`: build and start, report the time
    import sys
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    client = du.connect()
    pg = Playground(client, du.lab_id(None))
    print(f"playground of {nodes} nodes up in {pg.up(nodes):.1f} s")


if __name__ == "__main__":
    main()
