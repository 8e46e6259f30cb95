"""A ServiceSpec as a client wrote it, read and checked whole before anything is made:
Go's type errors for a wrong type, swarmkit's and moby's words for a wrong value, and a
plain refusal (501) for what the simulator does not run yet.

    wanted = read_spec(body)            # EngineError, or everything the simulator needs
    wanted.replicas, wanted.image, wanted.ports
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from .... import validate
from ....errors import InvalidInput
from ...base import Probe
from . import placement
from .common import EngineError, Reader, bad, rpc

FAILURE_ACTIONS = ("", "pause", "continue", "rollback")
ORDERS = ("", "stop-first", "start-first")
MiB = 1024 * 1024
MODES = {"Global": "global", "ReplicatedJob": "replicated-job", "GlobalJob": "global-job"}


def not_simulated(what: str, instead: str = "") -> EngineError:
    """moby's errdefs.NotImplemented (501): the engine has it, labkit's simulator does not yet."""
    return EngineError(501, f"{what} is not simulated yet by labkit's simulated swarm" + (f": {instead}" if instead
                                                                                          else ""))


@dataclass(frozen=True, kw_only=True)
class Wanted:
    """What a checked spec asks the simulator for."""
    name: str
    image: str  # as written, with a digest if the CLI pinned one
    replicas: int
    env: dict[str, str] = field(default_factory=dict)
    ports: tuple[tuple[int, int], ...] = ()  # (published, target); published 0: the engine picks one
    labels: dict[str, str] = field(default_factory=dict)
    update: dict = field(default_factory=dict)  # the UpdateConfig as written
    network: str | None = None
    cpu: int = 0  # millicores reserved
    memory: int = 0  # MiB reserved
    rollback: dict = field(default_factory=dict)  # the RollbackConfig as written
    probe: Probe | None = None  # the ContainerSpec's Healthcheck (None: the image's own, none here)
    force: int = 0  # TaskTemplate.ForceUpdate: a new value replaces every task
    constraints: tuple[str, ...] = ()  # TaskTemplate.Placement.Constraints (placement.py reads them)
    max_per_node: int = 0  # TaskTemplate.Placement.MaxReplicas (--replicas-max-per-node)
    mode: str = "replicated"  # or "global": one task on every node that may run it (modes.py)

    @property
    def plain_image(self) -> str:
        """The image without the digest the CLI pinned (the simulator's catalog is by tag)."""
        return plain(self.image)


def plain(image: str) -> str:
    return image.split("@", 1)[0]


def read_spec(body: object) -> Wanted:
    spec = Reader(body, "ServiceSpec")
    name = spec.text("Name")
    labels = spec.labels("Labels")
    template = spec.obj("TaskTemplate")
    container = template.obj("ContainerSpec")
    image = container.text("Image")
    env_list = container.texts("Env")
    container.texts("Command"), container.texts("Args"), container.labels("Labels")
    resources = template.obj("Resources")
    reservations, limits = resources.obj("Reservations"), resources.obj("Limits")
    nano_cpus, memory = reservations.whole("NanoCPUs", signed=True), reservations.whole("MemoryBytes", signed=True)
    limits.whole("NanoCPUs", signed=True), limits.whole("MemoryBytes", signed=True)
    where = template.obj("Placement")
    constraints, preferences = where.texts("Constraints"), where.items("Preferences", "PlacementPreference")
    max_per_node = where.whole("MaxReplicas")
    where.items("Platforms", "Platform")
    force = template.whole("ForceUpdate")
    probe = read_health(container.obj("Healthcheck"))
    networks = [n.text("Target") for n in template.items("Networks", "NetworkAttachmentConfig")]
    networks += [n.text("Target") for n in spec.items("Networks", "NetworkAttachmentConfig")]
    mode = spec.obj("Mode")
    replicated = mode.obj("Replicated")
    replicas = replicated.whole("Replicas", 1)
    update = read_update(spec.obj("UpdateConfig"))
    rollback = read_update(spec.obj("RollbackConfig"))
    endpoint = spec.obj("EndpointSpec")
    endpoint_mode = endpoint.text("Mode", "vip")
    ports = [(p.whole("PublishedPort", bits=32), p.whole("TargetPort", bits=32), p.text("Protocol", "tcp"),
              p.text("PublishMode", "ingress")) for p in endpoint.items("Ports", "PortConfig")]

    # -- values, in the order swarmkit's controlapi checks them --------------------------------------
    if name:
        try:
            validate.name(name, "service name", "swarm")
        except InvalidInput as error:
            raise bad(error.message) from None
    if sum(mode.has(k) for k in ("Replicated", "Global", "ReplicatedJob", "GlobalJob")) > 1:
        raise bad(rpc("InvalidArgument", "ServiceSpec: only one mode may be specified"))
    if not image:
        raise bad(rpc("InvalidArgument", "ContainerSpec: image reference must be provided"))
    try:
        validate.image(plain(image))
    except InvalidInput:
        raise bad(rpc("InvalidArgument", f"ContainerSpec: {image!r} is not a valid repository/tag".replace(
            "'", '"'))) from None
    if nano_cpus < 0 or memory < 0:
        raise bad(rpc("InvalidArgument", "TaskSpec: resources cannot be negative"))
    if endpoint_mode not in ("vip", "dnsrr"):
        raise bad(f"invalid endpoint mode: {endpoint_mode}")
    published = [p[0] for p in ports if p[0]]
    if len(published) != len(set(published)):
        raise bad(rpc("InvalidArgument", "EndpointSpec: duplicate published ports provided"))
    for _, target, protocol, publish_mode in ports:
        if protocol not in ("tcp", "udp", "sctp"):
            raise bad(f"invalid protocol: {protocol}")
        if publish_mode not in ("ingress", "host"):
            raise bad(f"invalid publish mode: {publish_mode}")
        if not 0 < target < 65536:
            raise bad(rpc("InvalidArgument", "EndpointSpec: target port must be between 1 and 65535"))
    for port in published:
        if port > 65535:
            raise bad(rpc("InvalidArgument", "EndpointSpec: published port must be between 1 and 65535"))
    # -- what the simulator does not run (yet) ---------------------------------------------------------
    for other in ("ReplicatedJob", "GlobalJob"):
        if mode.has(other):
            raise not_simulated(f"mode {MODES[other]}", "it runs replicated and global services")

    placement.parse(constraints, "10.10.0")  # swarmkit's validatePlacement (the words of a wrong one)
    if preferences:
        raise not_simulated("a placement preference (--placement-pref)",
                            "its scheduler spreads tasks over the nodes; constraints (--constraint) are simulated")
    if any(p[3] == "host" for p in ports):
        raise not_simulated("publishing in host mode", "publish through the routing mesh (-p 8080:80)")
    if endpoint_mode == "dnsrr" and ports:
        raise bad(rpc("InvalidArgument",
                      "EndpointSpec: port published with ingress mode can't be used with dnsrr mode"))
    try:
        validate.replicas(replicas)
    except InvalidInput as error:
        raise bad(error.message) from None
    env = {}
    for item in env_list:
        key, eq, value = item.partition("=")
        if eq:
            env[key] = value
    return Wanted(name=name, image=image, replicas=replicas, env=env,
                  ports=tuple((p[0], p[1]) for p in ports), labels=labels, update=update,
                  network=next((n for n in networks if n), None), cpu=math.ceil(nano_cpus / 1_000_000),
                  memory=math.ceil(memory / MiB), rollback=rollback, probe=probe, force=force,
                  constraints=tuple(constraints), max_per_node=max_per_node,
                  mode="global" if mode.has("Global") else "replicated")


def read_health(check: Reader) -> Probe | None:
    """A HealthConfig as the simulator's healthcheck (base.Probe): checked every Interval (Docker's
    default 30 s), first after StartPeriod; its test is kept as written. ["NONE"]: none."""
    test = check.texts("Test")
    interval, timeout = check.whole("Interval", signed=True), check.whole("Timeout", signed=True)
    start, retries = check.whole("StartPeriod", signed=True), check.whole("Retries", signed=True)
    for key, value in (("Interval", interval), ("Timeout", timeout), ("StartPeriod", start)):
        if value and value < 1_000_000:  # swarmkit controlapi/service.go validateHealthCheck: at least 1ms
            raise bad(rpc("InvalidArgument", f"ContainerSpec: {key} in HealthConfig cannot be less than 1ms"))
    if retries < 0:
        raise bad(rpc("InvalidArgument", "ContainerSpec: Retries in HealthConfig cannot be negative"))
    if not test or test == ["NONE"]:
        return None
    return Probe(period=(interval or 30 * 1_000_000_000) / 1e9, initial_delay=start / 1e9, given=json.dumps(test))


def read_update(config: Reader) -> dict:
    """An UpdateConfig (or RollbackConfig), checked as moby's convert and swarmkit's validateUpdate do."""
    found = {"Parallelism": config.whole("Parallelism", 1), "Delay": config.whole("Delay", signed=True),
             "FailureAction": config.text("FailureAction"), "Monitor": config.whole("Monitor", signed=True),
             "MaxFailureRatio": config.number("MaxFailureRatio"), "Order": config.text("Order")}
    if found["FailureAction"] not in FAILURE_ACTIONS:
        raise bad(f"unrecognized update failure action {found['FailureAction']}")
    if found["Order"] not in ORDERS:
        raise bad(f"unrecognized update order {found['Order']}")
    if found["Delay"] < 0:
        raise bad(rpc("InvalidArgument", "TaskSpec: update-delay cannot be negative"))
    if found["Monitor"] < 0:
        raise bad(rpc("InvalidArgument", "TaskSpec: update-monitor cannot be negative"))
    if not 0 <= found["MaxFailureRatio"] <= 1:
        raise bad(rpc("InvalidArgument", "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1"))
    return {k: v for k, v in found.items() if config.has(k)}


CONVERTED = (("TaskTemplate", "Runtime"), ("TaskTemplate", "ContainerSpec", "Isolation"))  # see as_served


def as_served(template: dict) -> dict:
    """A task template as moby serves every one it reads back: its runtime (`container`) and the
    container's isolation (`default`) written in (daemon/cluster/convert/service.go serviceSpecFromGRPC,
    task.go: IsolationFromGRPC, RuntimeContainer); a client then sends them back with an update."""
    template.setdefault("Runtime", "container")
    if isinstance(template.get("ContainerSpec"), dict):
        template["ContainerSpec"].setdefault("Isolation", "default")
    return template
