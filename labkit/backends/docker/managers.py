"""Which manager of a playground swarm labkit talks to, and whether the swarm can take orders.

A swarm accepts a change only while a majority of its managers (a Raft
quorum) is up and has elected a leader. labkit knows which machines it
switched off, so it can tell the three cases apart before it asks:

- a majority of managers is powered on: talk to one of them, waiting
  through a leader election (a few seconds to ~20 s after the leader died;
  longer on a busy machine, where leadership can move several times), and
  send a change again when the manager that took it lost its leadership;
- no majority: refuse at once with `Unavailable`, saying which managers
  are down (what `docker` says is "The swarm does not have a leader");
- no swarm yet (a lesson's machines before `docker swarm init`).
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from ...errors import Unavailable
from .common import engine_failures, engine_words
from .playground import Playground, index_of

T = TypeVar("T")

# Seconds: Raft's election timeout is ~10 s; on a busy 2-core machine leadership can move for a minute.
ELECTION_WAIT = 120.0
ELECTING = "waiting for the managers to elect a new leader"
# What a manager answers while the swarm has no leader (swarmkit's manager/state/raft/raft.go):
NO_LEADER = ("lost leader status",  # ErrLostLeadership: it stepped down before the change was committed
             "no elected cluster leader",  # ErrNoClusterLeader
             "node is stopped",  # ErrStopped: the manager that took it is shutting down
             "does not have a leader",  # lostQuorumMessage: no leader for 10 ticks (an election, or no quorum)
             "context deadline exceeded",  # the change was not committed in time
             "code = Unavailable")  # gRPC: the leader it forwards to does not answer (the one that died)


def without_a_leader(error: BaseException) -> bool:
    """Whether the engine refused a change only because the swarm had no leader at that moment."""
    import docker
    return isinstance(error, docker.errors.APIError) and any(w in engine_words(error) for w in NO_LEADER)


class Managers:
    """The playground's managers, as last seen, and the one labkit talks to."""

    def __init__(self, pg: Playground, managers: int = 1) -> None:
        self.pg = pg
        self.indices: list[int] = list(range(1, managers + 1))  # refreshed by `seen`
        self.current = 1

    def client(self):
        return self.pg.node_client(self.current)

    def seen(self, nodes_raw: list) -> None:
        """Remember the managers from a successful `docker node ls`."""
        found = sorted(index_of(n.attrs["Description"]["Hostname"]) or 0 for n in nodes_raw
                       if n.attrs["Spec"].get("Role") == "manager")
        found = [i for i in found if i]
        if found:
            self.indices = sorted(set(found))

    def powered(self) -> list[int]:
        running = {i for i, c in self.pg.node_containers().items() if c.status == "running"}
        return [i for i in self.indices if i in running]

    def down(self) -> list[str]:
        """The managers that are switched off."""
        up = self.powered()
        return [f"node-{i}" for i in self.indices if i not in up]

    def problem(self) -> str | None:
        """Why the swarm cannot take orders now (None: it can, perhaps after an election)."""
        down = self.down()
        total = len(self.indices)
        up = total - len(down)
        if not up:
            return (f"every manager of this swarm is switched off ({', '.join(down)}): nobody can change it; "
                    "the tasks on the workers keep running")
        if up * 2 <= total:
            return (f"the swarm has lost its quorum: {len(down)} of its {total} managers are down "
                    f"({', '.join(down)}), and Raft needs a majority ({total // 2 + 1}) to accept a change")
        return None

    def refusal(self) -> Unavailable | None:
        """The error for a change while no majority is up (None when one is)."""
        why = self.problem()
        if why is None:
            return None
        return Unavailable(why, f"power a manager back on: cluster.recover_node({self.down()[0]!r})")

    def leader(self, wait: float = ELECTION_WAIT, progress=None):
        """A client on a manager that answers; raises `Unavailable` when no majority is up
        (at once, and as soon as one more manager is switched off while it waits)."""
        deadline = time.monotonic() + wait
        progress = once(progress)
        while True:
            refused = self.refusal()
            if refused is not None:
                raise refused
            for i in self._candidates():
                try:
                    client = self.pg.node_client(i)
                    self.seen(client.nodes.list())
                    self.current = i
                    return client
                except engine_failures():  # not answering, or not a manager (any more): ask the next
                    continue
            if time.monotonic() > deadline:
                raise Unavailable(f"no manager of this swarm answered within {wait:g} s",
                                  f"see `docker logs {self.pg.names.container(self.current)}`; "
                                  "cluster.reset() powers every node back on")
            progress.step(ELECTING)
            time.sleep(1.0)

    def through_elections(self, change: Callable[[], T], progress=None, wait: float = ELECTION_WAIT) -> T:
        """Make `change` once the swarm has a leader, and again each time a manager answers that
        it had none (raft: "node lost leader status" when leadership moved while the change was
        taken), as a person would retype the command: for `wait` seconds in all, while a majority
        of managers is up. Only for changes that are the same when made twice (scale, update)."""
        deadline = time.monotonic() + wait
        progress = once(progress)
        while True:
            self.leader(max(0.0, deadline - time.monotonic()), progress)
            try:
                return change()
            except engine_failures() as error:
                if not without_a_leader(error):
                    raise
                refused, last = self.refusal(), error
            if refused is not None:  # a manager was switched off meanwhile
                raise refused from last
            if time.monotonic() > deadline:
                raise Unavailable(f"the swarm's managers kept losing their leader for {wait:g} s, so the change "
                                  f"was not accepted (the last answer: {engine_words(last)})",
                                  "the machine may be too busy for Raft: try again in a minute; "
                                  f"`docker logs {self.pg.names.container(self.current)}` shows the elections"
                                  ) from last
            progress.step(ELECTING)
            time.sleep(1.0)

    def _candidates(self) -> list[int]:
        """Powered machines to ask, the known managers first; the others in case the student
        promoted or demoted nodes since labkit last looked (a worker says no at once)."""
        running = [i for i, c in self.pg.node_containers().items() if c.status == "running"]
        known = [i for i in [self.current] + self.indices if i in running]
        return list(dict.fromkeys(known + running))

    def switch_from(self, i: int) -> None:
        """Node `i` is about to go: talk to another powered manager from now on."""
        if self.current == i:
            others = [m for m in self.powered() if m != i]
            if others:
                self.current = others[0]


class Once:
    """A progress display that shows its first line only: a wait is told once, however often it loops."""

    def __init__(self, progress=None) -> None:
        self.progress = progress
        self.told = False

    def step(self, message: str) -> None:
        if self.progress is not None and not self.told:
            self.progress.step(message)
        self.told = True


def once(progress) -> Once:
    return progress if isinstance(progress, Once) else Once(progress)
