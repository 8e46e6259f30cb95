"""What every served kind's JSON shares: names, uids, timestamps, object meta, pod templates.

The simulator names a namespaced object `namespace/name` outside "default" (`key`); each
kind's module (kinds/) renders its records with `meta`, as a real API server of `VERSION`
would return them, with the fields kubectl's printers, `describe` and the official client
look at. Names, labels and owner references follow the real controllers: a Deployment `web`
owns ReplicaSet `web-<pod-template-hash>`, which owns its pods, labelled `app=web` (kubectl
create deployment's selector) and `pod-template-hash`.
"""
from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timezone

from ...base import Probe
from ..objects import CONTAINER_DEFAULTS, POD_DEFAULTS, Deployment, NodeObj
from ..versions import KUBERNETES as VERSION  # the release whose API, words and defaults it follows

NAMESPACE = "default"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def key(namespace: str, name: str) -> str:
    """The simulator's name for a namespaced object: the name itself in "default", else
    "namespace/name" (a "/" no valid name holds), so the simulator's controllers, which
    relate objects by name, keep each namespace's objects apart without knowing of them."""
    return name if namespace == NAMESPACE else f"{namespace}/{name}"


def split(key_: str) -> tuple[str, str]:
    """(namespace, name) of a simulator name made by `key`."""
    namespace_, _, name = key_.rpartition("/")
    return namespace_ or NAMESPACE, name


def short(key_: str) -> str:
    return split(key_)[1]


class Clockwork:
    """Turns the simulator's virtual seconds into the timestamps the API shows.

    `epoch` is the wall-clock moment of virtual time 0: a served cluster takes the wall
    clock at its start, so kubectl's own client-side ages (describe) are right too."""

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch

    def stamp(self, t: float | None) -> str | None:
        if t is None:
            return None
        when = datetime.fromtimestamp(self.epoch + t, timezone.utc)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def micro(self, t: float) -> str:
        """A MicroTime (a Lease's renewTime, an events.k8s.io eventTime)."""
        return datetime.fromtimestamp(self.epoch + t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def uid(kind: str, name: str, created: float = 0.0) -> str:
    """A stable UUID-shaped id: the same object keeps it, a re-created one gets a new one."""
    digest = hashlib.sha256(f"{kind}/{name}/{created!r}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def meta(kind: str, name: str, rv: int, created: float, clock: Clockwork, namespace: str | None = NAMESPACE,
         labels: dict | None = None, **more) -> dict:
    """`name` is the simulator's (namespace/name outside "default"): a namespaced
    object's namespace comes from it."""
    key_ = name
    if namespace:
        namespace, name = split(key_)
    out = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out.update(uid=uid(kind, key_, created), resourceVersion=str(rv), creationTimestamp=clock.stamp(created))
    if labels:
        out["labels"] = dict(labels)
    out.update({k: v for k, v in more.items() if v is not None})
    return out


def node_ip(n: NodeObj) -> str:
    return f"192.168.49.{n.index + 2}"  # minikube's default network


def container_name(d: Deployment) -> str:
    return d.container or short(d.name)


def template_spec(image: str, name: str, probe: Probe | None = None, manifest: dict | None = None,
                  pre_stop: float = 0.0) -> dict:
    """A pod spec as the API server stores it: what the client wrote (`manifest`; every field kept)
    with the defaults the server adds, the container `name` running `image` (the simulator's, which a
    rollout or rollback changes); without a manifest, the spec the facade's deploy stands for."""
    if manifest is not None:
        return _defaulted(manifest, image, name)
    container = {"name": name, "image": image, **copy.deepcopy(CONTAINER_DEFAULTS)}
    if probe is not None:
        container["readinessProbe"] = probe.manifest()
    if pre_stop:  # the facade's pre_stop=: the sleep action (KEP-3960), as labkit's kubernetes backend writes it
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": round(pre_stop)}}}
    return {"containers": [container], **copy.deepcopy(POD_DEFAULTS)}


def _defaulted(manifest: dict, image: str, name: str) -> dict:
    spec = {**copy.deepcopy(POD_DEFAULTS), **copy.deepcopy(manifest)}
    containers = [{**copy.deepcopy(CONTAINER_DEFAULTS), **c} for c in spec.get("containers") or []]
    main = next((i for i, c in enumerate(containers) if c.get("name") == name), 0)
    if containers:
        containers[main]["image"] = image
    spec["containers"] = containers
    return spec


def template_meta(labels: dict, template) -> dict:
    """A pod template's metadata: its labels (as written, when a client wrote them; `labels` adds
    the replica set's pod-template-hash), and its annotations when it has any."""
    written = {**template.labels, **{k: v for k, v in labels.items() if k == "pod-template-hash"}} \
        if template.labels is not None else labels
    return {"labels": written, **({"annotations": dict(template.annotations)} if template.annotations else {})}


def owner_reference(api_version: str, kind: str, name: str, created: float) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": short(name), "uid": uid(kind, name, created),
            "controller": True, "blockOwnerDeletion": True}
