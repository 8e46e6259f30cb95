"""Swarm's manager: the replicated orchestrator and the update supervisor.

A service has numbered slots; each slot holds one task at a time. A failed
task is never restarted in place: the orchestrator starts a fresh task in
the same slot after the restart delay and keeps a short history. Updates
walk the slots `parallelism` at a time, watch each new task for `monitor`
seconds, wait `delay` between batches, and on failure pause, roll back or
continue, as `docker service update` does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .api import APIServer
from .clock import Clock
from .controllers import WorkQueue, delete_pod, suffix
from .objects import Pod, Service, Template

RESTART_DELAY = 5.0  # --restart-delay
TASK_HISTORY = 5  # task-history-limit per slot
POLL = 0.5


@dataclass
class Update:
    target: Template
    config: dict
    rollback: bool = False
    batch: list[tuple[int, str, str]] = field(default_factory=list)  # (slot, new task, old task)
    failures: int = 0
    started: int = 0
    next_batch: float = 0.0


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
            if task is None or task.deleting:
                self.new_task(svc, slot)
            elif task.phase == "failed" and (name, slot) not in self.restarting:
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
        finished = [n for n in names[:-1] if pods[n].phase in ("failed", "succeeded")]
        for old in finished[:max(len(names) - TASK_HISTORY, 0)]:
            self.api.remove("pods", old)
            names.remove(old)
        return names

    # -- rolling updates ---------------------------------------------------------------
    def start_update(self, svc: Service, rollback: bool = False) -> None:
        config = svc.rollback_config if rollback else svc.update_config
        self.updates[svc.name] = Update(svc.template, config, rollback)
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
        if not self._batch_done(svc, update):
            return
        if update.started and update.failures / update.started > update.config["max_failure_ratio"]:
            self._failed(svc, update)
            return
        stale = [slot for slot, task in sorted(self.tasks(svc).items())
                 if slot <= svc.replicas and task is not None and task.template is not update.target]
        if not stale:
            self._finish(svc, update)
        elif self.clock.now >= update.next_batch:
            size = update.config["parallelism"] or len(stale)
            for slot in stale[:size]:
                self._replace(svc, update, slot)

    def _replace(self, svc: Service, update: Update, slot: int) -> None:
        old = self.tasks(svc)[slot]
        if update.config["order"] == "stop-first":
            delete_pod(self.api, old, source="orchestrator")
        new = self.new_task(svc, slot, update.target)
        update.batch.append((slot, new.name, old.name))
        update.started += 1

    def _batch_done(self, svc: Service, update: Update) -> bool:
        pods = self.api.items("pods")
        monitor = update.config["monitor"]
        still = []
        for slot, new_name, old_name in update.batch:
            new = pods.get(new_name)
            if new is None or new.phase == "failed":
                update.failures += 1
                self.api.record("TaskFailed", f"task/{new_name}", "task failed during update", "Warning",
                                source="orchestrator")
            elif new.phase == "running" and self.clock.now - (new.ready_since or 0) >= monitor:
                old = pods.get(old_name)
                if old is not None and not old.deleting:  # start-first: the old one goes now
                    delete_pod(self.api, old, source="orchestrator")
            else:
                still.append((slot, new_name, old_name))
        if update.batch and not still:
            update.next_batch = self.clock.now + update.config["delay"]
        update.batch = still
        return not still

    def _failed(self, svc: Service, update: Update) -> None:
        action = update.config["failure_action"]
        update.failures = update.started = 0
        if action == "continue":
            return
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
