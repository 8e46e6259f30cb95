"""The served kinds: one description of each resource the API serves, and the registry that holds them.

Upstream keeps what one resource is in pkg/registry/<group>/<resource>/: its strategy
(strategy.go: defaults, validation), its store (storage/storage.go, on the generic
registry's Store) and its table convertor (pkg/printers). Here a `Kind` says all of it:
what discovery lists (group, version, plural, verbs, short names, subresources,
categories), the names of its OpenAPI schema and protobuf message, the field selectors it
takes, the warning a deprecated kind sends, its table (columns and a row function), how a
watch hears its changes, and its `Strategy`: how its objects are read from the simulator,
and what create, update (replace) and delete do to it. Each kind's module (kinds/pods.py,
...) declares one and adds it to REGISTRY; discovery, OpenAPI, watch, tables, field
selectors and rest.Storage read REGISTRY and never name a kind.

    WIDGET = Kind(group="example.com", version="v1", plural="widgets", kind="Widget", namespaced=True,
                  verbs=READ, schema="com.example.v1.Widget",
                  strategy=Strategy(objects=lambda store, namespace: [...]))
    REGISTRY.add(WIDGET)

kube/registry.py imports every kind's module, so REGISTRY read through it holds them all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

if TYPE_CHECKING:
    from ..resources import Clockwork
    from ..rest import Storage

Obj = dict[str, Any]
Cause = tuple[str, str]  # (field path, message), the shape status.invalid takes
Row = Callable[[Obj, float], list]  # (object, now in epoch seconds) -> the table row's cells

READ = ("get", "list", "watch")
ALL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Column:
    """One column of a server-side Table (metav1.TableColumnDefinition); priority 1 ones only show with -o wide.

        Column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.")"""
    name: str
    type: str
    description: str
    priority: int = 0

    def definition(self) -> dict:
        return {"name": self.name, "type": self.type, "format": "name" if self.name == "Name" else "",
                "description": self.description, "priority": self.priority}


# A kind without printers of its own gets the API server's default table (k8s.io/apiserver
# pkg/registry/rest/table.go, DefaultTableConvertor): its name and when it was made.
DEFAULT_COLUMNS = (Column("Name", "string", "Name must be unique within a namespace. Is required when creating "
                          "resources, although some resources may allow a client to request the generation of an "
                          "appropriate name automatically."),
                   Column("Created At", "date", "CreationTimestamp is a timestamp representing the server time "
                          "when this object was created."))


def default_row(obj: Obj, now: float) -> list:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), meta.get("creationTimestamp")]


@dataclass(frozen=True, kw_only=True, eq=False)
class Call:
    """One request to a subresource, as its handler is given it."""
    method: str
    namespace: str | None
    name: str
    body: Any = None
    dry_run: bool = False
    patch: str | None = None  # a PATCH's media type, else None
    wanted: Callable[[Obj], Any] = lambda current: None  # what it asks for: a PUT's body, a patch applied to current
    query: Mapping[str, str] = field(default_factory=dict)  # the request's query (pods/log: container, tailLines...)


Handler = Callable[["Storage", Call], tuple[int, "Obj | str"]]


@dataclass(frozen=True, kw_only=True, eq=False)
class Subresource:
    """A subresource (pods/log, deployments/scale, .../status). A request to it goes to its handler for
    the request's method; without one, `status` answers as the object itself and any other is a 404."""
    name: str
    kind: str = ""  # what it reads and writes, as discovery lists it ("": the parent's kind)
    group: str | None = None  # that kind's group and version when it is another group's (Scale: autoscaling/v1)
    version: str | None = None
    verbs: tuple[str, ...] = ("get", "patch", "update")
    schema: str = ""  # the OpenAPI schema a body sent to it is decoded by ("": the parent's)
    handlers: Mapping[str, Handler] = field(default_factory=dict)  # HTTP method -> handler


STATUS = Subresource(name="status")
SCALE = Subresource(name="scale", kind="Scale", group="autoscaling", version="v1",
                    schema="io.k8s.api.autoscaling.v1.Scale")


def no_causes(name: str, body: Obj) -> list[Cause]:
    return []


@dataclass(frozen=True, kw_only=True, eq=False)
class Strategy:
    """What the generic store (rest.Storage) does to one kind, as upstream's strategy and store say it.

    `objects(store, namespace)` lists them (namespace None: all) in the API's order: by namespace, then
    name. `get(store, namespace, name)` reads one, None when there is none (left out: looked up in
    objects). A create is checked by the store first (labels and annotations, the namespace is open, the
    body's kind and apiVersion), then by `validate(name, body)` (422 with its causes), then made by
    `create(store, namespace, body, dry_run)`, which answers the object. `update(store, namespace, name,
    current, wanted, dry_run)` applies a replace or a patch (its own rules first); `delete(store,
    namespace, name, found, dry_run)` answers the object or a Status. A verb left out is refused with
    405, as the simulator does not do it yet. `refresh(store)` runs before the kind is read (the
    namespace controller's last step: nobody sees a namespace otherwise)."""
    objects: Callable[["Storage", str | None], list[Obj]]
    get: Callable[["Storage", str | None, str], Obj | None] | None = None
    validate: Callable[[str, Obj], list[Cause]] = no_causes
    create: Callable[["Storage", str | None, Obj, bool], Obj] | None = None
    update: Callable[["Storage", str | None, str, Obj, Obj, bool], None] | None = None
    delete: Callable[["Storage", str | None, str, Obj, bool], Obj] | None = None
    delete_collection: bool = False  # DELETE on the collection deletes each object that matches
    pod_spec: bool = False  # its spec is a pod spec (a pod); other kinds keep one in spec.template, if any
    refresh: Callable[["Storage"], None] | None = None


