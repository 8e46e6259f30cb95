"""What each verb does to each resource: the REST storage of the served API.

Reads render the simulator's records (resources.py); writes go through the simulator's
backend and API server, the same rules the facade's calls meet, so a `kubectl scale`
and `cluster.workload(...).scale()` are one operation. Errors are `ApiError`s carrying
the real API server's reason, code and message, which kubectl prints as it would.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable

from ....errors import LabkitError
from ...base import PROBE_ACTIONS, DeploySpec, Probe, UpdateStrategy
from ..controllers import delete_pod
from ..objects import KubeNamespace, Template
from . import discovery, namespaces, validation
from . import resources as res
from . import services
from .patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from .status import GROUP_OF, ApiError, from_labkit, invalid, not_found, qualified

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_LABEL_HELP = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                      "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                      "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_HELP = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
# Each patch type applied to (the object, the patch, the object's OpenAPI schema: strategic merge reads its merge keys).
PATCHES = {"application/json-patch+json": lambda obj, patch, schema: json_patch(obj, patch),
           "application/merge-patch+json": lambda obj, patch, schema: merge_patch(obj, patch),
           "application/strategic-merge-patch+json": strategic_merge_patch}


class Storage:
    """The served resources of one simulated Kubernetes cluster.

    The simulator names an object outside "default" `namespace/name` (resources.key):
    `key` below is always that name, `name` the one the API shows."""

    def __init__(self, backend, clock: res.Clockwork) -> None:
        if backend.flavor != "kubernetes":
            raise ValueError("only the simulator's kubernetes flavor speaks the Kubernetes API")
        self.sim, self.clock = backend, clock
        self.items = backend.api.items
        self._rendered: dict[tuple[str, str], tuple[tuple, dict]] = {}  # (plural, key) -> (version, JSON)
        self._epoch = clock.epoch

    # -- reading -----------------------------------------------------------------------------
    def objects(self, plural: str, namespace: str | None) -> list[dict]:
        """Every object of a kind (in `namespace`, or all when None), as JSON."""
        if plural == "namespaces":
            namespaces.finish(self.sim)
            every = namespaces.every(self.sim)
            return [namespaces.render(every[n], self.clock) for n in sorted(every)]
        if plural == "nodes":
            return [res.node(n, self.clock) for n in self.items("nodes").values()]
        if plural == "componentstatuses":
            return services.component_statuses(self.sim, self.clock)
        if plural in ("daemonsets", "leases"):
            found = services.daemon_sets(self.sim, self.clock) if plural == "daemonsets" else \
                services.leases(self.sim, self.clock)
            return [o for o in found if namespace in (None, o["metadata"]["namespace"])]
        if plural == "services":
            system = [services.api_server_service(self.clock)] + services.system_services(self.clock)
            return [s for s in system if namespace in (None, s["metadata"]["namespace"])] + [
                services.render(self.items(services.KIND)[k], self.clock) for k in self._keys(services.KIND, namespace)]
        if plural == "endpointslices":
            pods = self.objects("pods", namespace)
            return [e for e in (services.endpoint_slice(svc, pods, self.clock)
                                for svc in self.objects("services", namespace)) if e]
        render = {"pods": self.pod, "deployments": self.deployment, "replicasets": self.replicaset}.get(plural)
        system = services.system_pods(self.sim, self.clock) if plural == "pods" and namespace in (
            None, "kube-system") else []
        if render is not None:
            found = [render(key) for key in self._keys(plural, namespace)] + system
            return sorted(found, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"])) if system else found
        if plural == "events":
            uid_of = self._uids()
            events = (res.event(i, *e, clock=self.clock, uid_of=uid_of) for i, e in enumerate(self.sim.api.events))
            return [e for e in events if namespace is None or e["metadata"]["namespace"] == namespace]
        return []

    def _uids(self):
        """uid_of(kind, simulator name) for events, each object rendered at most once."""
        found: dict[tuple[str, str], str | None] = {}
        plurals = {"Pod": "pods", "Deployment": "deployments", "ReplicaSet": "replicasets", "Node": "nodes"}

        def uid_of(kind: str, key: str) -> str | None:
            if (kind, key) not in found:
                plural = plurals[kind]
                if key not in self.items(plural):
                    found[kind, key] = None
                else:
                    namespace, name = (None, key) if plural == "nodes" else res.split(key)
                    found[kind, key] = self.get(plural, namespace, name)["metadata"]["uid"]
            return found[kind, key]
        return uid_of

    def _keys(self, kind: str, namespace: str | None) -> list[str]:
        """The simulator's names of one kind's objects in `namespace` (all when None), in
        the API's order: by namespace, then name."""
        keys = (k for k in self.items(kind) if namespace is None or res.split(k)[0] == namespace)
        return sorted(keys, key=res.split)

    def get(self, plural: str, namespace: str | None, name: str) -> dict:
        key = res.key(namespace or res.NAMESPACE, name)
        if plural in ("namespaces", "nodes", "events", "services", "endpointslices", "componentstatuses", "daemonsets",
                      "leases"):
            found = next((o for o in self.objects(plural, namespace) if o["metadata"]["name"] == name), None)
        elif plural == "pods" and namespace == "kube-system":
            found = next((o for o in self.objects(plural, namespace) if o["metadata"]["name"] == name), None)
        elif namespace is None or key not in self.items(plural):
            found = None
        else:
            found = {"pods": self.pod, "deployments": self.deployment, "replicasets": self.replicaset}[plural](key)
        if found is None:
            raise not_found(plural, name)
        return found

    def _namespace_open(self, namespace: str) -> None:
        """Refuse to create in a namespace that does not exist or is being deleted."""
        ns = namespaces.every(self.sim).get(namespace)
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})
        if ns.terminating is not None:
            raise ApiError(403, "Forbidden", f"unable to create new content in namespace {namespace} because it "
                           "is being terminated", {"name": namespace, "kind": "namespaces"})

    def rendered(self, plural: str, key: str) -> dict:
        """A pod, deployment or replica set as JSON, rendered again only once it changed: many
        watchers and lists share one rendering (callers copy before they change one: patches
        do). A pod changes with its own writes and its deployment's; the others count pods,
        so they change with any write."""
        if self.clock.epoch != self._epoch or len(self._rendered) > 4 * (len(self.items(plural)) + 1000):
            self._rendered, self._epoch = {}, self.clock.epoch  # timestamps moved, or deleted objects pile up
        version = self._version(plural, key)
        found = self._rendered.get((plural, key))
        if found is None or found[0] != version:
            render = {"pods": self._pod, "deployments": self._deployment, "replicasets": self._replicaset}[plural]
            found = self._rendered[plural, key] = (version, render(key))
        return found[1]

    def _version(self, plural: str, key: str) -> tuple:
        if plural != "pods":
            return (self.sim.store.revision,)
        p = self.items("pods")[key]
        d = self.items("deployments").get(p.app) if p.owner else None
        return p.resource_version, d.resource_version if d else 0

    def deployment(self, key: str) -> dict:
        return self.rendered("deployments", key)

    def replicaset(self, key: str) -> dict:
        return self.rendered("replicasets", key)

    def pod(self, key: str) -> dict:
        return self.rendered("pods", key)

    def _deployment(self, key: str) -> dict:
        d = self.items("deployments")[key]
        sets = self.sim.deployments.replica_sets(key)
        counts = self.sim.replicasets.counts
        out = res.deployment(d, sets, self.clock, counts, self.sim.deployments.last_progress(d))
        pods = self.items("pods")
        out["metadata"]["resourceVersion"] = str(max([d.resource_version] + [rs.resource_version for rs in sets] +
                                                     [pods[p].resource_version for rs in sets
                                                      for p in counts(rs.name).pods if p in pods]))
        return out

    def _replicaset(self, key: str) -> dict:
        rs = self.items("replicasets")[key]
        d = self.items("deployments").get(rs.owner)
        return res.replicaset(rs, self.sim.replicasets.counts(key), d, self.clock, d.created if d else 0.0)

    def _pod(self, key: str) -> dict:
        p = self.items("pods")[key]
        d = self.items("deployments").get(p.app) if p.owner else None
        return res.pod(p, self.items("nodes").get(p.node) if p.node else None, d, self.clock,
                       d.created if d else 0.0)

    def revision(self) -> int:
        return self.sim.store.revision

    # -- writing -------------------------------------------------------------------------------
    def create(self, plural: str, namespace: str | None, body: Any, dry_run: bool) -> dict:
        check_object(plural, body)
        if plural == "namespaces":
            return self._create_namespace(body, dry_run)
        if plural not in ("deployments", "services", "pods"):
            raise ApiError(405, "MethodNotAllowed", f"the simulator does not create {plural} yet")
        namespace = namespace or res.NAMESPACE
        self._namespace_open(namespace)
        if plural == "services":
            return self._create_service(namespace, body, dry_run)
        if plural == "pods":
            return self._create_pod(namespace, body, dry_run)
        spec = self._deploy_spec(body)
        name, key = spec.name, res.key(namespace, spec.name)
        check_cap(self.sim, plural, name, spec.replicas)
        if key in self.items("deployments"):
            raise ApiError(409, "AlreadyExists", f'deployments.apps "{name}" already exists',
                           {"name": name, "group": "apps", "kind": "deployments"})
        if dry_run:
            return body
        try:
            self.sim.deploy(replace(spec, name=key))
        except LabkitError as error:
            raise from_labkit(error, plural, name) from None
        self._keep_api_fields(key, body)
        return self.deployment(key)

    def _create_namespace(self, body: Any, dry_run: bool) -> dict:
        check_kind(body, "Namespace", "v1")
        meta = body.get("metadata") or {}
        name = meta.get("name") or ""
        if not DNS1123_LABEL.match(name) or len(name) > 63:
            raise invalid("Namespace", "namespaces", name, [("metadata.name", f'Invalid value: "{name}": '
                                                                             f"{DNS1123_LABEL_HELP}")])
        if name in namespaces.every(self.sim):
            raise ApiError(409, "AlreadyExists", f'namespaces "{name}" already exists',
                           {"name": name, "kind": "namespaces"})
        made = KubeNamespace(name, dict(meta.get("labels") or {}), user_annotations(body), self.sim.now())
        if not dry_run:
            self.sim.api.check()
            self.sim.api.write(namespaces.KIND, made)
        return namespaces.render(made, self.clock)

    def _create_service(self, namespace: str, body: Any, dry_run: bool) -> dict:
        check_kind(body, "Service", "v1")
        meta, spec = body.get("metadata") or {}, body.get("spec") or {}
        name = meta.get("name") or ""
        causes = services.validate(name, spec)
        if causes:
            raise invalid("Service", "services", name, causes)
        key = res.key(namespace, name)
        if key == "kubernetes" or key in self.items(services.KIND):
            raise ApiError(409, "AlreadyExists", f'services "{name}" already exists',
                           {"name": name, "kind": "services"})
        made = services.KubeService(key, services.defaulted(key, spec, services.node_ports(self.sim)),
                                    dict(meta.get("labels") or {}), user_annotations(body), self.sim.now())
        if dry_run:
            return services.render(made, self.clock)
        self.sim.api.check()
        self.sim.api.write(services.KIND, made)
        return self.get("services", namespace, name)

    def _create_pod(self, namespace: str, body: Any, dry_run: bool) -> dict:
        """A bare pod (`kubectl run`): no controller brings it back once it is gone."""
        check_kind(body, "Pod", "v1")
        name = (body.get("metadata") or {}).get("name") or ""
        containers = (body.get("spec") or {}).get("containers") or []
        causes = [] if DNS1123.match(name) else [("metadata.name", f'Invalid value: "{name}": {DNS1123_HELP}')]
        if not containers or not containers[0].get("image"):
            causes.append(("spec.containers[0].image", "Required value"))
        if causes:
            raise invalid("Pod", "pods", name, causes)
        key = res.key(namespace, name)
        if key in self.items("pods"):
            raise ApiError(409, "AlreadyExists", f'pods "{name}" already exists', {"name": name, "kind": "pods"})
        if dry_run:
            return body
        meta, spec = body.get("metadata") or {}, body.get("spec") or {}
        template = Template(containers[0]["image"], annotations=user_annotations(body),
                            labels=dict(meta.get("labels") or {}), spec=dict(spec))
        try:
            self.sim.run_pod(key, template, spec.get("restartPolicy") or "Always")
        except LabkitError as error:
            raise from_labkit(error, "pods", name) from None
        return self.pod(key)

    def _deploy_spec(self, body: Any) -> DeploySpec:
        check_kind(body, "Deployment", "apps/v1")
        meta = body.get("metadata") or {}
        name = meta.get("name") or ""
        spec = body.get("spec") or {}
        causes = validate_deployment(name, spec)
        if causes:
            raise invalid("Deployment", "deployments", name, causes)
        container = spec["template"]["spec"]["containers"][0]
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        plan = UpdateStrategy(type=strategy.get("type"), max_surge=rolling.get("maxSurge"),
                              max_unavailable=rolling.get("maxUnavailable"),
                              min_ready_seconds=spec.get("minReadySeconds"))
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != "app"}
        return DeploySpec(name=name, image=container["image"], replicas=int(spec.get("replicas", 1)),
                          labels=labels, strategy=plan, probe=Probe.from_manifest(container.get("readinessProbe")))

    def _keep_api_fields(self, key: str, body: dict) -> None:
        """What the simulator's own spec has no field for: the container's name, the selector,
        the deployment's labels as given, history limit, progress deadline, paused."""
        d = self.items("deployments")[key]
        spec = body.get("spec") or {}
        d.container = spec["template"]["spec"]["containers"][0]["name"]
        d.selector = dict((spec.get("selector") or {}).get("matchLabels") or {"app": res.short(key)})
        d.labels = dict((body.get("metadata") or {}).get("labels") or {})
        d.annotations = user_annotations(body)
        d.history_limit = int(spec.get("revisionHistoryLimit", d.history_limit))
        d.progress_deadline = float(spec.get("progressDeadlineSeconds", d.progress_deadline))
        d.paused = bool(spec.get("paused", False))
        d.template = d.template.copy(**written_template(spec))
        d.generation, d.spec_seen = 0, None  # one create, one generation: 1
        self.sim.api.write("deployments", d)

    def patch(self, plural: str, namespace: str, name: str, kind: str, body: Any, dry_run: bool,
              decode: Callable[[Any], Any] = lambda obj: obj, schema: dict | None = None) -> dict:
        """A patch applied to the object as it is, the result decoded as a PUT's body would be."""
        current = self.get(plural, namespace, name)
        apply = PATCHES.get(kind)
        if apply is None:
            raise ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                           f'accepted media types include: {", ".join(PATCHES)}')
        try:
            wanted = apply(current, body, schema)
        except PatchError as error:
            raise ApiError(422, "Invalid", str(error)) from None
        return self.replace(plural, namespace, name, decode(wanted), dry_run, check_version=False)

    def replace(self, plural: str, namespace: str, name: str, wanted: Any, dry_run: bool,
                check_version: bool = True) -> dict:
        current = self.get(plural, namespace, name)
        meta = (wanted or {}).get("metadata") or {}
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match "
                           f"the name on the URL ({name})")
        version = meta.get("resourceVersion")
        if check_version and version and version != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {qualified(plural)} "{name}": the '
                           "object has been modified; please apply your changes to the latest version and try again",
                           {"name": name, "group": GROUP_OF.get(plural, ""), "kind": plural})
        check_object(plural, wanted)
        if plural == "deployments":
            self._change_deployment(res.key(namespace, name), current, wanted, dry_run)
        elif plural == "nodes":
            self._change_node(name, wanted, dry_run)
        elif plural == "services" and res.key(namespace, name) != "kubernetes":
            self._change_service(res.key(namespace, name), current, wanted, dry_run)
        elif plural == "namespaces":
            self._change_namespace(name, wanted, dry_run)
        else:
            raise ApiError(405, "MethodNotAllowed", f"the simulator does not change {plural} yet")
        return wanted if dry_run else self.get(plural, namespace, name)

    def _change_service(self, key: str, current: dict, wanted: dict, dry_run: bool) -> None:
        """`kubectl patch/edit/apply` of a Service: its spec (ports merged on `port`, the selector,
        the type), labels and annotations; its cluster IP stays what it was given."""
        check_kind(wanted, "Service", "v1")
        name, spec = res.short(key), dict(wanted.get("spec") or {})
        causes = services.validate(name, spec)
        old_ip = current["spec"].get("clusterIP")
        if spec.get("clusterIP", old_ip) != old_ip:
            causes.append(("spec.clusterIP", f'Invalid value: "{spec["clusterIP"]}": field is immutable'))
        if causes:
            raise invalid("Service", "services", name, causes)
        if dry_run:
            return
        service = self.items(services.KIND)[key]
        taken = services.node_ports(self.sim) - {p.get("nodePort") for p in service.spec.get("ports", [])}
        self.sim.api.check()
        service.spec = services.defaulted(key, {**spec, "clusterIP": old_ip}, taken)
        service.labels = dict((wanted.get("metadata") or {}).get("labels") or {})
        service.annotations = user_annotations(wanted)
        self.sim.api.write(services.KIND, service)

    def _change_namespace(self, name: str, wanted: dict, dry_run: bool) -> None:
        check_kind(wanted, "Namespace", "v1")
        if not dry_run:
            ns = namespaces.every(self.sim)[name]
            if name in namespaces.SYSTEM and name not in self.items(namespaces.KIND):
                ns = KubeNamespace(name, {}, {}, 0.0)  # stored from its first change on
            self.sim.api.check()
            ns.labels = {k: v for k, v in ((wanted.get("metadata") or {}).get("labels") or {}).items()
                         if k != "kubernetes.io/metadata.name"}
            ns.annotations = user_annotations(wanted)
            self.sim.api.write(namespaces.KIND, ns)

    def _change_deployment(self, key: str, current: dict, wanted: dict, dry_run: bool) -> None:
        check_kind(wanted, "Deployment", "apps/v1")
        name = res.short(key)
        spec, old = wanted.get("spec") or {}, current["spec"]
        causes = validate_deployment(name, spec)
        if spec.get("selector") != old["selector"]:
            causes.append(("spec.selector", f"Invalid value: {_go_map(spec.get('selector'))}: field is immutable"))
        if causes:
            raise invalid("Deployment", "deployments", name, causes)
        check_cap(self.sim, "deployments", name, spec.get("replicas", 1))
        if dry_run:
            return
        d = self.items("deployments")[key]
        generation = d.generation
        container = spec["template"]["spec"]["containers"][0]
        try:
            if spec.get("paused", False) and not d.paused:
                self.sim.pause(key)
            strategy = spec.get("strategy") or {}
            rolling = strategy.get("rollingUpdate") or {}
            plan = UpdateStrategy(type=strategy.get("type"), max_surge=rolling.get("maxSurge"),
                                  max_unavailable=rolling.get("maxUnavailable"),
                                  min_ready_seconds=spec.get("minReadySeconds"))
            self.sim.shape_template(key, **written_template(spec))  # with the image below: one rollout
            if container["image"] != d.template.image or plan != UpdateStrategy():
                self.sim.update(key, container["image"], plan)
            if int(spec.get("replicas", 1)) != d.replicas:
                self.sim.scale(key, int(spec.get("replicas", 1)))
            if not spec.get("paused", False) and d.paused:
                self.sim.resume(key)
        except LabkitError as error:
            raise from_labkit(error, "deployments", name) from None
        d.container = container["name"]
        d.labels = dict((wanted.get("metadata") or {}).get("labels") or {})
        d.annotations = user_annotations(wanted)
        d.history_limit = int(spec.get("revisionHistoryLimit", d.history_limit))
        d.generation = min(d.generation, generation + 1)  # one request, one generation, however many steps
        self.sim.api.write("deployments", d)

    def _change_node(self, name: str, wanted: dict, dry_run: bool) -> None:
        """A node's labels and annotations (`kubectl label/annotate node`) and whether it takes
        new pods (`kubectl cordon/uncordon`); the rest of a node is its kubelet's."""
        check_kind(wanted, "Node", "v1")
        node = self.items("nodes")[name]
        meta = wanted.get("metadata") or {}
        labels, annotations = dict(meta.get("labels") or {}), user_annotations(wanted)
        cordon = bool((wanted.get("spec") or {}).get("unschedulable", False))
        moved = node.role != "control-plane" and cordon == node.schedulable
        if dry_run or (not moved and labels == self.get("nodes", None, name)["metadata"].get("labels", {})
                       and annotations == node.annotations):
            return
        self.sim.api.check()
        node.labels, node.annotations = labels, annotations
        if moved:
            node.schedulable = not cordon
        self.sim.api.write("nodes", node)
        if moved:
            word = "NodeNotSchedulable" if cordon else "NodeSchedulable"
            self.sim.api.record(word, f"node/{name}", f"Node {name} status is now: {word}", source="kubelet")

    def scale(self, namespace: str, name: str) -> dict:
        d = self.get("deployments", namespace, name)
        selector = ",".join(f"{k}={v}" for k, v in d["spec"]["selector"]["matchLabels"].items())
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: d["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                          "creationTimestamp")},
                "spec": {"replicas": d["spec"]["replicas"]},
                "status": {"replicas": d["status"].get("replicas", 0), "selector": selector}}

    def change_scale(self, namespace: str, name: str, kind: str | None, body: Any, dry_run: bool,
                     decode: Callable[[Any], Any] = lambda obj: obj, schema: dict | None = None) -> dict:
        current = self.scale(namespace, name)
        if kind is not None and kind not in PATCHES:
            raise ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                           f'accepted media types include: {", ".join(PATCHES)}')
        try:
            wanted = decode(PATCHES[kind](current, body, schema)) if kind else body
        except PatchError as error:
            raise ApiError(422, "Invalid", str(error)) from None
        if kind is None and (wanted.get("metadata") or {}).get("resourceVersion") not in (
                None, current["metadata"]["resourceVersion"]):
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on deployments.apps "{name}": the '
                           "object has been modified; please apply your changes to the latest version and try again")
        replicas = (wanted.get("spec") or {}).get("replicas")
        check_int32("Scale", "ScaleSpec", replicas)
        if not isinstance(replicas, int) or replicas < 0:
            raise invalid("Scale", "deployments", name,
                          [("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")])
        check_cap(self.sim, "deployments", name, replicas)
        if not dry_run and replicas != current["spec"]["replicas"]:
            try:
                self.sim.scale(res.key(namespace, name), replicas)
            except LabkitError as error:
                raise from_labkit(error, "deployments", name) from None
        return self.scale(namespace, name)

    def delete(self, plural: str, namespace: str, name: str, dry_run: bool) -> dict:
        found = self.get(plural, namespace, name)
        key = res.key(namespace or res.NAMESPACE, name)
        if plural == "namespaces" and name in res.SYSTEM_NAMESPACES:
            raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                           {"name": name, "kind": "namespaces"})
        if dry_run:
            return found
        try:
            if plural == "deployments":
                self.sim.delete(key)  # the garbage collector takes its replica sets and pods
            elif plural == "pods" and key not in self.items("pods"):
                pass  # a control-plane static pod: its kubelet makes its mirror again at once
            elif plural == "pods":
                self.sim.api.check()
                delete_pod(self.sim.api, self.items("pods")[key], source="api-server")
            elif plural == "services" and key != "kubernetes":
                self.sim.api.check()
                self.sim.api.remove(services.KIND, key)
            elif plural == "namespaces":
                namespaces.delete(self.sim, name)
                if name in self.items(namespaces.KIND):
                    return namespaces.render(self.items(namespaces.KIND)[name], self.clock)
            else:
                raise ApiError(405, "MethodNotAllowed", f"the simulator does not delete {plural} yet")
        except LabkitError as error:
            raise from_labkit(error, plural, name) from None
        if plural == "pods" and key in self.items("pods"):
            return self.pod(key)  # graceful: it stays, Terminating, until the kubelet is done
        if plural in ("services", "pods"):  # their registries' ReturnDeletedObject: the object, which clients decode
            return found
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": GROUP_OF.get(plural, ""), "kind": plural,
                            "uid": found["metadata"]["uid"]}}

    def evict(self, namespace: str, name: str) -> dict:
        """`kubectl drain`'s eviction: no PodDisruptionBudgets here, so it is a graceful delete."""
        self.get("pods", namespace, name)
        self.delete("pods", namespace, name, dry_run=False)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def log(self, namespace: str, name: str) -> str:
        """What the container printed: the demo web servers log nothing; the broken one says why it died."""
        if namespace == "kube-system":
            return services.system_log(self.get("pods", namespace, name), self.clock)
        p = self.items("pods").get(res.key(namespace, name)) if namespace else None
        if p is None:
            raise not_found("pods", name)
        if p.node is None or (not p.container_up and p.phase == "pending"):
            raise ApiError(400, "BadRequest", f'container "{self.get("pods", namespace, name)["spec"]["containers"][0]["name"]}" '
                           f'in pod "{name}" is waiting to start: {p.reason or "ContainerCreating"}')
        return "web-server:broken: crashing on purpose\n" if p.image == "web-server:broken" and p.restarts else ""


    def delete_collection(self, plural: str, namespace: str | None, match, dry_run: bool) -> dict:
        """DELETE on a collection (`kubectl delete pods --all`, a client's delete_collection):
        each matching pod is deleted gracefully. The simulator's kubelets keep their own
        grace period; a gracePeriodSeconds asked for is not honoured."""
        if plural != "pods":
            raise ApiError(405, "MethodNotAllowed", f"the simulator does not delete collections of {plural}")
        gone = [o for o in self.objects("pods", namespace) if match(o)]
        for obj in [] if dry_run else gone:
            self.delete("pods", obj["metadata"]["namespace"], obj["metadata"]["name"], dry_run=False)
        return {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(self.revision())},
                "items": gone}


