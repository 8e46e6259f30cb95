"""What the StatefulSet and DaemonSet controllers share: ControllerRevisions and pods made from a template.

Both controllers keep their history as ControllerRevisions (pkg/controller/history/controller_history.go),
one per pod template they ran: its `data` the patch that puts the template back
(`{"spec": {"template": {..., "$patch": "replace"}}}`, getPatch in pkg/controller/statefulset/
stateful_set_utils.go and pkg/controller/daemon/update.go), its labels the template's and
`controller-revision-hash`, its annotations the owner's, owned by it (controller: true), numbered
1, 2, ... A template seen before takes its old revision again with the next number (a rollback
makes the old revision the newest, history.UpdateControllerRevision), and revisions beyond
revisionHistoryLimit that no pod runs are deleted (truncateHistory). They are kept as any
ControllerRevision written through the API (kube/kinds/controllerrevisions.py, record
"stored/apps/controllerrevisions"), so `kubectl rollout history` and `rollout undo` read them.

The hash is FNV-1 32 of the template as JSON, printed in decimal and safe-encoded as
controller.ComputeHash / history.HashControllerRevision print theirs (the bytes hashed differ
from Go's encoding, so the hash does too; its shape is the same).
"""
from __future__ import annotations

import copy
import json
import math

from ..base import Probe
from .controllers import delete_pod
from .kube.kinds.stored import Record, record_kind
from .kube.resources import key as make_key, split, uid as make_uid
from .objects import SAFE_ALPHABET, Pod, Template

RECORD = record_kind("apps", "controllerrevisions")
HASH_LABEL = "controller-revision-hash"  # apps.ControllerRevisionHashLabelKey / DefaultDaemonSetUniqueLabelKey


def fnv1_hash(text: str) -> str:
    """hash/fnv New32 (FNV-1: multiply, then xor), safe-encoded as rand.SafeEncodeString prints it."""
    number = 0x811C9DC5
    for byte in text.encode():
        number = ((number * 0x01000193) & 0xFFFFFFFF) ^ byte
    return "".join(SAFE_ALPHABET[ord(digit) % len(SAFE_ALPHABET)] for digit in str(number))


def owner_ref(kind: str, key: str, uid: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": kind, "name": split(key)[1], "uid": uid, "controller": True,
            "blockOwnerDeletion": True}


