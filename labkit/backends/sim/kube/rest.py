"""The REST storage of the served API: one generic store, each kind's strategy doing what is its own.

Like k8s.io/apiserver's generic registry (pkg/registry/generic/registry/store.go): the store
reads, creates, replaces, patches and deletes any served kind in the same steps (the object
meta's rules, the namespace open for new content, the body's kind, resourceVersion
preconditions, dry runs), and the kind's `Strategy` (kinds/<plural>.py) says what its objects
are and what each verb does to them. Reads render the simulator's records; writes go through
the simulator's backend and API server, the same rules the facade's calls meet, so a
`kubectl scale` and `cluster.workload(...).scale()` are one operation. Errors are
`ApiError`s carrying the real API server's reason, code and message, which kubectl prints as
it would. No step here depends on which kind it is (tests/test_kube_kinds.py checks it).
"""
from __future__ import annotations

from typing import Any, Callable

from . import resources as res
from .kinds import Call, Kind, Obj
from .kinds.common import check_kind, check_object, named
from .namespaces import every as every_namespace
from .patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from .registry import REGISTRY
from .status import ApiError, group_of, invalid, not_found, qualified

# Each patch type applied to (the object, the patch, the object's OpenAPI schema: strategic merge reads its merge keys).
PATCHES = {"application/json-patch+json": lambda obj, patch, schema: json_patch(obj, patch),
           "application/merge-patch+json": lambda obj, patch, schema: merge_patch(obj, patch),
           "application/strategic-merge-patch+json": strategic_merge_patch}


def requested(media_type: str | None, body: Any, decode: Callable[[Any], Any] = lambda obj: obj,
              schema: dict | None = None) -> Callable[[Obj], Any]:
    """What a write asks for, given the object as it is: a PUT's body (media_type None), or the
    PATCH applied to it and decoded as a PUT's body would be (415 for an unknown patch type, 422
    for a patch that cannot be applied).

        wanted = requested("application/merge-patch+json", {"spec": {"replicas": 2}})(current)"""
    def wanted(current: Obj) -> Any:
        if media_type is None:
            return body
        apply = PATCHES.get(media_type)
        if apply is None:
            raise ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                           f'accepted media types include: {", ".join(PATCHES)}')
        try:
            patched = apply(current, body, schema)
        except PatchError as error:
            raise ApiError(422, "Invalid", str(error)) from None
        return decode(patched)
    return wanted