KIND_OF = {r.plural: r.kind for r in discovery.RESOURCES}


def check_object(plural: str, body: Any) -> None:
    """What every kind's validation checks alike (apimachinery's ValidateObjectMeta, and the
    containers' images of core validation): labels and annotations, the pod template's too,
    and each container's image; 422 Invalid with every cause."""
    if not isinstance(body, dict):
        return  # check_kind refuses it with the kind's words
    meta = body.get("metadata") or {}
    causes = validation.labels(meta.get("labels")) + validation.annotations(meta.get("annotations"))
    spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
    pod, prefix = (spec, "spec") if plural == "pods" else (None, "spec.template.spec")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else None
    if template is not None:
        inner = template.get("metadata") or {}
        causes += validation.labels(inner.get("labels"), "spec.template.metadata.labels")
        causes += validation.annotations(inner.get("annotations"), "spec.template.metadata.annotations")
        pod = template.get("spec") if isinstance(template.get("spec"), dict) else None
    for i, container in enumerate((pod or {}).get("containers") or []):
        if isinstance(container, dict) and "image" in container:
            causes += validation.image(container["image"], f"{prefix}.containers[{i}].image", pod=plural == "pods")
    if causes:
        raise invalid(KIND_OF.get(plural, plural), plural, meta.get("name") or "", causes)


