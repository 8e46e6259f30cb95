"""Swarm's manager: the replicated orchestrator and the update supervisor.

A service has numbered slots; each slot holds one task at a time. A failed
task is never restarted in place: the orchestrator starts a fresh task in
the same slot after the restart delay and keeps a short history.

Updates follow SwarmKit's updater (moby/swarmkit, manager/orchestrator/update/
updater.go): `parallelism` workers each take the next out-of-date slot; with
stop-first the old task is shut down and the new one starts once it has
stopped, with start-first the old one goes once the new one runs; a worker
takes its next slot as soon as its new task runs, after `delay` (default 0).
`monitor` is not a pause between slots: it is the window in which a new
task's failure counts against the update (failures / out-of-date slots >
`max_failure_ratio` pauses, rolls back or continues), and the update is
declared complete one monitor period after its last slot.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .api import APIServer
from .clock import Clock
from .controllers import WorkQueue, delete_pod, suffix
from .objects import Pod, Service, Template

RESTART_DELAY = 5.0  # --restart-delay
TASK_HISTORY = 5  # task-history-limit per slot
POLL = 0.1  # how often the updater looks (SwarmKit's reacts to each task event)
FINISHED = ("failed", "succeeded")  # a task's phases once its container is gone for good


@dataclass
class Worker:
    """One of the updater's `parallelism` workers: the slot it is replacing, if any."""

    slot: int | None = None
    new: str = ""  # the new task ("" while a stop-first worker waits for the old one to stop)
    old: str = ""
    free_at: float = 0.0  # after a slot, --update-delay before the next


@dataclass
class Update:
    target: Template
    config: dict
    rollback: bool = False
    queue: list[int] = field(default_factory=list)  # out-of-date slots no worker has taken yet
    dirty: int = 0  # out-of-date slots when the update began: failures are counted against these
    workers: list[Worker] = field(default_factory=list)
    running_since: dict[str, float | None] = field(default_factory=dict)  # new task -> when it ran
    failed: set[str] = field(default_factory=set)
    done_at: float | None = None  # every slot replaced: complete one monitor period later