class Storage:
    """The served kinds of one simulated Kubernetes cluster.

    A kind is named by its plural (and its group, where two groups serve one plural: the
    core group's is the default). The simulator names an object outside "default"
    `namespace/name` (resources.key): `key` below is always that name, `name` the one the
    API shows."""

    def __init__(self, backend, clock: res.Clockwork) -> None:
        if backend.flavor != "kubernetes":
            raise ValueError("only the simulator's kubernetes flavor speaks the Kubernetes API")
        self.sim, self.clock = backend, clock
        self.items = backend.api.items
        self._rendered: dict[tuple[str, str], tuple[tuple, dict]] = {}  # (record kind, key) -> (version, JSON)
        self._epoch = clock.epoch
        self.ca_pem = ""  # the served cluster's CA certificate (kube-root-ca.crt holds it), once it has one

    @staticmethod
    def kind(plural: str, group: str | None = None) -> Kind:
        """The served kind `plural` of `group` (None: the first registered of that plural)."""
        found = REGISTRY.find(plural) if group is None else REGISTRY.get(group, plural)
        if found is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return found

    # -- reading -----------------------------------------------------------------------------
    def objects(self, plural: str, namespace: str | None, *, group: str | None = None) -> list[dict]:
        """Every object of a kind (in `namespace`, or all when None), as JSON, in the API's order."""
        kind = self.kind(plural, group)
        if kind.strategy.refresh is not None:
            kind.strategy.refresh(self)
        return kind.strategy.objects(self, namespace)

    def get(self, plural: str, namespace: str | None, name: str, *, group: str | None = None) -> dict:
        """One object, or a 404 NotFound."""
        kind = self.kind(plural, group)
        if kind.strategy.get is None:
            found = named(self.objects(plural, namespace, group=group), name)
        else:
            if kind.strategy.refresh is not None:
                kind.strategy.refresh(self)
            found = kind.strategy.get(self, namespace, name)
        if found is None:
            raise not_found(plural, name)
        return found

    def keys(self, record: str, namespace: str | None) -> list[str]:
        """The simulator's names of one record kind's objects in `namespace` (all when None), in
        the API's order: by namespace, then name."""
        keys = (k for k in self.items(record) if namespace is None or res.split(k)[0] == namespace)
        return sorted(keys, key=res.split)

    def rendered(self, record: str, key: str, version: tuple, render: Callable[["Storage", str], dict]) -> dict:
        """A simulator record as JSON, `render(self, key)` again only once its `version` moved: many
        watchers and lists share one rendering (callers copy before they change one: patches do)."""
        if self.clock.epoch != self._epoch or len(self._rendered) > 4 * (len(self.items(record)) + 1000):
            self._rendered, self._epoch = {}, self.clock.epoch  # timestamps moved, or deleted objects pile up
        found = self._rendered.get((record, key))
        if found is None or found[0] != version:
            found = self._rendered[record, key] = (version, render(self, key))
        return found[1]

    def revision(self) -> int:
        return self.sim.store.revision

    def namespace_open(self, namespace: str) -> None:
        """Refuse to create in a namespace that does not exist or is being deleted."""
        ns = every_namespace(self.sim).get(namespace)
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})
        if ns.terminating is not None:
            raise ApiError(403, "Forbidden", f"unable to create new content in namespace {namespace} because it "
                           "is being terminated", {"name": namespace, "kind": "namespaces"})

    # -- writing -------------------------------------------------------------------------------
    def create(self, plural: str, namespace: str | None, body: Any, dry_run: bool, *,
               group: str | None = None) -> dict:
        kind = self.kind(plural, group)
        check_object(kind, body)
        if kind.strategy.create is None:
            raise ApiError(405, "MethodNotAllowed", f"the simulator does not create {plural} yet")
        if kind.namespaced:
            namespace = namespace or res.NAMESPACE
            self.namespace_open(namespace)
        check_kind(body, kind.kind, kind.group_version)
        name = (body.get("metadata") or {}).get("name") or ""
        causes = kind.strategy.validate(name, body)
        if causes:
            raise invalid(kind.kind, plural, name, causes)
        return kind.strategy.create(self, namespace, body, dry_run)

    def patch(self, plural: str, namespace: str, name: str, kind: str, body: Any, dry_run: bool,
              decode: Callable[[Any], Any] = lambda obj: obj, schema: dict | None = None, *,
              group: str | None = None) -> dict:
        """A patch applied to the object as it is, the result decoded as a PUT's body would be."""
        current = self.get(plural, namespace, name, group=group)
        wanted = requested(kind, body, decode, schema)(current)
        return self.replace(plural, namespace, name, wanted, dry_run, check_version=False, group=group)

    def replace(self, plural: str, namespace: str, name: str, wanted: Any, dry_run: bool,
                check_version: bool = True, *, group: str | None = None) -> dict:
        kind = self.kind(plural, group)
        current = self.get(plural, namespace, name, group=group)
        meta = (wanted or {}).get("metadata") or {}
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match "
                           f"the name on the URL ({name})")
        version = meta.get("resourceVersion")
        if check_version and version and version != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {qualified(plural)} "{name}": the '
                           "object has been modified; please apply your changes to the latest version and try again",
                           {"name": name, "group": group_of(plural), "kind": plural})
        check_object(kind, wanted)
        if kind.strategy.update is None:
            raise ApiError(405, "MethodNotAllowed", f"the simulator does not change {plural} yet")
        kind.strategy.update(self, namespace, name, current, wanted, dry_run)
        return wanted if dry_run else self.get(plural, namespace, name, group=group)

    def delete(self, plural: str, namespace: str, name: str, dry_run: bool, *, group: str | None = None) -> dict:
        """The deleted object or a Status, as the kind's registry answers."""
        kind = self.kind(plural, group)
        found = self.get(plural, namespace, name, group=group)
        if kind.strategy.delete is None:
            if dry_run:
                return found
            raise ApiError(405, "MethodNotAllowed", f"the simulator does not delete {plural} yet")
        return kind.strategy.delete(self, namespace, name, found, dry_run)

    def delete_collection(self, plural: str, namespace: str | None, match, dry_run: bool, *,
                          group: str | None = None) -> dict:
        """DELETE on a collection (`kubectl delete pods --all`, a client's delete_collection):
        each matching object is deleted as a DELETE of it would (a pod gracefully: the
        simulator's kubelets keep their own grace period; a gracePeriodSeconds asked for is not
        honoured)."""
        kind = self.kind(plural, group)
        if not kind.strategy.delete_collection:
            raise ApiError(405, "MethodNotAllowed", f"the simulator does not delete collections of {plural}")
        gone = [o for o in self.objects(plural, namespace, group=group) if match(o)]
        for obj in [] if dry_run else gone:
            self.delete(plural, obj["metadata"]["namespace"], obj["metadata"]["name"], dry_run=False, group=group)
        return {"kind": f"{kind.kind}List", "apiVersion": kind.group_version,
                "metadata": {"resourceVersion": str(self.revision())}, "items": gone}

    def subresource(self, plural: str, name: str, call: Call, *, group: str | None = None) -> tuple[int, Any] | None:
        """A request to a subresource, answered by its handler for the method: (code, JSON or text);
        None when it has none (`status` then answers as the object itself)."""
        sub = self.kind(plural, group).subresource(name)
        handler = sub.handlers.get(call.method) if sub is not None else None
        return handler(self, call) if handler is not None else None
