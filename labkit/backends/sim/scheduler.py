"""The scheduler: picks a node for every pod that has none.

Filter: the node must be Ready, schedulable (not cordoned, not tainted for
workloads) and have room (pods, CPU, memory). Score: spread the replicas
of one workload over the nodes (fewest of its own first, then the least
loaded node), as the default spreading plugins do. A pod that fits
nowhere stays Pending and is tried again when something frees up: never
dropped.

It binds about `rate` pods per second of virtual time, the pace of a real
kube-scheduler, so large scale-ups take visible time. Each workload keeps
a heap of candidate nodes; entries only grow stale upwards while pods are
added, so they are re-checked lazily, and the heap is rebuilt when
something frees capacity.
"""
from __future__ import annotations

import heapq
from collections import Counter, deque

from .api import APIServer
from .clock import Clock
from .objects import NodeObj, Pod

TICK = 0.1


class Scheduler:
    def __init__(self, api: APIServer, clock: Clock, rate: float = 100.0) -> None:
        self.api, self.clock = api, clock
        self.per_tick = max(1, round(rate * TICK))
        self.queue: deque[str] = deque()
        self.unschedulable: dict[str, None] = {}
        self.running = True
        self.ticking = False
        self.generation = 0  # bumps whenever capacity may have been freed
        self.heaps: dict[str, tuple[int, list]] = {}
        api.store.watch("pods", self._on_pod)
        api.store.watch("nodes", lambda ev, node: self.capacity_changed())

    def _on_pod(self, event: str, pod: Pod) -> None:
        if event == "ADDED" and pod.node is None:
            self.queue.append(pod.name)
            self.kick()
        elif event == "DELETED":
            self.unschedulable.pop(pod.name, None)
            if pod.node is not None:
                self.release(pod)
        elif event == "MODIFIED" and pod.reason == "Shutdown" and self.unschedulable:
            self.capacity_changed()  # a Swarm task shut down gave its room back and stays as history (node.py)

    def release(self, pod: Pod) -> None:
        unbind(self.api, pod)
        self.capacity_changed()

    def capacity_changed(self) -> None:
        self.generation += 1
        if self.unschedulable:
            self.queue.extend(self.unschedulable)
            self.unschedulable.clear()
            self.kick()

    def kick(self) -> None:
        if not self.ticking and self.running and self.queue:
            self.ticking = True
            self.clock.call_later(0.0, self.tick)

    def start(self) -> None:
        self.running = True
        self.kick()

    def tick(self) -> None:
        self.ticking = False
        if not self.running:
            return
        if not self.api.reachable:
            self.ticking = True
            self.clock.call_later(1.0, self.tick)
            return
        pods = self.api.items("pods")
        budget = self.per_tick
        while self.queue and budget:
            pod = pods.get(self.queue.popleft())
            if pod is None or pod.node is not None or pod.deleting:
                continue
            budget -= 1
            node = self.pick(pod)
            if node is None:
                self.unschedulable[pod.name] = None
                self.fail(pod)
            else:
                self.bind(pod, node)
        if self.queue:
            self.ticking = True
            self.clock.call_later(TICK, self.tick)

    def pick(self, pod: Pod) -> NodeObj | None:
        nodes = self.api.items("nodes")
        generation, heap = self.heaps.get(pod.app, (-1, []))
        if generation != self.generation:
            heap = [(n.app_counts.get(pod.app, 0), len(n.pods), n.index, n.name)
                    for n in nodes.values() if not n.fits(pod)]
            heapq.heapify(heap)
            self.heaps[pod.app] = (self.generation, heap)
        while heap:
            own, total, index, name = heap[0]
            node = nodes.get(name)
            if node is None or node.fits(pod):
                heapq.heappop(heap)
                continue
            key = (node.app_counts.get(pod.app, 0), len(node.pods))
            if key != (own, total):
                heapq.heapreplace(heap, (*key, index, name))
                continue
            heapq.heapreplace(heap, (own + 1, total + 1, index, name))
            return node
        self.heaps.pop(pod.app, None)
        return None

    def bind(self, pod: Pod, node: NodeObj) -> None:
        where = pod.name if "/" in pod.name else f"default/{pod.name}"  # (the simulator's name: namespace/name)
        self.api.record("Scheduled", self.api.ref(pod.name), f"Successfully assigned {where} to {node.name}",
                        source="scheduler")
        bind(self.api, pod, node)

    def fail(self, pod: Pod) -> None:
        if pod.reason == "Unschedulable":
            return  # said once; it stays Pending until something frees up
        pod.reason = "Unschedulable"
        self.api.write("pods", pod)
        nodes = list(self.api.items("nodes").values())
        why = Counter(n.fits(pod) for n in nodes)
        if self.api.flavor == "swarm":
            message = f"no suitable node ({', '.join(f'{r} on {c} node' + ('s' if c > 1 else '') for r, c in sorted(why.items()))})"
        else:
            message = unschedulable(len(nodes), why)
        self.api.record("FailedScheduling", self.api.ref(pod.name), message, type="Warning", source="scheduler")


# What preemption could do about each reason a node refused a pod: make room by evicting pods of a lower
# priority (none here: every pod has priority 0), or nothing (a taint, a cordon, a node not ready).
MAKES_ROOM = ("Insufficient cpu", "Insufficient memory", "Too many pods")


def unschedulable(total: int, why: Counter) -> str:
    """The scheduler's FitError message (pkg/scheduler/framework/types.go): each "count reason", sorted
    as strings, then what the default preemption plugin found (its PostFilter message)."""
    found = ", ".join(sorted(f"{count} {reason}" for reason, count in why.items()))
    after = Counter("No preemption victims found for incoming pod" if reason in MAKES_ROOM else
                    "Preemption is not helpful for scheduling" for reason, count in why.items() for _ in range(count))
    preemption = ", ".join(sorted(f"{count} {reason}" for reason, count in after.items()))
    # (the real message ends in two periods: the preemption plugin's FitError text keeps its own)
    return f"0/{total} nodes are available: {found}. preemption: 0/{total} nodes are available: {preemption}.."


def bind(api: APIServer, pod: Pod, node: NodeObj) -> None:
    """Put a pod on a node and count its room there (also used for `docker run` on one host)."""
    pod.node = node.name
    node.pods.add(pod.name)
    node.app_counts[pod.app] = node.app_counts.get(pod.app, 0) + 1
    node.cpu_used += pod.cpu
    node.memory_used += pod.memory
    pod.reason = ""
    api.write("pods", pod)


def unbind(api: APIServer, pod: Pod) -> None:
    """Give a removed pod's room on its node back."""
    node = api.items("nodes").get(pod.node)
    if node is not None and pod.name in node.pods:
        node.pods.discard(pod.name)
        node.app_counts[pod.app] -= 1
        node.cpu_used -= pod.cpu
        node.memory_used -= pod.memory
