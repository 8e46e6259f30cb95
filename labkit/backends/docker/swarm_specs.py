"""What labkit sends to a swarm's managers, built by pure functions.

A service's `docker service create` arguments, its rolling-update config and
its published ports, as docker-py's `services.create` and `service.update`
take them. No client here: `labkit.backends.docker.swarm` sends them.
"""
from __future__ import annotations

from ...errors import InvalidInput
from . import common as du
from ..base import LABEL, DeploySpec, UpdateStrategy

NS = 1_000_000_000
# What `docker service create` sends when no --update-* flag is given.
SWARM_UPDATE_DEFAULTS = {"Parallelism": 1, "Delay": 0, "FailureAction": "pause", "Monitor": 5 * NS,
                         "MaxFailureRatio": 0, "Order": "stop-first"}


def service_arguments(spec: DeploySpec, lab: str, ports: list[dict] | None) -> dict:
    """`docker service create`'s options for `spec` (the image aside), as docker-py's
    `services.create` takes them: `ports` are its published ports (None: it publishes none)."""
    from docker.types import EndpointSpec, ServiceMode
    labels = {k: v for k, v in spec.labels.items() if not k.startswith(LABEL)}
    labels.update(du.labels(lab, "service", **{du.WORKLOAD: spec.name}))
    return dict(name=spec.name, mode=ServiceMode("replicated", replicas=spec.replicas), labels=labels,
                container_labels=du.labels(lab, "task", **{du.WORKLOAD: spec.name}),
                env=[f"{k}={v}" for k, v in spec.env.items()],
                update_config=update_config(SWARM_UPDATE_DEFAULTS, spec.strategy),
                endpoint_spec=None if ports is None else EndpointSpec(ports=ports),
                healthcheck=du.healthcheck(spec.probe), networks=[spec.network] if spec.network else None)


def service_ports(ports: tuple[str, ...], playground: bool) -> tuple[list[dict] | None, int | None]:
    """A new service's published ports (None when it publishes none), each checked as docker -p
    checks it, and the port asked for its port 80 on the playground (None: not asked).

    The playground has no mesh: each task publishes its own port 80 on its node (see
    labkit.traffic_live), so the port asked for is only remembered, to be shown."""
    if not ports:
        return None, None
    entries = publish(ports, "ingress")
    if not playground:
        return entries, None
    web = next((e for e in entries if e["TargetPort"] == 80), None)
    entries = [{"Protocol": e["Protocol"], "TargetPort": e["TargetPort"], "PublishMode": "host"} for e in entries]
    return entries, None if web is None else web.get("PublishedPort", 80)


def update_config(current: dict, strategy: UpdateStrategy) -> dict:
    """Swarm's UpdateConfig: the current one with every option the student gave on top."""
    config = dict(SWARM_UPDATE_DEFAULTS)
    config.update(current or {})
    parallelism, order = strategy.parallelism, strategy.order
    # Kubernetes words on a swarm: surge means start-first, unavailability stop-first.
    if parallelism is None and order is None and strategy.type in (None, "RollingUpdate"):
        surge, unavailable = strategy.max_surge, strategy.max_unavailable
        if isinstance(surge, int) and surge > 0 and unavailable in (0, None):
            parallelism, order = surge, "start-first"
        elif isinstance(unavailable, int) and unavailable > 0 and surge in (0, None):
            parallelism, order = unavailable, "stop-first"
    if strategy.type == "Recreate" and parallelism is None:
        parallelism, order = 0, "stop-first"
    if parallelism is not None:
        config["Parallelism"] = parallelism
    if order is not None:
        config["Order"] = order
    if strategy.delay is not None:
        config["Delay"] = int(strategy.delay * NS)
    if strategy.failure_action is not None:
        config["FailureAction"] = strategy.failure_action
    if strategy.monitor is not None:
        config["Monitor"] = int(strategy.monitor * NS)
    if strategy.max_failure_ratio is not None:
        config["MaxFailureRatio"] = strategy.max_failure_ratio
    return config


def publish(ports: tuple[str, ...], mode: str) -> list[dict]:
    """Swarm's port entries for ports in docker's -p form ("8080:80", "80"), published in `mode`
    ("ingress": the mesh, on every node; "host": each task on its own node)."""
    out = []
    for p in ports:
        published, _, target = str(p).rpartition(":")
        if not target.isdigit() or (published and not published.isdigit()):
            raise InvalidInput(f"port {p!r} is not in docker's -p form", "e.g. '8080:80' or '80'")
        entry = {"Protocol": "tcp", "TargetPort": int(target), "PublishMode": mode}
        if published:
            entry["PublishedPort"] = int(published)
        out.append(entry)
    return out