class History:
    """The ControllerRevisions of one kind of owner ("StatefulSet" or "DaemonSet")."""

    def __init__(self, api, kind: str) -> None:
        self.api, self.kind = api, kind

    def owned(self, key: str, uid: str) -> list[Record]:
        """The revisions `key` (of uid `uid`) owns, oldest revision first."""
        namespace = split(key)[0]
        found = [r for k, r in self.api.items(RECORD).items() if split(k)[0] == namespace
                 and any(o.get("uid") == uid and o.get("controller") for o in
                         (r.body.get("metadata") or {}).get("ownerReferences") or [])]
        return sorted(found, key=lambda r: r.body.get("revision", 0))

    def current(self, key: str, uid: str, body: dict) -> Record:
        """The revision of the owner's template as it is now, made (or renumbered) if need be."""
        spec = body.get("spec") or {}
        template = copy.deepcopy(spec.get("template") or {})
        data = {"spec": {"template": {**template, "$patch": "replace"}}}
        revisions = self.owned(key, uid)
        newest = max((r.body.get("revision", 0) for r in revisions), default=0)
        same = next((r for r in revisions if r.body.get("data") == data), None)
        if same is not None:
            if same.body.get("revision", 0) < newest:  # a rollback: the old template is the newest revision
                same.body["revision"] = newest + 1
                self.api.write(RECORD, same)
            return same
        text, collisions = json.dumps(template, sort_keys=True), 0
        hashed = fnv1_hash(text)
        while make_key(split(key)[0], f"{split(key)[1]}-{hashed}") in self.api.items(RECORD):
            collisions += 1  # another owner's revision has the name (a set and a daemon set of one name)
            hashed = fnv1_hash(text + str(collisions))  # HashControllerRevision's probe: the collision count
        name = f"{split(key)[1]}-{hashed}"
        labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: hashed}
        meta = {"name": name, "labels": labels, "ownerReferences": [owner_ref(self.kind, key, uid)]}
        annotations = (body.get("metadata") or {}).get("annotations")
        if annotations:
            meta["annotations"] = dict(annotations)
        made = Record(make_key(split(key)[0], name), {"metadata": meta, "data": data, "revision": newest + 1},
                      self.api.clock.now)
        self.api.write(RECORD, made)
        return made

    def trim(self, key: str, uid: str, limit: int, live: set[str]) -> None:
        """truncateHistory: the oldest revisions no pod runs, beyond `limit` of them."""
        spare = [r for r in self.owned(key, uid)[:-1] if split(r.name)[1] not in live]
        for old in spare[:max(len(spare) - limit, 0)]:
            self.api.remove(RECORD, old.name)

    def collect(self, key: str, uid: str | None) -> None:
        """The garbage collector: the revisions of an owner called `key` that is gone (uid None) or was
        made again (another uid) go."""
        namespace, name = split(key)
        for k, r in list(self.api.items(RECORD).items()):
            refs = (r.body.get("metadata") or {}).get("ownerReferences") or []
            if split(k)[0] == namespace and any(o.get("kind") == self.kind and o.get("name") == name
                                                and o.get("uid") != uid for o in refs):
                self.api.remove(RECORD, k)


def revision_name(record: Record) -> str:
    return split(record.name)[1]


def revision_template(record: Record) -> dict:
    """The pod template a revision keeps."""
    template = dict(((record.body.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def make_pod(api, pod_key: str, owner: str, template: dict, *, labels: dict, spec: dict, revision: int) -> Pod:
    """A pod of `template` (its metadata and spec as the owner keeps them), owned by `owner`
    ("<Kind>:/<uid>/<key>", which kube/kinds/pods.py serves as its ownerReference)."""
    meta = template.get("metadata") or {}
    containers = spec.get("containers") or [{}]
    probe = Probe.from_manifest(containers[0].get("readinessProbe"))
    return Pod(pod_key, "", owner, Template(containers[0].get("image", ""), probe=probe,
                                            annotations=dict(meta.get("annotations") or {}), labels=labels,
                                            spec=spec),
               revision, api.clock.now, spec.get("restartPolicy") or "Always")


def owner_of(pod: Pod, prefix: str) -> tuple[str, str] | None:
    """(uid, key) of the owner of `pod` when its owner string starts with `prefix` ("StatefulSet:/")."""
    if not pod.owner.startswith(prefix):
        return None
    uid, _, key = pod.owner[len(prefix):].partition("/")
    return uid, key


def uid_of(record: Record, kind: str) -> str:
    """The uid the stored object is served with (kube/kinds/stored.py render)."""
    return make_uid(kind, record.name, record.created)


def collect(api, pods: list[Pod], uid: str | None, source: str) -> list[Pod]:
    """The garbage collector: pods of an owner that is gone (or made again: another uid) are deleted;
    the owner's own ones are returned."""
    mine = []
    for pod in pods:
        if pod.owner.split("/")[1] == uid:
            mine.append(pod)
        elif not pod.deleting:
            delete_pod(api, pod, source=source)
    return mine


def available(pod: Pod, min_ready: float, now: float) -> bool:
    """podutil.IsPodAvailable: ready for at least minReadySeconds."""
    return pod.ready and not pod.deleting and (min_ready <= 0 or now - (pod.ready_since or now) >= min_ready)


def scaled(value, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int, or a percentage of `total`."""
    if isinstance(value, str) and value.endswith("%"):
        share = int(value[:-1]) * total / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value or 0)
