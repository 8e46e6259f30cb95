"""ControllerRevisions (pkg/registry/apps/controllerrevision): StatefulSets' and DaemonSets' history, kept as written.

The StatefulSet and DaemonSet controllers write one per pod template they ran
(labkit/backends/sim/revisions.py); `kubectl rollout history` lists them (those the set's selector
matches and it controls) and `kubectl rollout undo` patches the set with one's `data`. A client may
write them too, as on a real cluster. Validation follows ValidateControllerRevision
(pkg/apis/apps/validation/validation.go): the name a DNS-1123 subdomain, data given, revision not
negative, data immutable. The table follows printControllerRevision: Name, Controller, Revision, Age.
"""
from __future__ import annotations

from ..printers import AGE, NAME, age, parts
from . import ALL, REGISTRY, Cause, Column, Kind, Obj
from .apps import nonnegative
from .stored import stored, subdomain_name


def check(name: str, body: Obj, current: Obj | None) -> list[Cause]:
    causes = subdomain_name(name) + nonnegative(body.get("revision"), "revision")
    if body.get("data") is None:
        causes.append(("data", "Required value"))
    if current is not None and body.get("data") != current.get("data"):
        causes.append(("data", "Invalid value: \"\": field is immutable"))
    return causes


def controller(obj: Obj) -> str:
    """formatResourceName of the controller: "statefulset.apps/web", or "<none>"."""
    ref = next((o for o in (obj.get("metadata") or {}).get("ownerReferences") or [] if o.get("controller")), None)
    if ref is None:
        return "<none>"
    group = (ref.get("apiVersion") or "").rpartition("/")[0]
    return f"{ref.get('kind', '').lower()}{'.' + group if group else ''}/{ref.get('name', '')}"


def revision_row(obj: Obj, now: float) -> list:
    meta, _, _ = parts(obj)
    return [meta.get("name", ""), controller(obj), obj.get("revision", 0), age(obj, now)]


CONTROLLER_REVISION = REGISTRY.add(Kind(
    group="apps", version="v1", plural="controllerrevisions", kind="ControllerRevision", namespaced=True,
    verbs=ALL, schema="io.k8s.api.apps.v1.ControllerRevision",
    columns=(NAME, Column("Controller", "string", "Controller of the object"),
             Column("Revision", "string", "Revision indicates the revision of the state represented by Data."),
             AGE),
    row=revision_row, **stored("ControllerRevision", "apps/v1", "controllerrevisions", check=check)))