class SwarmOrchestrator:
    def __init__(self, api: APIServer, clock: Clock) -> None:
        self.api, self.clock = api, clock
        self.queue = WorkQueue(clock, api, self.sync)
        self.updates: dict[str, Update] = {}
        self.restarting: set[tuple[str, int]] = set()
        api.store.watch("services", lambda ev, svc: self.queue.add(svc.name))
        api.store.watch("pods", self._on_task)

    def _on_task(self, event: str, task: Pod) -> None:
        if event == "DELETED" or task.deleting or task.phase == "failed":
            self.queue.add(task.owner)

    def tasks(self, svc: Service) -> dict[int, Pod | None]:
        """The current task of every slot (None when the slot has none alive)."""
        pods = self.api.items("pods")
        return {slot: pods.get(names[-1]) if names else None for slot, names in svc.slots.items()}

    # -- keeping the count -----------------------------------------------------------
    def sync(self, name: str) -> None:
        svc = self.api.items("services").get(name)
        if svc is None:
            return
        current = self.tasks(svc)
        for slot in range(1, svc.replicas + 1):
            task = current.get(slot)
            if task is None:
                if not self.held(svc, slot):
                    self.new_task(svc, slot)
            elif (task.phase == "failed" or task.deleting and not self.held(svc, slot)) \
                    and (name, slot) not in self.restarting:
                # SwarmKit's restart supervisor (manager/orchestrator/restart/restart.go): a failed task,
                # or one shut down with its node, is replaced after --restart-delay
                self.restarting.add((name, slot))
                self.clock.call_later(RESTART_DELAY, lambda s=slot: self._restart(name, s))
        for slot, task in current.items():
            if slot > svc.replicas and task is not None and not task.deleting:
                delete_pod(self.api, task, source="orchestrator")
        self.trim(svc)

    def _restart(self, name: str, slot: int) -> None:
        self.restarting.discard((name, slot))
        svc = self.api.items("services").get(name)
        if svc is None or slot > svc.replicas or not self.api.reachable:
            return
        task = self.tasks(svc).get(slot)
        if task is None or task.phase == "failed" or task.deleting:
            self.new_task(svc, slot)

    def new_task(self, svc: Service, slot: int, template: Template | None = None) -> Pod:
        template = template or svc.template
        task = Pod(f"{svc.name}.{slot}.{suffix(self.clock, 10)}", svc.name, svc.name, template,
                   svc.version, self.clock.now, restart_policy="Never", slot=slot)
        svc.slots.setdefault(slot, []).append(task.name)
        self.api.write("pods", task)
        self.trim_slot(svc, slot)
        self.api.record("TaskCreated", f"task/{task.name}", f"created task {task.name} for service {svc.name}",
                        source="orchestrator")
        return task

    def trim(self, svc: Service) -> None:
        for slot in list(svc.slots):
            if not self.trim_slot(svc, slot) and slot > svc.replicas:
                del svc.slots[slot]

    def trim_slot(self, svc: Service, slot: int) -> list[str]:
        """Task history: at most TASK_HISTORY tasks in a slot, the current one included."""
        pods = self.api.items("pods")
        names = svc.slots[slot]
        names[:] = [n for n in names if n in pods]
        finished = [n for n in names[:-1] if pods[n].phase in FINISHED]
        for old in finished[:max(len(names) - TASK_HISTORY, 0)]:
            self.api.remove("pods", old)
            names.remove(old)
        return names

    # -- rolling updates ---------------------------------------------------------------
    def start_update(self, svc: Service, rollback: bool = False) -> None:
        config = svc.rollback_config if rollback else svc.update_config
        slots = [slot for slot, task in sorted(self.tasks(svc).items())
                 if slot <= svc.replicas and task is not None and task.template is not svc.template]
        workers = [Worker() for _ in range(config["parallelism"] or max(len(slots), 1))]
        self.updates[svc.name] = Update(svc.template, config, rollback, slots, len(slots), workers)
        svc.update_state = "rollback_started" if rollback else "updating"
        svc.update_message = "rollback in progress" if rollback else "update in progress"
        self.clock.call_later(0.0, lambda: self.step(svc.name))

    def step(self, name: str) -> None:
        svc = self.api.items("services").get(name)
        update = self.updates.get(name)
        if svc is None or update is None or update.target is not svc.template:
            return
        self.clock.call_later(POLL, lambda: self.step(name))
        if svc.update_state in ("paused", "rollback_paused") or not self.api.reachable:
            return
        if self._too_many_failures(update) and update.config["failure_action"] != "continue":
            self._failed(svc, update)
            return
        for worker in update.workers:
            self._work(svc, update, worker)
        if update.done_at is None and not update.queue and all(w.slot is None for w in update.workers):
            update.done_at = self.clock.now
        if update.done_at is not None and self.clock.now - update.done_at >= update.config["monitor"]:
            self._finish(svc, update)

    def _work(self, svc: Service, update: Update, worker: Worker) -> None:
        """One worker's next move: start its slot's new task once the old one stopped (stop-first),
        free itself once the new task runs (start-first: the old one goes then), or take a slot."""
        pods = self.api.items("pods")
        old = pods.get(worker.old)
        if worker.slot is not None and not worker.new:
            if old is not None and old.phase not in FINISHED:
                return  # stop-first: the old task is still stopping
            self._start_new(svc, update, worker)
        if worker.slot is not None:
            new = pods.get(worker.new)
            if new is not None and new.phase == "running":
                update.running_since[worker.new] = self.clock.now
                if old is not None and not old.deleting:  # start-first
                    delete_pod(self.api, old, source="orchestrator")
            elif new is not None and new.phase not in FINISHED:
                return  # still starting
            worker.slot, worker.free_at = None, self.clock.now + update.config["delay"]
        if update.queue and self.clock.now >= worker.free_at:
            self._take(svc, update, worker, update.queue.pop(0))

    def _take(self, svc: Service, update: Update, worker: Worker, slot: int) -> None:
        old = self.tasks(svc).get(slot)
        worker.slot, worker.old, worker.new = slot, old.name if old else "", ""
        if update.config["order"] == "stop-first" and old is not None:
            delete_pod(self.api, old, source="orchestrator")
            return  # the new task starts once the old one has stopped
        self._start_new(svc, update, worker)

    def _start_new(self, svc: Service, update: Update, worker: Worker) -> None:
        worker.new = self.new_task(svc, worker.slot, update.target).name
        update.running_since[worker.new] = None  # from now on its failure counts against the update

    def held(self, svc: Service, slot: int) -> bool:
        """Whether the updater is emptying `slot` itself (stop-first): the orchestrator must not
        fill it meanwhile."""
        update = self.updates.get(svc.name)
        return update is not None and any(w.slot == slot and not w.new for w in update.workers)

    def _too_many_failures(self, update: Update) -> bool:
        """A new task that failed before running, or within `monitor` of running, counts."""
        pods = self.api.items("pods")
        for name, since in update.running_since.items():
            task = pods.get(name)
            gone = task is None or task.phase in FINISHED
            watched = since is None or self.clock.now - since <= update.config["monitor"]
            if gone and watched and name not in update.failed:
                update.failed.add(name)
                self.api.record("TaskFailed", f"task/{name}", "task failed during update", "Warning",
                                source="orchestrator")
        ratio = len(update.failed) / max(update.dirty, 1)
        return bool(update.failed) and ratio > update.config["max_failure_ratio"]

    def _failed(self, svc: Service, update: Update) -> None:
        action = update.config["failure_action"]
        if action == "rollback" and not update.rollback and svc.previous is not None:
            svc.template, svc.previous = svc.previous, svc.template
            svc.version += 1
            self.api.write("services", svc)
            self.api.record("UpdateRollback", f"service/{svc.name}", "update failed: rolling back", "Warning",
                            source="orchestrator")
            self.start_update(svc, rollback=True)
            return
        svc.update_state = "rollback_paused" if update.rollback else "paused"
        svc.update_message = "update paused due to failure or early termination of a task"
        self.api.write("services", svc)
        self.api.record("UpdatePaused", f"service/{svc.name}", svc.update_message, "Warning", source="orchestrator")

    def _finish(self, svc: Service, update: Update) -> None:
        del self.updates[svc.name]
        svc.update_state = "rollback_completed" if update.rollback else "completed"
        svc.update_message = "rollback completed" if update.rollback else "update completed"
        self.api.write("services", svc)
        self.api.record("UpdateCompleted", f"service/{svc.name}", svc.update_message, source="orchestrator")
