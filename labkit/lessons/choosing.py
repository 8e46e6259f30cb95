"""Lesson 07 · Choosing an orchestrator: Swarm and Kubernetes side by side, Mesos as a model."""
from __future__ import annotations

from typing import Callable

from ..errors import NotFound
from ..exercises import Exercise, Lesson, Stuck, last_rollout, praise, ready_replicas, reset_at, workload_problems
from ..exercises import enough_workers  # noqa: F401 - the notebook calls lab.enough_workers
from . import mesos

TITLE = "Choosing an orchestrator"


def heal_after_node_failure(cluster, node: str = "node-2", replicas: int = 6) -> float:
    """The scenario for both flavors: `web` with `replicas` copies, `node` fails; seconds until all serve again."""
    cluster.deploy("web", image="web-server:1", replicas=replicas)
    cluster.wait()
    cluster.fail_node(node)
    start = cluster.now()
    cluster.wait(timeout=900,
                 until=lambda s: len([r for r in ready_replicas(s, "web") if r.node != node]) >= replicas)
    return round(cluster.now() - start, 1)


class SideBySide:
    """Static pictures of several clusters next to each other (deterministic HTML)."""

    def __init__(self, *clusters) -> None:
        self.clusters = clusters

    def _repr_html_(self) -> str:
        from ..views.static import cluster_html
        cells = "".join(f'<div style="flex:1;min-width:280px"><b>{c.flavor}</b>{cluster_html(c.state())}</div>'
                        for c in self.clusters)
        return f'<div style="display:flex;gap:16px;flex-wrap:wrap">{cells}</div>'

    def __repr__(self) -> str:
        return "\n".join(repr(c) for c in self.clusters)


def side_by_side(*clusters) -> SideBySide:
    return SideBySide(*clusters)


@praise("Defaults, not limits: Swarm replaces one task at a time unless you say otherwise.")
def check_race(kube, swarm) -> list[str]:
    problems = []
    for cluster in (kube, swarm):
        found = workload_problems(cluster.state(), "web", 6, "web-server:2")
        problems += [f"{cluster.flavor}: {p}" for p in found]
    if problems:
        return problems
    s = last_rollout(swarm, "web", reset_at(swarm, "07.race"))
    if s.seconds > 12:
        problems.append(f"Swarm's last update took {s.seconds:g} s: make it take 12 s or less")
    if s.fewest_available < 4:
        problems.append(f"during Swarm's last update only {s.fewest_available} of 6 tasks were available: "
                        "keep at least 4")
    if problems:  # web runs web-server:2 already: updating it to that image again replaces no task
        problems = [Stuck(p) for p in problems]
    return problems


def reset_race(kube, swarm) -> str:
    """07.race starts with `web` on web-server:1, 6 replicas, on both clusters."""
    done = []
    for cluster in (kube, swarm):
        if cluster.state().workload("web") is None:
            raise NotFound(f"{cluster.flavor} has no workload web", "run the lesson's first cells: they make it")
        web = cluster.workload("web")
        if web.status().image != "web-server:1":
            web.update("web-server:1")
            done.append(f"web back on web-server:1 on {cluster.flavor}")
        if web.status().desired != 6:
            web.scale(6)
            done.append(f"web back to 6 replicas on {cluster.flavor}")
        cluster.wait()
    return ", ".join(done) if done else "web runs web-server:1 on both: nothing to undo"


@praise("The master only offered; your framework chose. That is two-level scheduling.")
def check_mesos(accept: Callable | None = None) -> list[str]:
    if accept is None:
        return ["pass your function: lab.check('mesos', accept=core_only)"]
    master = mesos.example(accept).run()
    analytics = next(f for f in master.frameworks if f.name == "analytics")
    problems = []
    on_edge = sorted(t for t, agent in analytics.running.items() if agent == "edge-1")
    if on_edge:
        problems.append(f"{', '.join(on_edge)} landed on edge-1, where the data is not")
    if analytics.pending:
        problems.append(f"{len(analytics.pending)} jobs are still waiting for an offer they accept")
    refused = [line for line in master.log if "refused" in line]
    if refused:
        problems.append(f"the master refused {len(refused)} answers that asked for more than the offer held")
    return problems


EXERCISES = [
    Exercise("race", "update `web` to web-server:2 on both `kube` and `swarm`; Swarm's update must take "
                     "12 s or less while at least 4 of its 6 tasks stay available",
             (
                 "Swarm replaces one task at a time by default: more at once is faster, but each task being "
                 "replaced is one not available",
                 "%docker service update --update-parallelism N --image web-server:2 web, with N such that 4 of 6 "
                 "stay up; and kube.workload('web').update('web-server:2')",
                 "kube.workload('web').update('web-server:2'); kube.wait(); %docker service update "
                 "--update-parallelism 2 --image web-server:2 web"), check_race,
             wrong="Swarm's default parallelism of 1 (too slow), or 6 at once (too few available)", reset=reset_race),
    Exercise("mesos", "write `core_only(offer, pending)` for the analytics framework: launch jobs only on agents "
                      "in zone core, and get all 6 running",
             (
                 "an offer says where its agent is: offer.attributes holds ('zone', ...). Accept the offers of "
                 "agents in zone core, decline the others",
                 "if ('zone', 'core') in offer.attributes: return mesos.first_fit(offer, pending); any other "
                 "offer: return []",
                 "def core_only(offer, pending):\n    if ('zone', 'core') in offer.attributes:\n"
                 "        return mesos.first_fit(offer, pending)\n    return []"), check_mesos,
             wrong="first_fit on every offer: jobs land on edge-1"),
]

Lesson("07", title=TITLE, exercises=EXERCISES, helpers=__name__)
