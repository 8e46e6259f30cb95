"""The simulator's API objects: the resources the API server stores in etcd.

Plain mutable records (with __slots__: a cluster may hold 150,000 pods).
Components change them and hand them back to the API server, which
persists them and tells the watchers.
"""
from __future__ import annotations

import json
import math
import re

from ..base import Probe


class NodeObj:
    __slots__ = ("name", "role", "index", "up", "ready", "schedulable", "availability", "cpu", "memory",
                 "pods_capacity", "cpu_used", "memory_used", "pods", "app_counts", "silent_since",
                 "images", "taints", "resource_version", "labels", "annotations")

    def __init__(self, name: str, role: str, index: int, cpu: int, memory: int, pods_capacity: int) -> None:
        self.name, self.role, self.index = name, role, index
        self.up = True  # the machine and its kubelet/agent are alive
        self.ready = True  # what the control plane believes
        self.schedulable = role != "control-plane"
        self.availability = "active"  # Swarm: active / pause / drain
        self.cpu, self.memory, self.pods_capacity = cpu, memory, pods_capacity
        self.cpu_used = self.memory_used = 0
        self.pods: set[str] = set()
        self.app_counts: dict[str, int] = {}
        self.silent_since: float | None = None
        self.images: set[str] = set()
        self.taints: list[str] = ["node-role.kubernetes.io/control-plane:NoSchedule"] if role == "control-plane" else []
        self.resource_version = 0
        # The node's labels once a client changed them (`kubectl label node`; None: the kubelet's own,
        # kube/resources.py) and its annotations (`kubectl annotate node`).
        self.labels: dict[str, str] | None = None
        self.annotations: dict[str, str] = {}

    def fits(self, pod: "Pod") -> str:
        """Why `pod` cannot go here ('' when it can), in the scheduler's words."""
        if not self.ready:
            return "node(s) were not ready"
        if not self.schedulable:
            return "node(s) were unschedulable" if self.role != "control-plane" else \
                "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
        if self.pods_capacity and len(self.pods) >= self.pods_capacity:
            return "Too many pods"
        if pod.cpu and self.cpu_used + pod.cpu > self.cpu:
            return "Insufficient cpu"
        if pod.memory and self.memory_used + pod.memory > self.memory:
            return "Insufficient memory"
        if pod.template.placement is not None:  # Swarm's constraints and replicas per node (engine/placement.py)
            return pod.template.placement.refuses(self)
        return ""


SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3