def check_int32(kind: str, spec_type: str, replicas: object) -> None:
    """A count that does not fit the field's int32 fails to decode, as in the real API server."""
    if isinstance(replicas, int) and not -2**31 <= replicas < 2**31:
        raise ApiError(400, "BadRequest", f'{kind} in version "v1" cannot be handled as a {kind}: json: cannot '
                       f"unmarshal number {replicas} into Go struct field {spec_type}.spec.replicas of type int32")


def check_cap(sim, plural: str, name: str, replicas: object) -> None:
    """The simulator's safety cap (labkit.validate), refused as an admission plugin would."""
    from .... import validate
    cap = validate.SIM_MAX_REPLICAS
    if isinstance(replicas, int) and replicas > cap:
        raise ApiError(403, "Forbidden", f'{qualified(plural)} "{name}" is forbidden: labkit\'s simulator runs at '
                       f"most {cap} replicas per workload, to stay responsive (asked for {replicas})",
                       {"name": name, "group": GROUP_OF.get(plural, ""), "kind": plural})


def user_annotations(body: dict) -> dict[str, str]:
    """The annotations a client set; the deployment controller's own are the server's to keep."""
    given = (body.get("metadata") or {}).get("annotations") or {}
    return {k: str(v) for k, v in given.items() if not k.startswith("deployment.kubernetes.io/")}


