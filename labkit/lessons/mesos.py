"""A model of Apache Mesos' two-level, offer-based scheduling (a model: no Mesos runs here).

What it keeps from Mesos:
1. Agents tell the master what they have free.
2. The master decides *who* is offered those resources: the framework with the
   smallest dominant share goes first (Dominant Resource Fairness, Mesos'
   default allocator).
3. The framework decides *what* to launch on the offer, by its own rules: it
   accepts some of it for tasks, or declines it all. The master never looks
   inside a framework's tasks.
4. Declined resources are offered again later (to the next framework in line).

What it leaves out: time, task failures, roles and weights, reservations,
filters lasting longer than one round, and the network between all of them.
Kubernetes and Swarm have one scheduler that sees everything (one level);
here the decision is split in two.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..cluster import Table


@dataclass
class Agent:
    """One machine in a Mesos cluster."""

    name: str
    cpus: float
    mem: int  # MiB
    attributes: dict = field(default_factory=dict)
    used_cpus: float = 0.0
    used_mem: int = 0

    @property
    def free(self) -> tuple[float, int]:
        return round(self.cpus - self.used_cpus, 3), self.mem - self.used_mem


@dataclass(frozen=True)
class Task:
    name: str
    cpus: float
    mem: int


@dataclass(frozen=True)
class Offer:
    """Free resources of one agent, offered to one framework."""

    id: int
    agent: str
    cpus: float
    mem: int
    attributes: tuple = ()


def first_fit(offer: Offer, pending: list[Task]) -> list[Task]:
    """The usual framework rule: launch pending tasks, in order, while they fit into the offer."""
    chosen, cpus, mem = [], offer.cpus, offer.mem
    for task in pending:
        if task.cpus <= cpus + 1e-9 and task.mem <= mem:
            chosen.append(task)
            cpus, mem = cpus - task.cpus, mem - task.mem
    return chosen


class Framework:
    """A scheduler of its own (Spark, Marathon, ...): it has tasks and decides which offers to take."""

    def __init__(self, name: str, tasks: list[Task], accept: Callable[[Offer, list[Task]], list[Task]] = first_fit):
        self.name, self.pending, self.accept = name, list(tasks), accept
        self.running: dict[str, str] = {}  # task -> agent
        self.cpus = 0.0
        self.mem = 0


class Master:
    """The Mesos master: keeps the agents' free resources and hands them out as offers."""

    def __init__(self, agents: list[Agent], frameworks: list[Framework]) -> None:
        self.agents, self.frameworks = agents, frameworks
        self.log: list[str] = []
        self._next_offer = 1
        total = (sum(a.cpus for a in agents), sum(a.mem for a in agents))
        self._total = total

    def share(self, fw: Framework) -> float:
        """Dominant share: the larger of the framework's CPU and memory shares of the cluster."""
        return max(fw.cpus / self._total[0], fw.mem / self._total[1])

    def round(self) -> int:
        """Offer every agent's free resources once; returns how many tasks were launched."""
        launched = 0
        for agent in self.agents:
            cpus, mem = agent.free
            declined: set[str] = set()
            while cpus > 0 and mem > 0:
                waiting = [f for f in self.frameworks if f.pending and f.name not in declined]
                if not waiting:
                    break
                fw = min(waiting, key=lambda f: (self.share(f), f.name))  # DRF: smallest dominant share first
                offer = Offer(self._next_offer, agent.name, cpus, mem, tuple(sorted(agent.attributes.items())))
                self._next_offer += 1
                tasks = list(fw.accept(offer, list(fw.pending)))
                need = (sum(t.cpus for t in tasks), sum(t.mem for t in tasks))
                if not tasks or need[0] > cpus + 1e-9 or need[1] > mem or any(t not in fw.pending for t in tasks):
                    why = "" if not tasks else " (it asked for more than offered: refused)"
                    self.log.append(f"offer {offer.id}: {agent.name} {cpus:g} cpu {mem} MiB -> {fw.name}: "
                                    f"declined{why}")
                    declined.add(fw.name)
                    continue
                for t in tasks:
                    fw.pending.remove(t)
                    fw.running[t.name] = agent.name
                agent.used_cpus += need[0]
                agent.used_mem += need[1]
                fw.cpus += need[0]
                fw.mem += need[1]
                launched += len(tasks)
                self.log.append(f"offer {offer.id}: {agent.name} {cpus:g} cpu {mem} MiB -> {fw.name}: "
                                f"accepted, launched {', '.join(t.name for t in tasks)}")
                cpus, mem = agent.free
        return launched

    def run(self, rounds: int = 10) -> "Master":
        """Offer rounds until nothing more can be launched (or `rounds` are done)."""
        for _ in range(rounds):
            if not self.round():
                break
        return self

    def placements(self) -> Table:
        rows = [(fw.name, task, agent) for fw in self.frameworks for task, agent in sorted(fw.running.items())]
        rows += [(fw.name, t.name, "<waiting>") for fw in self.frameworks for t in fw.pending]
        return Table(("FRAMEWORK", "TASK", "AGENT"), rows)

    def summary(self) -> Table:
        rows = [(fw.name, str(len(fw.running)), str(len(fw.pending)), f"{self.share(fw):.0%}")
                for fw in self.frameworks]
        return Table(("FRAMEWORK", "RUNNING", "WAITING", "DOMINANT SHARE"), rows)


def tasks(prefix: str, count: int, cpus: float, mem: int) -> list[Task]:
    return [Task(f"{prefix}-{i}", cpus, mem) for i in range(1, count + 1)]


def example(analytics_accept: Callable = first_fit) -> Master:
    """The lesson's cluster: three agents, a web framework and an analytics framework."""
    agents = [Agent("edge-1", 4, 8192, {"zone": "edge"}), Agent("agent-a", 4, 8192, {"zone": "core"}),
              Agent("agent-b", 4, 8192, {"zone": "core"})]
    frameworks = [Framework("web", tasks("web", 4, 0.5, 512)),
                  Framework("analytics", tasks("job", 6, 1, 2048), analytics_accept)]
    return Master(agents, frameworks)
