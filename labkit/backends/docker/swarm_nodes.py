"""A swarm's nodes as labkit's Swarm backend drives them: the playground's machines switched off and on,
new machines joining (lesson 02: the student's own `docker swarm join`), a node's availability.

`SwarmNodes` is a part of `SwarmBackend` (swarm.py), kept here so each file reads in one sitting; it uses
the backend's lock, managers, playground and event log, and `swarm_machines` for the machines themselves.
"""
from __future__ import annotations

from ...errors import Refused
from . import common as du
from . import swarm_machines as machines
from ..base import CliTarget


class SwarmNodes:
    """The node verbs of SwarmBackend (see the module docstring)."""

    # -- nodes: the playground's machines (see swarm_machines) ---------------------------------
    def fail_node(self, name: str) -> None:
        with self._lock:
            machines.power_off(self.pg, self.managers, name)
            self._note("NodeDown", f"node/{name}", f"{name} switched off", type="Warning")

    def recover_node(self, name: str) -> None:
        """Power a node back on; returns once the swarm has it back (see wait_rejoined), or at
        once its engine answers when the swarm cannot say (no quorum, no swarm yet)."""
        with self._lock:
            machines.power_on(self.pg, name)
            self._note("NodeUp", f"node/{name}", f"{name} powered on: its dockerd restarts and rejoins the swarm")
        if self._formed and self.managers.problem() is None:
            self.managers.leader(progress=self._progress)
            machines.wait_rejoined(self.pg, name, self._nodes, self._progress)

    # -- machines joining (lesson 02: the student's own `docker swarm join`) -------------------
    def new_machine(self) -> tuple[str, str]:
        return machines.new_machine(self.pg)

    def in_swarm(self, name: str) -> bool:
        return machines.in_swarm(self.pg, name)

    def remove_machine(self, name: str) -> None:
        machines.remove_machine(self.pg, name)

    def add_node(self, role: str = "worker") -> str:
        """A new machine joins as `role`, as `docker swarm join --token <token>` on it would."""
        self._leader()
        with self._lock:
            name, _ = self.new_machine()
            try:
                token = self.join_token(role)
                machines.join(self.pg, name, self.manager_address(), token)
            except BaseException:
                self.remove_machine(name)
                raise
            self._note("NodeJoined", f"node/{name}", f"joined as a {role}", source="swarm manager")
            return name

    def join_token(self, role: str = "worker") -> str:
        """What `docker swarm join-token -q <role>` prints."""
        self._leader()
        return machines.join_token(self.api, role)

    def cli_target(self, tool: str) -> CliTarget:
        """The real docker CLI on the manager labkit talks to (a playground's is known without
        connecting: it may be switched off), with this lab's label."""
        if tool != "docker":
            return CliTarget()
        if self.pg is not None:
            return CliTarget(env={"DOCKER_HOST": self.pg.names.socket_url(self.managers.current)}, lab=self.lab)
        return CliTarget(env=du.docker_host(self.api), lab=self.lab)

    def manager_address(self) -> str:
        """The address a new node joins at (`<ip>:2377` of the manager labkit talks to)."""
        return machines.manager_address(self.pg, self.managers)

    def swarm_changed(self) -> None:
        """After the student's own `docker swarm init`: adopt the swarm the way the playground makes one."""
        from .playground import HEARTBEAT_NS
        if self.pg is None or self._formed:
            return
        if (self.api.info().get("Swarm") or {}).get("LocalNodeState") != "active":
            return
        self._formed = True
        # Heartbeats every 2 s, as in every playground swarm: a lost node is noticed in seconds.
        self.api.swarm.update(dispatcher_heartbeat_period=HEARTBEAT_NS)

    # -- a node's availability; a task killed ---------------------------------------------------
    def drain(self, name: str) -> None:
        self._availability(name, "drain")

    def uncordon(self, name: str) -> None:
        self._availability(name, "active")

    def _availability(self, name: str, value: str) -> None:
        self._leader()
        with self._lock:
            node = self._node(name)
            if self.pg is None and not self._own_swarm:
                raise Refused("labkit does not change nodes of a swarm it did not create",
                              "use the playground: labkit.connect('swarm', nodes=3)")
            spec = dict(node.attrs["Spec"])
            spec["Availability"] = value
            node.update(spec)
            self._note("NodeDrained" if value == "drain" else "NodeActive", f"node/{name}", f"availability {value}",
                       source="swarm manager")