def written_template(spec: dict) -> dict:
    """What a client wrote of a pod template, as Template keeps it: its annotations, labels and pod spec."""
    template = spec.get("template") or {}
    meta = template.get("metadata") or {}
    return {"annotations": dict(meta.get("annotations") or {}), "labels": dict(meta.get("labels") or {}),
            "spec": dict(template.get("spec") or {})}


def check_kind(body: Any, kind: str, api_version: str) -> None:
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", f"the body of the request is not a {kind} object")
    if body.get("apiVersion", api_version) != api_version:
        raise ApiError(400, "BadRequest", f"the API version in the data ({body.get('apiVersion')}) does not match "
                       f"the expected API version ({api_version})")
    if body.get("kind", kind) != kind:
        raise ApiError(400, "BadRequest", f"the kind in the data ({body.get('kind')}) does not match the "
                       f"expected kind ({kind})")


def validate_deployment(name: str, spec: dict) -> list[tuple[str, str]]:
    """apps/v1 validation (pkg/apis/apps/validation ValidateDeploymentSpec), on a body schema.py
    has decoded, so every field has its type."""
    check_int32("Deployment", "DeploymentSpec", spec.get("replicas"))
    causes: list[tuple[str, str]] = []
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif len(name) > 253 or not DNS1123.match(name):
        causes.append(("metadata.name", f'Invalid value: "{name}": {DNS1123_HELP}'))
    for field in ("replicas", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
        value = spec.get(field, 0)
        if not isinstance(value, int) or value < 0:
            causes.append((f"spec.{field}", f"Invalid value: {value}: must be greater than or equal to 0"))
    deadline = spec.get("progressDeadlineSeconds")
    if isinstance(deadline, int) and deadline <= spec.get("minReadySeconds", 0):
        causes.append(("spec.progressDeadlineSeconds",
                       f"Invalid value: {deadline}: must be greater than minReadySeconds"))
    causes += _strategy_causes(spec.get("strategy") or {})
    selector = (spec.get("selector") or {}).get("matchLabels")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        causes.append(("spec.selector", "Required value"))
    elif any(labels.get(k) != v for k, v in selector.items()):
        causes.append(("spec.template.metadata.labels",
                       f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`"))
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers:
        causes.append(("spec.template.spec.containers", "Required value"))
    for i, c in enumerate(containers):
        if not c.get("name"):
            causes.append((f"spec.template.spec.containers[{i}].name", "Required value"))
        if not c.get("image"):
            causes.append((f"spec.template.spec.containers[{i}].image", "Required value"))
        if c.get("readinessProbe") is not None:
            causes += _probe_causes(c["readinessProbe"], f"spec.template.spec.containers[{i}].readinessProbe")
    return causes


PERCENT = re.compile(r"[0-9]{1,9}%")
PERCENT_HELP = ("a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
                "regex used for validation is '[0-9]+%')")


def _strategy_causes(strategy: dict) -> list[tuple[str, str]]:
    """ValidateDeploymentStrategy and ValidateRollingUpdateDeployment: maxSurge and maxUnavailable
    are counts or percentages, not both 0, maxUnavailable at most 100%; Recreate takes no rollingUpdate."""
    path = "spec.strategy.rollingUpdate"
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type", "RollingUpdate") not in ("Recreate", "RollingUpdate"):
        return [("spec.strategy.type", f'Unsupported value: "{strategy["type"]}": supported values: "Recreate", '
                                       '"RollingUpdate"')]
    if strategy.get("type") == "Recreate":
        return [(path, "Forbidden: may not be specified when strategy `type` is 'Recreate'")] if rolling else []
    causes = []
    amounts = {}
    for field in ("maxUnavailable", "maxSurge"):
        value = (rolling or {}).get(field, "25%")
        if isinstance(value, str) and not PERCENT.fullmatch(value):
            causes.append((f"{path}.{field}", f'Invalid value: "{value}": {PERCENT_HELP}'))
        elif isinstance(value, int) and value < 0:
            causes.append((f"{path}.{field}", f"Invalid value: {value}: must be greater than or equal to 0"))
        else:
            amounts[field] = int(value.rstrip("%")) if isinstance(value, str) else value
    if amounts.get("maxUnavailable") == 0 and amounts.get("maxSurge") == 0:
        causes.append((f"{path}.maxUnavailable", f"Invalid value: {_go_value(rolling['maxUnavailable'])}: "
                                                 "may not be 0 when `maxSurge` is 0"))
    unavailable = (rolling or {}).get("maxUnavailable")
    if isinstance(unavailable, str) and amounts.get("maxUnavailable", 0) > 100:
        causes.append((f"{path}.maxUnavailable", f'Invalid value: "{unavailable}": must not be greater than 100%'))
    return causes


def _go_value(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def _probe_causes(probe: Any, path: str) -> list[tuple[str, str]]:
    """pkg/apis/core/validation's validateProbe: one handler, no negative numbers."""
    if not isinstance(probe, dict):
        return [(path, f"Invalid value: {probe!r}: must be an object")]
    handlers = [k for k in PROBE_ACTIONS if k in probe]
    causes = []
    if not handlers:
        causes.append((path, "Required value: must specify a handler type"))
    elif len(handlers) > 1:
        causes.append((f"{path}.{handlers[1]}", "Forbidden: may not specify more than 1 handler type"))
    for field in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        value = probe.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            causes.append((f"{path}.{field}", f"Invalid value: {value}: must be greater than or equal to 0"))
    return causes


def _go_map(value: Any) -> str:
    """A value as Go's %#v prints a map[string]string in validation messages."""
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(value.items())) + "}"
    return repr(value)