def follows_nothing(changed: str, record: Any) -> str | None:
    return None


@dataclass(frozen=True, kw_only=True, eq=False)
class Watch:
    """How a watch hears a kind's changes: every write of the simulator store's `record` kind is one
    of its objects changing; `follows(changed, record)` names the object (the simulator's key) a
    change to another served kind's record changes too (a replica set's status counts its pods,
    without a write of its own), or None; `tombstone(clock, record)` is the last state a watcher is
    sent of one deleted (left out: its kind, apiVersion, name, namespace and resourceVersion);
    `snapshot(storage, record)` renders a copy of a record as it was made, for a kind whose objects
    change at once after (a pod is bound and started in the instant it is made; left out: none kept)."""
    record: str
    follows: Callable[[str, Any], str | None] = follows_nothing
    tombstone: Callable[["Clockwork", Any], Obj] | None = None
    snapshot: Callable[["Storage", Any], Obj] | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Kind:
    """One served resource. `schema` is its OpenAPI schema's name (its list's is that + "List");
    `protobuf` the message a body of it is decoded by ("": JSON only), from protobuf.MESSAGES or the
    kind's own `messages` (the messages only it uses, in protobuf.MESSAGES' form); `schemas` the
    OpenAPI schemas it brings that the served documents lack (metrics.k8s.io's); `fields`
    the field selectors it takes; `deprecated` the warning every request to it gets; `shape` turns
    an object as the store keeps it into this group's shape (events.k8s.io serves the core events so,
    as the API server converts between versions); a table prints the stored object."""
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    schema: str
    strategy: Strategy
    short: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    categories: tuple[str, ...] = ()
    protobuf: str = ""
    fields: tuple[str, ...] = ("metadata.name", "metadata.namespace")
    deprecated: str = ""
    columns: tuple[Column, ...] = DEFAULT_COLUMNS
    row: Row = default_row
    watch: Watch | None = None
    shape: Callable[[Obj], Obj] | None = None
    messages: Mapping[str, Mapping[int, tuple[str, str]]] = field(default_factory=dict)  # protobuf messages of its own
    schemas: Mapping[str, dict] = field(default_factory=dict)  # OpenAPI schemas of its own (an aggregated API's)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def subresource(self, name: str | None) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)


class Registry:
    """The served kinds, in the order discovery lists them.

        REGISTRY.get("apps", "deployments")    # by group and plural
        REGISTRY.find("events")                # by plural alone: the first registered (the core group's)
        REGISTRY.by_kind("Deployment")         # by kind
        REGISTRY.lookup("deploy")              # as kubectl resolves a word: plural, kind or short name
    """

    def __init__(self) -> None:
        self._kinds: list[Kind] = []
        self._by_path: dict[tuple[str, str], Kind] = {}
        self._by_plural: dict[str, Kind] = {}
        self.revision = 0  # moves on every change, so what is derived from the kinds can be cached

    def add(self, kind: Kind) -> Kind:
        if (kind.group, kind.plural) in self._by_path:
            raise ValueError(f"{kind.plural}.{kind.group or 'core'} is served already")
        self._kinds.append(kind)
        self._index()
        return kind

    def remove(self, kind: Kind) -> None:
        self._kinds.remove(kind)
        self._index()

    def _index(self) -> None:
        self._by_path = {(k.group, k.plural): k for k in self._kinds}
        self._by_plural = {}
        for k in self._kinds:
            self._by_plural.setdefault(k.plural, k)
        self.revision += 1

    def __iter__(self) -> Iterator[Kind]:
        return iter(list(self._kinds))

    def __len__(self) -> int:
        return len(self._kinds)

    def get(self, group: str, plural: str) -> Kind | None:
        return self._by_path.get((group, plural))

    def find(self, plural: str) -> Kind | None:
        return self._by_plural.get(plural)

    def by_kind(self, kind: str) -> Kind | None:
        """The first registered kind called `kind` ("Event": the core group's)."""
        return next((k for k in self._kinds if k.kind == kind), None)

    def lookup(self, word: str) -> Kind | None:
        """The kind a word names: its plural, its kind (any case) or one of its short names."""
        word = word.lower()
        return next((k for k in self._kinds if word in (k.plural, k.kind.lower(), *k.short)), None)

    def group_versions(self) -> list[tuple[str, str]]:
        return sorted({(k.group, k.version) for k in self._kinds})


REGISTRY = Registry()