def pod_template_hash(text: str) -> str:
    """The shape of Kubernetes' pod-template-hash: controller.ComputeHash takes the FNV-32a hash
    of the template, prints it in decimal and SafeEncodeString maps each digit's byte onto the
    safe alphabet, so a hash reads like 5d59d67564 (only 4-9, b, c, d and f appear)."""
    number = 0x811C9DC5
    for byte in text.encode():
        number = ((number ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(SAFE_ALPHABET[ord(digit) % len(SAFE_ALPHABET)] for digit in str(number))


# What the served API adds to every pod spec and container (kube/resources.py): a spec holding only these, a
# container's name and its image says nothing more than the image.
POD_DEFAULTS = {"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                "schedulerName": "default-scheduler", "securityContext": {}}
CONTAINER_DEFAULTS = {"imagePullPolicy": "IfNotPresent", "resources": {}, "terminationMessagePath":
                      "/dev/termination-log", "terminationMessagePolicy": "File"}


def beyond_image(spec: dict) -> dict:
    """What a pod spec says besides its first container's name, image and readiness probe and the
    API's defaults: {} for `kubectl create deployment`'s spec (so its pods keep the names they always had)."""
    rest = {k: v for k, v in spec.items() if k != "containers" and POD_DEFAULTS.get(k, object()) != v}
    containers = [dict(c) for c in spec.get("containers") or []]
    if containers:
        first = {k: v for k, v in containers[0].items()
                 if k not in ("name", "image", "readinessProbe") and CONTAINER_DEFAULTS.get(k, object()) != v}
        if first or len(containers) > 1:
            rest["containers"] = [first] + containers[1:]
    return rest


_QUANTITY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|)")
_SCALE = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "n": 1e-9, "u": 1e-6,
          "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def quantity(value: object) -> float | None:
    """A resource quantity ("250m", "0.5", "64Mi", "1e3") as a plain number; None when it is none
    (apimachinery's resource.ParseQuantity; the served API has refused malformed ones already)."""
    found = _QUANTITY.fullmatch(str(value).strip()) if isinstance(value, (str, int, float)) else None
    return None if found is None else float(found.group(1)) * _SCALE[found.group(2)]


def _asked(container: dict) -> dict:
    """A container's requests, each defaulted from its limit when only that is given (as the API
    server's defaulting does)."""
    resources = container.get("resources") or {}
    return {**(resources.get("limits") or {}), **(resources.get("requests") or {})}


def requests_of(spec: dict) -> tuple[int, int]:
    """(millicores, MiB) a pod spec asks for: its containers' requests summed, what the scheduler fits."""
    cpu = memory = 0.0
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            asked = _asked(container)
            cpu += (quantity(asked.get("cpu", 0)) or 0) * 1000
            memory += (quantity(asked.get("memory", 0)) or 0) / 2**20
    return math.ceil(cpu - 1e-9), math.ceil(memory - 1e-9)


def qos_class(spec: dict | None, cpu: int = 0, memory: int = 0) -> str:
    """The pod's QoS class (pkg/apis/core/helper/qos): Guaranteed when every container's requests equal
    its limits for both cpu and memory, BestEffort when none asks for anything, else Burstable."""
    if spec is None:
        return "Burstable" if cpu or memory else "BestEffort"
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    if not any((c.get("resources") or {}).get(k) for c in containers for k in ("requests", "limits")):
        return "BestEffort"
    guaranteed = all(
        all(quantity(((c.get("resources") or {}).get("limits") or {}).get(k)) is not None and
            quantity(_asked(c).get(k)) == quantity(((c.get("resources") or {}).get("limits") or {}).get(k))
            for k in ("cpu", "memory")) for c in containers)
    return "Guaranteed" if guaranteed else "Burstable"


class Template:
    """What a pod is made from; a change of template is a new revision."""

    __slots__ = ("image", "env", "ports", "cpu", "memory", "probe", "annotations", "labels", "spec", "placement",
                 "pre_stop", "_hash")

    def __init__(self, image: str, env: dict | None = None, ports: tuple = (), cpu: int = 0, memory: int = 0,
                 probe: Probe | None = None, annotations: dict | None = None, labels: dict | None = None,
                 spec: dict | None = None, placement=None, pre_stop: float = 0.0):
        self._hash: tuple[str, str] | None = None  # (the labels' key, the hash) last computed
        self.image, self.env, self.ports, self.cpu, self.memory = image, dict(env or {}), tuple(ports), cpu, memory
        self.probe = probe  # a readiness probe (Kubernetes) or healthcheck (Swarm, Docker), or None
        # The pod template's annotations (`kubectl rollout restart` sets kubectl.kubernetes.io/restartedAt).
        self.annotations: dict[str, str] = dict(annotations or {})
        # What a client wrote through the served Kubernetes API: the template's labels and its pod spec,
        # kept as written and served back (kube/resources.py); None for what the facade made.
        self.labels = labels
        self.spec = spec
        # Where its replicas may run, or None (anywhere): an object with `refuses(node) -> str` (why
        # not, in the scheduler's words; "" where it may) and a stable repr (engine/placement.py).
        self.placement = placement
        # Seconds the container keeps serving once told to stop, before its SIGTERM (the facade's pre_stop=,
        # Kubernetes' preStop sleep hook: the Service's proxies forget it meanwhile). A written spec's own
        # lifecycle.preStop is read from the spec (node.py pre_stop_seconds).
        self.pre_stop = pre_stop
        if spec is not None:  # what the scheduler fits is what the written spec asks for
            self.cpu, self.memory = requests_of(spec)

    def hash(self, labels: dict | None = None) -> str:
        """The pod-template-hash of this template with these pod labels (a template a client wrote
        keeps its own labels; the facade's take the owner's selector): like upstream's ComputeHash it
        covers the whole template, labels included, so two deployments of one image differ."""
        pod_labels = self.labels if self.labels is not None else (labels or {})
        key = repr(sorted(pod_labels.items()))
        if self._hash and self._hash[0] == key:
            return self._hash[1]
        text = repr((self.image, sorted(self.env.items()), self.ports, self.cpu, self.memory)) + key
        if self.probe is not None:  # (templates without one keep the hashes they always had)
            text += repr(self.probe)
        if self.annotations:  # likewise
            text += repr(sorted(self.annotations.items()))
        if self.placement is not None:  # likewise
            text += repr(self.placement)
        if self.pre_stop:  # likewise
            text += f"pre_stop={self.pre_stop}"
        if self.spec is not None and beyond_image(self.spec):  # a spec that says more than its image: likewise
            text += json.dumps(beyond_image(self.spec), sort_keys=True)
        self._hash = (key, pod_template_hash(text))
        return self._hash[1]

    def copy(self, **changes) -> "Template":
        fields = {k: getattr(self, k) for k in self.__slots__ if k != "_hash"}
        fields.update(changes)
        return Template(**fields)


class Generation:
    """metadata.generation as the API server keeps it: 1 when made, one more at each change of the
    spec, never for a change of status (which is what lets `kubectl rollout status` tell an
    observed spec from a new one)."""

    __slots__ = ()

    def spec_key(self) -> tuple:
        raise NotImplementedError

    def note_generation(self) -> None:
        """Called by the API server on every write of the object."""
        key = self.spec_key()
        if key != self.spec_seen:
            self.generation, self.spec_seen = self.generation + 1, key


class Deployment(Generation):
    __slots__ = ("name", "replicas", "template", "strategy", "paused", "labels", "history_limit",
                 "progress_deadline", "condition", "created", "resource_version",
                 "container", "selector", "annotations", "generation", "spec_seen")

    def __init__(self, name: str, replicas: int, template: Template, strategy, labels: dict, created: float):
        self.name, self.replicas, self.template, self.strategy = name, replicas, template, strategy
        self.paused = False
        self.labels = labels
        self.history_limit = 10  # revisionHistoryLimit
        self.progress_deadline = 600.0  # progressDeadlineSeconds
        # (when it last progressed is the deployment controller's: DeploymentController.last_progress)
        self.condition = "NewReplicaSetAvailable"  # or ReplicaSetUpdated / ProgressDeadlineExceeded
        self.created = created
        self.resource_version = 0
        # As the Kubernetes API shows it: the container's name (kubectl create deployment names it
        # after the image) and the selector, which is also the pods' labels.
        self.container = name
        self.selector: dict[str, str] = {"app": name}
        self.annotations: dict[str, str] = {}  # the user's (kubectl apply keeps its last-applied one here)
        self.generation, self.spec_seen = 0, None

    def pod_hash(self) -> str:
        """The pod-template-hash of this deployment's template: its ReplicaSets' and pods' names."""
        return self.template.hash(self.selector)

    def spec_key(self) -> tuple:
        return (self.replicas, self.pod_hash(), repr(self.strategy), self.paused, self.history_limit,
                self.progress_deadline, repr(self.selector), self.container)


class ReplicaSet(Generation):
    """Its pods and their counts are not here: they are the replica set controller's
    (ReplicaSetController.counts), kept from the pod watch."""

    __slots__ = ("name", "owner", "replicas", "template", "revision", "resource_version", "generation", "spec_seen",
                 "written")

    def __init__(self, name: str, owner: str, replicas: int, template: Template, revision: int):
        self.name, self.owner, self.replicas, self.template, self.revision = name, owner, replicas, template, revision
        self.resource_version = 0
        self.generation, self.spec_seen = 0, None
        # A replica set a client made itself (no deployment owns it): what it wrote of its own metadata and
        # selector, and when it was made (kube/kinds/replicasets.py); None for a deployment's.
        self.written: dict | None = None

    def spec_key(self) -> tuple:
        return self.replicas, self.template.hash()


class Service:
    """A Swarm service: slots of tasks, an update config and the previous spec."""

    __slots__ = ("name", "replicas", "template", "previous", "update_config", "rollback_config",
                 "update_state", "update_message", "version", "slots", "labels", "next_slot",
                 "resource_version")

    def __init__(self, name: str, replicas: int, template: Template, update_config: dict, labels: dict):
        self.name, self.replicas, self.template = name, replicas, template
        self.previous: Template | None = None
        self.update_config = update_config
        self.rollback_config = dict(update_config)
        self.update_state = ""  # "", updating, paused, completed, rollback_started, rollback_paused, rollback_completed
        self.update_message = ""
        self.version = 1
        self.slots: dict[int, list[str]] = {}  # slot -> task names, newest last (task history)
        self.labels = labels
        self.next_slot = 1
        self.resource_version = 0


class KubeService:
    """A Kubernetes Service: a stable address for the ready pods its selector picks.

    `spec` is the API's ServiceSpec (JSON, defaults filled in by the API server)."""

    __slots__ = ("name", "spec", "labels", "annotations", "created", "resource_version")

    def __init__(self, name: str, spec: dict, labels: dict, annotations: dict, created: float) -> None:
        self.name, self.spec, self.labels, self.annotations, self.created = name, spec, labels, annotations, created
        self.resource_version = 0


class KubeNamespace:
    """A Kubernetes Namespace; `terminating` once deleted, until its pods are gone."""

    __slots__ = ("name", "labels", "annotations", "created", "terminating", "resource_version")

    def __init__(self, name: str, labels: dict, annotations: dict, created: float) -> None:
        self.name, self.labels, self.annotations, self.created = name, labels, annotations, created
        self.terminating: float | None = None
        self.resource_version = 0


class Pod:
    """A pod (Kubernetes), a task (Swarm) or a plain container (Docker)."""

    __slots__ = ("name", "app", "owner", "node", "template", "phase", "ready", "ready_since", "restarts",
                 "reason", "deleting", "created", "revision", "slot", "restart_policy", "container_up",
                 "backoff", "generation", "resource_version", "started", "listening", "message", "runs",
                 "serving_until", "reported_up")

    def __init__(self, name: str, app: str, owner: str, template: Template, revision: int, created: float,
                 restart_policy: str = "Always", slot: int = 0) -> None:
        self.name, self.app, self.owner, self.template = name, app, owner, template
        self.node: str | None = None
        self.phase = "pending"
        self.ready = False
        self.ready_since: float | None = None
        self.restarts = 0
        self.reason = ""
        self.deleting = False
        self.created = created
        self.revision = revision
        self.slot = slot
        self.restart_policy = restart_policy  # Always / OnFailure / Never (Kubernetes words)
        self.container_up = False
        self.backoff = 0.0
        self.generation = 0  # bumps on every container start/stop, to drop stale timers
        self.resource_version = 0
        self.started: float | None = None  # when its container last started
        self.listening = False  # whether its program answers on its port yet (catalog.listens_after)
        self.message = ""  # the kubelet's message with a waiting `reason` (ErrImagePull: the registry's words)
        # The container's runs of a public image's program (programs.Run): the previous one and the
        # current (or last) one; () for the course's demo images, which run no program.
        self.runs: tuple = ()
        # Deleted while ready, on Kubernetes: until when the Service's proxies still send it requests (the
        # endpoint's removal takes a moment to reach every node's kube-proxy: controllers.ENDPOINT_LAG).
        self.serving_until: float | None = None
        # Its container ran when its node lost power: what the kubelet last reported, which the API server
        # keeps showing (Running) until the node is back or the pod is evicted (node.py fail/recover).
        self.reported_up = False

    @property
    def image(self) -> str:
        return self.template.image

    @property
    def cpu(self) -> int:
        return self.template.cpu

    @property
    def memory(self) -> int:
        return self.template.memory
