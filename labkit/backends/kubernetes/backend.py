"""Deployments on a real Kubernetes cluster (minikube, kind, k3d, Docker Desktop ...).

Through the official `kubernetes` client, imported only when a backend is
made, so `import labkit` stays fast. Three modules share the work:

* `manifests` -- pure functions that build every object labkit sends;
* `state` -- pure functions that turn what the API returns (JSON dicts,
  the shape of `kubectl get -o json`) into labkit's `ClusterState`;
* here, `KubernetesBackend` -- the requests, and the translation of the API's
  errors into labkit's errors with a next step to try -- and `doctor`.

Safety: the context guard (`labkit.backends.kubernetes.context`) runs before the client is
created; labkit works in its own namespace (labelled `io.labkit=<lab>`),
refuses a namespace it did not make, and `reset` deletes only namespaces
carrying that label. Everything in that namespace is the lab's, whoever made
it: a deployment from `%kubectl create deployment` is a workload like one from
`cluster.deploy`.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ... import validate
from . import context as kubecontext
from ...errors import AlreadyExists, InvalidInput, LabkitError, NotFound, Refused, Timeout, Unavailable
from ...model import ClusterState, Event
from ..base import LABEL, CliTarget, DeploySpec, UpdateStrategy
from .manifests import (CORDONED, FAILED, RESTART_POLICY, cordon_patch, deployment_manifest,
                             eviction_manifest, namespace_manifest, pod_manifest, rollback_patch, service_manifest,
                             template_without_hash, with_update)
from .state import (annotations_of, belongs_to, build_state, controller_of, event_of, history, is_ready,
                         labels_of, owned_replicasets, pod_phase, previous_replicaset)

DEFAULT_NAMESPACE = "labkit"
KILL_GRACE_SECONDS = 1  # kill_replica / remove_container: a crash, not a polite shutdown


class KubernetesBackend:
    """labkit's operations as requests to a local Kubernetes cluster.

    `nodes` is the cluster's own business on a real cluster (start minikube
    with `labkit.backends.kubernetes.minikube.start(nodes=3)`); it is kept only to be
    shown. `namespace` defaults to "labkit" (`name="k3"`, a second cluster of one
    notebook: "labkit-k3") and is also the lab id that labels everything labkit
    makes. Options: `request_timeout` (seconds, default 10)
    and `eviction_seconds` (how long pods stay bound to a node that stopped
    answering; None keeps Kubernetes' 300 s).
    """

    name = "kubernetes"
    simulated = False  # a served simulator too: its clock runs by itself, like a real cluster's
    flavor = "kubernetes"

    @property
    def max_replicas(self) -> int:
        """The most replicas of one workload labkit asks of it: pods a small local cluster (minikube) takes."""
        return validate.max_replicas(500)

    def __init__(self, nodes: int = 3, flavor: str | None = None, seed: int = 0,
                 context: str | None = None, allow_remote: bool = False,
                 namespace: str | None = None, name: str | None = None, **options: Any) -> None:
        if flavor not in (None, "kubernetes"):
            raise InvalidInput(f"the kubernetes backend has one flavor, 'kubernetes', not {flavor!r}",
                               f"use labkit.connect('sim', flavor={flavor!r}) to imitate {flavor}")
        unknown = set(options) - {"request_timeout", "eviction_seconds"}
        if unknown:
            raise InvalidInput(f"unknown option(s) for the kubernetes backend: {', '.join(sorted(unknown))}",
                               "it takes context=, allow_remote=, namespace=, name=, request_timeout=, eviction_seconds=")

        if name is not None and namespace is None:
            namespace = f"{DEFAULT_NAMESPACE}-{validate.name(name, 'name')}"
        self.namespace = validate.name(namespace or DEFAULT_NAMESPACE, "namespace")
        self.lab = self.namespace
        self.requested_nodes = nodes
        self.timeout = options.get("request_timeout", 10.0)
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)) or not self.timeout > 0:
            raise InvalidInput(f"request_timeout must be a number of seconds > 0, not {self.timeout!r}",
                               "e.g. request_timeout=10")
        self.eviction_seconds = options.get("eviction_seconds")
        if self.eviction_seconds is not None and (isinstance(self.eviction_seconds, bool) or not isinstance(
                self.eviction_seconds, int) or self.eviction_seconds < 0):
            raise InvalidInput(f"eviction_seconds must be a whole number >= 0, not {self.eviction_seconds!r}",
                               "e.g. eviction_seconds=20 moves pods off a failed node after 20 s")
        self._rng = random.Random(seed)
        self._stopped_nodes: set[str] = set()
        # The guard reads the kubeconfig only: a refused context never meets the client.
        self.context = kubecontext.guard(context, allow_remote)
        self._api = self._connect()
        try:
            self.server_version = self._probe()
            self._check_namespace()
        except LabkitError:
            self.close()
            raise

    # -- connection and errors ------------------------------------------------------
    def _connect(self):
        import urllib3
        from kubernetes import client, config

        configuration = client.Configuration()
        try:
            config.load_kube_config(config_file=os.pathsep.join(self.context.files), context=self.context.name,
                                    client_configuration=configuration, persist_config=False)
        except Exception as exc:  # the client's ConfigException, or a missing certificate file
            raise Unavailable(f"the kubeconfig entry for context {self.context.name!r} cannot be used: {exc}",
                              "recreate it, e.g. `minikube update-context -p labkit`") from None
        configuration.retries = urllib3.util.Retry(total=1, read=0, redirect=0, status=0)
        self._client = client
        return client.ApiClient(configuration)

    def _probe(self) -> str:
        """Ask the server its version, quickly: the first request, so an unreachable cluster
        fails here with a hint rather than later in the middle of a lesson."""
        version = self._json(self._client.VersionApi(self._api).get_code,
                             _request_timeout=(min(self.timeout, 3.0), self.timeout))
        return str(version.get("gitVersion", ""))

    def _call(self, method: Callable, *args: Any, what: str = "", **kwargs: Any) -> Any:
        kwargs.setdefault("_request_timeout", self.timeout)
        kwargs.setdefault("_preload_content", False)  # labkit reads JSON itself (see _json)
        with self._errors(what):
            return method(*args, **kwargs)

    @contextmanager
    def _errors(self, what: str = "") -> Iterator[None]:
        """Turn the client's exceptions into labkit's errors, each with a next step."""
        from kubernetes.client.exceptions import ApiException
        import urllib3

        try:
            yield
        except ApiException as exc:
            raise self._api_error(exc, what) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(exc) from None

    def _json(self, method: Callable, *args: Any, **kwargs: Any) -> dict:
        """Call a read method and return its JSON as a dict (the shape `kubectl -o json` prints):
        plain dicts are what the pure functions of state.py read, and skipping the client's models
        is faster and indifferent to the client's version."""
        return json.loads(self._call(method, *args, **kwargs).data)

    def _unreachable(self, exc: Exception) -> Unavailable:
        reason = str(getattr(exc, "reason", None) or exc).split(": ", 1)[-1][:200]
        hint = "is the cluster running? "
        if self.context.minikube_profile:
            hint += f"`minikube status -p {self.context.minikube_profile}`; start it with " \
                    f"`minikube start -p {self.context.minikube_profile}`"
        elif self.context.name.startswith("kind-"):
            hint += f"`docker start {self.context.name[5:]}-control-plane`, or `kind create cluster`"
        else:
            hint += "start it, or pick another context: labkit.connect('kubernetes', context=...)"
        return Unavailable(f"the Kubernetes API server of context {self.context.name!r} at "
                           f"{self.context.server} does not answer ({reason})", hint)

    def _api_error(self, exc: Any, what: str) -> LabkitError:
        try:
            message = json.loads(exc.body).get("message", "")
        except (TypeError, ValueError, AttributeError):
            message = ""
        message = message or f"{exc.status} {exc.reason}"
        doing = f" (while {what})" if what else ""
        if exc.status == 401:
            return Unavailable(f"the cluster did not accept the credentials of context {self.context.name!r}",
                               "refresh them, e.g. `minikube update-context -p labkit`, or pick another context")
        if exc.status == 403:
            if "being terminated" in message:
                return Unavailable(f"namespace {self.namespace} is still being deleted: {message}",
                                   "wait a few seconds and try again")
            return Refused(f"the cluster forbids it{doing}: {message}",
                           f"use a context allowed to manage namespace {self.namespace!r} "
                           "(minikube's and kind's own contexts are), or pass namespace= one you may use")
        if exc.status == 404:
            return NotFound(f"{message}{doing}", "look at cluster.state() for what exists")
        if exc.status == 409:
            return AlreadyExists(f"{message}{doing}", "pick another name")
        if exc.status in (400, 422):
            return InvalidInput(f"the cluster rejected it{doing}: {message}", "check the names and values you gave")
        return Unavailable(f"the Kubernetes API failed{doing}: {message}", "try again; if it persists, "
                           "look at the cluster's health, e.g. `minikube status -p labkit`")

    # -- apis, namespace --------------------------------------------------------------
    @property
    def _core(self):
        return self._client.CoreV1Api(self._api)

    @property
    def _apps(self):
        return self._client.AppsV1Api(self._api)

    def _check_namespace(self) -> dict | None:
        """The namespace if it exists and is labkit's; Refused if it is somebody else's."""
        try:
            ns = self._json(self._core.read_namespace, self.namespace, what=f"reading namespace {self.namespace}")
        except NotFound:
            return None
        if not belongs_to(ns, self.lab):
            raise Refused(f"namespace {self.namespace!r} exists but labkit did not make it "
                          f"(it has no {LABEL}={self.lab} label), so labkit will not work in it",
                          "use labkit's own: labkit.connect('kubernetes', namespace='labkit-2')")
        return ns

    def ensure_namespace(self) -> None:
        """Make labkit's namespace unless it exists (waiting out one still being deleted):
        before a deploy, and before `%kubectl`, which works in it."""
        ns = self._check_namespace()
        if ns is not None and not ns["metadata"].get("deletionTimestamp"):
            return
        if ns is not None:
            self._wait_gone(lambda: self._check_namespace() is not None, f"namespace {self.namespace}",
                            f"kubectl get namespace {self.namespace} -o yaml")
        try:
            self._call(self._core.create_namespace, namespace_manifest(self.namespace, self.lab),
                       what=f"creating namespace {self.namespace}")
        except AlreadyExists:
            self._check_namespace()  # somebody made it meanwhile: fine if it is labkit's

    def _wait_gone(self, exists: Callable[[], bool], what: str, look: str, timeout: float = 120.0) -> None:
        """Let cluster time pass (see `advance`) until `exists()` is false, for `timeout` seconds of it."""
        deadline = self.now() + timeout
        while exists():
            if self.now() > deadline:
                raise Timeout(f"{what} is still there after {timeout:g} s",
                              f"see what holds it up: `{look}`")
            self.advance(0.5)

    # -- looking --------------------------------------------------------------------------
    def now(self) -> float:
        """The cluster's time: the wall clock's, except on a served simulator, whose clock may
        run faster than the wall clock or move only when labkit says (see `advance`)."""
        return self._clock()["now"] if self.served_simulator else time.time()

    def state(self) -> ClusterState:
        ns = self.namespace
        nodes = self._json(self._core.list_node)
        deployments = self._json(self._apps.list_namespaced_deployment, ns)
        replicasets = self._json(self._apps.list_namespaced_replica_set, ns)
        try:
            pods = self._json(self._core.list_pod_for_all_namespaces)
        except Refused:  # may not read other namespaces: then node usage counts labkit's pods only
            pods = self._json(self._core.list_namespaced_pod, ns)
        version = max((int(x["metadata"].get("resourceVersion") or 0) for x in (nodes, deployments, replicasets, pods)
                       if str(x["metadata"].get("resourceVersion") or "0").isdigit()), default=0)
        return build_state(nodes["items"], deployments["items"], replicasets["items"], pods["items"],
                           ns, self.now(), version, context=self.context.name)

    def events(self, since: float = 0.0) -> list[Event]:
        items = self._json(self._core.list_namespaced_event, self.namespace)["items"]
        try:
            items += self._json(self._core.list_namespaced_event, "default",
                                field_selector="involvedObject.kind=Node")["items"]
        except Refused:
            pass
        found = [event_of(e) for e in items]
        return sorted((e for e in found if e.time >= since), key=lambda e: e.time)

    def advance(self, seconds: float, observe: Callable[[], None] | None = None) -> None:
        """Real time passes on a real cluster: wait. A served simulator's clock runs `speed`
        times faster than the wall clock (wait 1/speed as long), or, stopped, is moved on."""
        if not self.served_simulator:
            time.sleep(seconds)
            return
        clock = self._clock()
        if clock["speed"] <= 0:
            while seconds > 0:  # in steps: a long one would outlast the request's timeout on a big cluster
                self._clock({"seconds": min(seconds, 60.0)})
                seconds -= 60.0
            return
        end = clock["now"] + seconds
        while (left := end - clock["now"]) > 0:
            time.sleep(left / clock["speed"])
            clock = self._clock()

    def _clock(self, advance: dict | None = None) -> dict:
        """labkit's own endpoint on a served simulator: its time and speed; POST moves it."""
        return self._labkit("POST" if advance else "GET", "/labkit/v1/clock", advance,
                            "moving the served cluster's clock" if advance else "reading the served cluster's clock")

    def _labkit(self, method: str, path: str, body: dict | None, what: str) -> dict:
        """A request to the served simulator's own endpoints (`/labkit/v1/...`), which no
        generated client method knows: its JSON answer, or labkit's error for its Status.
        Through the client's own connection pool and credentials (the same in every client
        version labkit supports)."""
        from kubernetes.client.exceptions import ApiException

        configuration = self._api.configuration
        auth = configuration.auth_settings().get("BearerToken") or {}
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if auth.get("value"):
            headers[auth["key"]] = auth["value"]
        with self._errors(what):
            response = self._api.rest_client.pool_manager.request(
                method, configuration.host + path, body=json.dumps(body) if body is not None else None,
                headers=headers, timeout=self.timeout, retries=False)
            if not 200 <= response.status <= 299:
                error = ApiException(status=response.status, reason=response.reason)
                error.body = response.data.decode(errors="replace")
                raise error
            return json.loads(response.data)

    def cli_target(self, tool: str) -> CliTarget:
        """The real kubectl on labkit's (guarded) context and namespace, made on first use."""
        if tool != "kubectl":
            return CliTarget()
        return CliTarget(env={"KUBECONFIG": os.pathsep.join(self.context.files)}, context=self.context.name,
                         namespace=self.namespace, prepare=self.ensure_namespace)

    def wait_for_change(self, timeout: float) -> bool:
        """Block until one of labkit's pods changes, or `timeout` seconds pass; True when
        something changed. Through the watch API, so a view can redraw the moment the
        cluster moves instead of polling."""
        from kubernetes import watch

        listed = self._json(self._core.list_namespaced_pod, self.namespace, limit=1)
        stream = watch.Watch()
        try:
            with self._errors("watching pods"):
                for _ in stream.stream(self._core.list_namespaced_pod, self.namespace,
                                       resource_version=listed["metadata"].get("resourceVersion"),
                                       timeout_seconds=max(1, math.ceil(timeout)),
                                       _request_timeout=timeout + self.timeout):
                    return True
        finally:
            stream.stop()
        return False

    # -- workloads ---------------------------------------------------------------------------
    def deploy(self, spec: DeploySpec) -> None:
        deployment = deployment_manifest(spec, self.lab, self.eviction_seconds)
        service = service_manifest(spec, self.lab)
        self.ensure_namespace()
        self._create("deployment", spec.name, deployment, self._apps.create_namespaced_deployment,
                     self._apps.read_namespaced_deployment)
        if service is not None:  # nothing half made: a failed service takes the deployment back
            self._create("service", spec.name, service, self._core.create_namespaced_service,
                         self._core.read_namespaced_service,
                         undo=lambda: self._call(self._apps.delete_namespaced_deployment, spec.name, self.namespace))

    # -- requests ----------------------------------------------------------------------------
    def expose(self, name: str, port: int) -> None:
        """A NodePort Service selecting `name`'s pods, port `port` to their port 80, as
        `kubectl expose deployment NAME --port=PORT --target-port=80 --type=NodePort`."""
        labels = self._read_deployment(name)["spec"]["template"]["metadata"].get("labels") or {}
        spec = DeploySpec(name=name, image="", ports=(f"{port}:80",), labels={"app": labels.get("app", name)})
        self._create("service", name, service_manifest(spec, self.lab), self._core.create_namespaced_service,
                     self._core.read_namespaced_service)

    def service(self, name: str):
        """What `name` is reachable at (a model.Service), or None when no Service of labkit's exposes it."""
        from ...model import Service as Exposed
        try:
            found = self._json(self._core.read_namespaced_service, name, self.namespace, what=f"reading service {name}")
        except NotFound:
            return None
        ports = (found.get("spec") or {}).get("ports") or []
        if not belongs_to(found, self.lab) or not ports:
            return None
        return Exposed(name, ports[0]["port"], tuple(sorted(((found["spec"].get("selector")) or {}).items())))

    def targets(self, name: str) -> list[tuple[str, int, str]]:
        """[(node address, node port, "")]: the Service's port on every Ready node (kube-proxy on
        each node spreads the connections over the ready pods; which version answered, the page
        says). A node that is not Ready is left out, as a load balancer's health check would."""
        if self.served_simulator:
            raise Refused("a served simulator has no addresses that answer requests",
                          "send them on the simulator itself: labkit.connect('sim'), then cluster.traffic(...)")
        found = self._json(self._core.read_namespaced_service, name, self.namespace, what=f"reading service {name}")
        node_port = next((p.get("nodePort") for p in found["spec"].get("ports") or [] if p.get("nodePort")), None)
        if node_port is None:
            return []
        out = []
        for node in self._json(self._core.list_node, what="listing nodes").get("items", []):
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions") or [])
            address = next((a["address"] for a in node["status"].get("addresses") or [] if a["type"] == "InternalIP"), None)
            if ready and address:
                out.append((address, node_port, ""))
        return out

    def _create(self, kind: str, name: str, body: dict, create: Callable, read: Callable,
                undo: Callable[[], Any] | None = None) -> None:
        """Create an object in labkit's namespace; when that fails, `undo` first, and a name
        that is taken becomes AlreadyExists saying whose object holds it."""
        try:
            self._call(create, self.namespace, body, what=f"creating {kind} {name}")
        except LabkitError as exc:
            if undo is not None:
                undo()
            if isinstance(exc, AlreadyExists):
                raise self._clash(kind, name, self._json(read, name, self.namespace)) from None
            raise

    def _clash(self, kind: str, name: str, existing: dict) -> AlreadyExists:
        if belongs_to(existing, self.lab):
            return AlreadyExists(f"labkit already has a {kind} named {name!r} in namespace {self.namespace}",
                                 f"pick another name, or change it: cluster.workload({name!r}).update(...)")
        return AlreadyExists(f"a {kind} named {name!r} that labkit did not make exists in namespace "
                             f"{self.namespace}; labkit will not touch it", "pick another name")

    def _read_deployment(self, name: str) -> dict:
        return self._json(self._apps.read_namespaced_deployment, name, self.namespace,
                          what=f"reading deployment {name}")

    def _patch_deployment(self, name: str, body: dict | list, what: str) -> None:
        """PATCH a deployment. The client (every version since 28) sends a list as a JSON patch
        and a dict as a strategic merge patch, where null deletes a field."""
        self._call(self._apps.patch_namespaced_deployment, name, self.namespace, body, what=what)

    def scale(self, name: str, replicas: int) -> None:
        self._call(self._apps.patch_namespaced_deployment_scale, name, self.namespace,
                   {"spec": {"replicas": replicas}},
                   what=f"scaling deployment {name}")

    def update(self, name: str, image: str, strategy: UpdateStrategy) -> None:
        for attempt in range(5):  # replace is optimistic: retry when the controller wrote first
            updated = with_update(self._read_deployment(name), image, strategy)
            try:
                self._call(self._apps.replace_namespaced_deployment, name, self.namespace, updated,
                           what=f"updating deployment {name}")
                break
            except AlreadyExists:
                if attempt == 4:
                    raise

    def rollback(self, name: str) -> None:
        """`kubectl rollout undo`: put the previous revision's pod template back."""
        deployment = self._read_deployment(name)
        if deployment["spec"].get("paused"):
            raise Refused(f"you cannot roll back {name} while its rollout is paused (kubectl refuses too)",
                          f"resume it first: cluster.workload({name!r}).resume()")
        replicasets = owned_replicasets(deployment, self._replicasets())
        previous = previous_replicaset(replicasets)
        if previous is None:
            raise NotFound(f'no rollout history found for deployment "{name}"',
                           "there is nothing to go back to until you have updated the image once")
        if template_without_hash(previous["spec"]["template"]) == template_without_hash(deployment["spec"]["template"]):
            return  # kubectl: "skipped rollback (current template already matches revision N)"
        self._patch_deployment(name, rollback_patch(deployment, previous), f"rolling back deployment {name}")

    def _replicasets(self) -> list[dict]:
        """Every ReplicaSet of the lab's namespace (owned_replicasets picks a deployment's, by uid)."""
        return self._json(self._apps.list_namespaced_replica_set, self.namespace)["items"]

    def history(self, name: str) -> list[tuple[int, str]]:
        return history(owned_replicasets(self._read_deployment(name), self._replicasets()))

    def pause(self, name: str) -> None:
        self._patch_deployment(name, {"spec": {"paused": True}}, f"pausing deployment {name}")

    def resume(self, name: str) -> None:
        self._patch_deployment(name, {"spec": {"paused": False}}, f"resuming deployment {name}")

    def delete(self, name: str) -> None:
        self._call(self._apps.delete_namespaced_deployment, name, self.namespace,
                   propagation_policy="Background", what=f"deleting deployment {name}")
        try:
            service = self._json(self._core.read_namespaced_service, name, self.namespace)
        except NotFound:
            service = None
        if service and belongs_to(service, self.lab):
            self._call(self._core.delete_namespaced_service, name, self.namespace)

    # -- bare containers ------------------------------------------------------------------
    def run_container(self, name: str, image: str, restart: str) -> None:
        manifest = pod_manifest(name, image, restart, self.lab)
        self.ensure_namespace()
        self._create("pod", name, manifest, self._core.create_namespaced_pod, self._core.read_namespaced_pod)

    def start_container(self, name: str) -> None:
        """`docker start` for a bare pod: a pod cannot restart once it ended, so make it anew."""
        pod = self._json(self._core.read_namespaced_pod, name, self.namespace, what=f"reading pod {name}")
        if pod_phase(pod)[0] in ("running", "pending"):
            return
        restart = {v: k for k, v in RESTART_POLICY.items() if k != "unless-stopped"}[pod["spec"]["restartPolicy"]]
        self._delete_pod(name, grace=0)
        self._wait_gone(lambda: self._exists(self._core.read_namespaced_pod, name), f"pod {name}",
                        f"kubectl -n {self.namespace} describe pod {name}", timeout=60)
        self._call(self._core.create_namespaced_pod, self.namespace,
                   pod_manifest(name, pod["spec"]["containers"][0]["image"], restart, self.lab),
                   what=f"creating pod {name}")

    def remove_container(self, name: str) -> None:
        self._delete_pod(name)

    def _exists(self, read: Callable, name: str) -> bool:
        try:
            self._call(read, name, self.namespace)
            return True
        except NotFound:
            return False

    def _delete_pod(self, name: str, grace: int = KILL_GRACE_SECONDS) -> None:
        try:
            self._call(self._core.delete_namespaced_pod, name, self.namespace,
                       grace_period_seconds=grace, what=f"deleting pod {name}")
        except NotFound:
            pass

    def kill_replica(self, name: str | None = None) -> str:
        if name is None:
            running = sorted(r.name for r in self.state().replicas if r.phase == "running")
            if not running:
                raise NotFound("there is no running replica to kill", "deploy something first")
            name = self._rng.choice(running)
        self._delete_pod(name)
        return name

    # -- nodes ------------------------------------------------------------------------------
    def _minikube_node(self, node: str) -> bool:
        """True when `node` belongs to labkit's own minikube profile (then minikube may stop it)."""
        from . import minikube

        profile = self.context.minikube_profile
        return profile == minikube.PROFILE and (node == profile or node.startswith(profile + "-m"))

    @property
    def engine(self) -> str:
        """What runs underneath, in a phrase (`Cluster.about()`)."""
        if self.served_simulator:
            return (f"labkit's simulator of Kubernetes {self.server_version.removesuffix('+labkit')}, served as an "
                    f"API server (context {self.context.name})")
        return f"Kubernetes {self.server_version or '(version unknown)'} (kubectl context {self.context.name})"

    @property
    def served_simulator(self) -> bool:
        """Whether this is labkit's simulator served as an API (`labkit serve`): its version
        says so, and its machines are switched off and on through labkit's own endpoint."""
        return self.server_version.endswith("+labkit")

    on_simulator = served_simulator  # backends.base.Backend's word for it

    def _power(self, name: str, on: bool) -> None:
        self._labkit("POST", f"/labkit/v1/nodes/{name}/{'start' if on else 'stop'}", None,
                     f"switching node {name} {'on' if on else 'off'}")

    def _is_down(self, node: dict) -> bool:
        """Failed through labkit: stopped by minikube (NotReady), or cordoned as a stand-in."""
        return (node["metadata"]["name"] in self._stopped_nodes or annotations_of(node).get(FAILED) == self.lab
                or not is_ready(node))

    def fail_node(self, name: str) -> None:
        """Power a node off: `minikube node stop` on labkit's minikube profile. Elsewhere labkit
        cannot switch a machine off, so it cordons the node and deletes labkit's pods on it,
        which is what the rest of the cluster sees when a node dies, and says so."""
        node = self._json(self._core.read_node, name, what=f"reading node {name}")
        if self._is_down(node):
            raise Refused(f"{name} is already down", f"recover it with cluster.recover_node({name!r})")
        if self.served_simulator or self._minikube_node(name):
            if "node-role.kubernetes.io/control-plane" in labels_of(node):
                raise Refused(f"{name} is the control-plane node: stopping it takes the API server down, "
                              "and with it everything labkit can see", "fail a worker node instead")
            if self.served_simulator:
                self._power(name, False)
                self._stopped_nodes.add(name)
                return
            from . import minikube

            try:
                minikube.node_stop(name, profile=self.context.minikube_profile)
                self._stopped_nodes.add(name)
                return
            except Unavailable as exc:
                warnings.warn(f"{exc.message}; cordoning {name} instead", stacklevel=2)
        self._cordon(name, True, failed=True)
        for pod in self._pods_on(name):
            self._delete_pod(pod)
        warnings.warn(f"labkit cannot power off {name} on this cluster ({self.context.name}): it cordoned "
                      f"the node and deleted labkit's pods on it, so they are rescheduled elsewhere. "
                      f"recover_node({name!r}) uncordons it.", stacklevel=2)

    def recover_node(self, name: str) -> None:
        node = self._json(self._core.read_node, name, what=f"reading node {name}")
        if not self._is_down(node):
            raise Refused(f"{name} is not down", "fail it first with cluster.fail_node(...)")
        if self.served_simulator and name in self._stopped_nodes:
            self._power(name, True)
            self._stopped_nodes.discard(name)
        elif self._minikube_node(name) and (name in self._stopped_nodes or not self._node_ready(name)):
            from . import minikube

            minikube.node_start(name, profile=self.context.minikube_profile)
            self._stopped_nodes.discard(name)
        if annotations_of(node).get(FAILED) == self.lab:
            self._cordon(name, False)

    def add_node(self, role: str = "worker") -> str:
        """A new worker joins: `minikube node add` on labkit's minikube profile, labkit's own
        endpoint on a served simulator. Other clusters grow with their own tools. The node
        stays after reset (it is the cluster's, as minikube's would be)."""
        if role != "worker":
            raise Refused("Kubernetes has no managers: every node added is a worker",
                          "add_node() adds a worker node")
        if self.served_simulator:
            return self._labkit("POST", "/labkit/v1/nodes", None, "adding a node")["metadata"]["name"]
        from . import minikube

        if self.context.minikube_profile != minikube.PROFILE:
            raise Refused(f"labkit adds machines only to its own minikube profile ({minikube.PROFILE}), "
                          f"not to context {self.context.name}",
                          "add one with your cluster's own tool (e.g. `kind`'s config, `k3d node create`)")
        before = {n["metadata"]["name"] for n in self._json(self._core.list_node)["items"]}
        minikube.node_add(profile=self.context.minikube_profile)
        added = sorted({n["metadata"]["name"] for n in self._json(self._core.list_node)["items"]} - before)
        if not added:
            raise Unavailable("minikube added a node, but the cluster does not list it yet",
                              f"look with `kubectl get nodes --context {self.context.name}` in a few seconds")
        return added[-1]

    def _node_ready(self, name: str) -> bool:
        return is_ready(self._json(self._core.read_node, name))

    def _cordon(self, name: str, cordon: bool, failed: bool = False) -> None:
        self._call(self._core.patch_node, name, cordon_patch(cordon, self.lab, failed),
                   what=f"{'cordoning' if cordon else 'uncordoning'} node {name}")

    def _pods_on(self, node: str, controlled: bool = False) -> list[str]:
        """The lab's pods on `node` that are not terminating; `controlled`: only those a
        controller (a ReplicaSet) would make again."""
        pods = self._json(self._core.list_namespaced_pod, self.namespace,
                          field_selector=f"spec.nodeName={node}")["items"]
        return [p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")
                and (not controlled or controller_of(p) is not None)]

    def drain(self, name: str) -> None:
        """`kubectl drain`, limited to the lab's namespace: cordon, then evict the pods a controller
        made through the eviction API (which honours PodDisruptionBudgets). Bare pods stay, as
        kubectl drain leaves them without --force (nothing would make them again); so do the pods
        of other namespaces."""
        self._cordon(name, True)
        for pod in self._pods_on(name, controlled=True):
            try:
                self._call(self._core.create_namespaced_pod_eviction, pod, self.namespace,
                           eviction_manifest(pod, self.namespace), what=f"evicting pod {pod}")
            except NotFound:
                pass

    def uncordon(self, name: str) -> None:
        self._cordon(name, False)

    # -- housekeeping --------------------------------------------------------------------------
    def reset(self) -> None:
        """Delete every namespace labelled as labkit's (any lab), uncordon the nodes labkit
        cordoned, restart the minikube nodes it stopped, and wait until the namespaces are gone
        so the next lesson can start at once. Nothing without labkit's label is touched."""
        if self._stopped_nodes:
            from . import minikube

            for name in sorted(self._stopped_nodes):
                if self.served_simulator:
                    self._power(name, True)
                else:
                    minikube.node_start(name, profile=self.context.minikube_profile)
            self._stopped_nodes.clear()
        for node in self._json(self._core.list_node)["items"]:
            if annotations_of(node).get(CORDONED):
                self._cordon(node["metadata"]["name"], False)
        namespaces = self._labkit_namespaces()
        for ns in namespaces:
            try:  # first the namespace: once it is terminating, no controller can add a pod to it
                self._call(self._core.delete_namespace, ns, what=f"deleting namespace {ns}")
            except NotFound:
                continue
            # then shorten the pods' 30 s grace period, which the namespace would otherwise wait out
            self._call(self._core.delete_collection_namespaced_pod, ns,
                       grace_period_seconds=0, what=f"deleting pods in {ns}")
        self._wait_gone(lambda: bool(self._labkit_namespaces()), "a labkit namespace",
                        f"kubectl get namespaces -l {LABEL} -o yaml")

    def _labkit_namespaces(self) -> list[str]:
        items = self._json(self._core.list_namespace, label_selector=LABEL)["items"]
        return [ns["metadata"]["name"] for ns in items]

    def close(self) -> None:
        api = getattr(self, "_api", None)
        if api is not None:
            api.close()


def doctor(context: str | None = None) -> list[str]:
    """Lines for `labkit doctor`: the cluster labkit would use, or why there is none."""
    from . import minikube

    lines = []
    try:
        ctx = kubecontext.guard(context)
        lines.append(f"kubernetes: context {ctx.name} -> {ctx.server} (local: {ctx.why})")
        backend = KubernetesBackend(context=context, request_timeout=5)
        try:
            state = backend.state()
        finally:
            backend.close()
        lines.append(f"  server version {backend.server_version or 'unknown'}, "
                     f"labkit namespace {backend.namespace}")
        for node in state.nodes:
            lines.append(f"  node {node.name}: {node.role}, {node.status}, "
                         f"{node.cpu_capacity}m CPU, {node.memory_capacity} MiB")
        lines.append(f"  {len(state.workloads)} labkit deployments, {len(state.replicas)} labkit pods")
    except LabkitError as exc:
        lines.append(f"kubernetes: not usable: {exc.message}")
        if exc.hint:
            lines.append(f"  hint: {exc.hint}")
    lines.append("  " + minikube.describe())
    return lines
