"""Services (pkg/registry/core/service): the ones clients make, the API server's own and CoreDNS's.

A Service keeps the spec the API server defaulted (kube/services.py: a cluster IP from
10.96.0.0/12, node ports from 30000-32767, TCP, targetPort = port), whose cluster IP never
changes; `default/kubernetes` is the API server's own service and `kube-system/kube-dns`
CoreDNS's (what `kubectl cluster-info` lists), neither changed nor deleted through the API. A
name is a DNS-1035 label (pkg/apis/core/validation ValidateService). Deleting one answers it
(the registry's ReturnDeletedObject). The table follows printService.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .....errors import LabkitError
from ...objects import KubeService
from .. import resources as res
from .. import services
from ..printers import AGE, NAME, age, format_labels, parts
from ..status import ApiError, from_labkit, invalid
from . import ALL, REGISTRY, STATUS, Cause, Column, Kind, Obj, Strategy, Watch
from .common import check_kind, user_annotations

if TYPE_CHECKING:
    from ..rest import Storage

DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1035_HELP = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


def validate_spec(name: str, spec: dict) -> list[tuple[str, str]]:
    causes = []
    if not DNS1035.match(name or "") or len(name) > 63:
        causes.append(("metadata.name", f'Invalid value: "{name}": {DNS1035_HELP}'))
    kind = spec.get("type", "ClusterIP")
    if kind not in TYPES:
        causes.append(("spec.type", f'Unsupported value: "{kind}": supported values: "{TYPES[0]}", "{TYPES[3]}", '
                                    f'"{TYPES[2]}", "{TYPES[1]}"'))
    ports = spec.get("ports") or []
    if not ports and kind != "ExternalName":
        causes.append(("spec.ports", "Required value"))
    for i, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append((f"spec.ports[{i}].port", f"Invalid value: {number}: must be between 1 and 65535, "
                                                    "inclusive"))
        if len(ports) > 1 and not port.get("name"):
            causes.append((f"spec.ports[{i}].name", "Required value"))
    return causes


def render(s: KubeService, clock: res.Clockwork) -> dict:
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": res.meta("Service", s.name, s.resource_version, s.created, clock, labels=s.labels or None,
                                 annotations=s.annotations or None),
            "spec": s.spec, "status": {"loadBalancer": {}}}


def api_server_service(clock: res.Clockwork) -> dict:
    """`default/kubernetes`: the API server's own ClusterIP service, present in every cluster."""
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": res.meta("Service", "kubernetes", 1, 0.0, clock,
                                 labels={"component": "apiserver", "provider": "kubernetes"}),
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}],
                     "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                     "internalTrafficPolicy": "Cluster"},
            "status": {"loadBalancer": {}}}


def system_services(clock: res.Clockwork) -> list[dict]:
    """`kube-system/kube-dns`: CoreDNS's service, which `kubectl cluster-info` lists."""
    labels = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}
    return [{"kind": "Service", "apiVersion": "v1",
             "metadata": res.meta("Service", res.key("kube-system", "kube-dns"), 1, 0.0, clock, labels=labels),
             "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                      "selector": {"k8s-app": "kube-dns"}, "sessionAffinity": "None",
                      "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
                      "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
             "status": {"loadBalancer": {}}}]


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    system = [api_server_service(store.clock)] + system_services(store.clock)
    return [s for s in system if namespace in (None, s["metadata"]["namespace"])] + [
        render(store.items(services.KIND)[k], store.clock) for k in store.keys(services.KIND, namespace)]


def validate(name: str, body: Obj) -> list[Cause]:
    return validate_spec(name, body.get("spec") or {})


def create(store: Storage, namespace: str, body: Obj, dry_run: bool) -> Obj:
    meta, spec = body.get("metadata") or {}, body.get("spec") or {}
    name = meta.get("name") or ""
    key = res.key(namespace, name)
    if key == "kubernetes" or key in store.items(services.KIND):
        raise ApiError(409, "AlreadyExists", f'services "{name}" already exists',
                       {"name": name, "kind": "services"})
    made = KubeService(key, services.defaulted(key, spec, services.node_ports(store.sim)),
                       dict(meta.get("labels") or {}), user_annotations(body), store.sim.now())
    if dry_run:
        return render(made, store.clock)
    store.sim.api.check()
    store.sim.api.write(services.KIND, made)
    return store.get("services", namespace, name)


def update(store: Storage, namespace: str, name: str, current: Obj, wanted: Obj, dry_run: bool) -> None:
    """`kubectl patch/edit/apply` of a Service: its spec (ports merged on `port`, the selector,
    the type), labels and annotations; its cluster IP stays what it was given."""
    key = res.key(namespace, name)
    if key == "kubernetes":
        raise ApiError(405, "MethodNotAllowed", "the simulator does not change services yet")
    check_kind(wanted, "Service", "v1")
    spec = dict(wanted.get("spec") or {})
    causes = validate_spec(name, spec)
    old_ip = current["spec"].get("clusterIP")
    if spec.get("clusterIP", old_ip) != old_ip:
        causes.append(("spec.clusterIP", f'Invalid value: "{spec["clusterIP"]}": field is immutable'))
    if causes:
        raise invalid("Service", "services", name, causes)
    if dry_run:
        return
    service = store.items(services.KIND)[key]
    taken = services.node_ports(store.sim) - {p.get("nodePort") for p in service.spec.get("ports", [])}
    store.sim.api.check()
    service.spec = services.defaulted(key, {**spec, "clusterIP": old_ip}, taken)
    service.labels = dict((wanted.get("metadata") or {}).get("labels") or {})
    service.annotations = user_annotations(wanted)
    store.sim.api.write(services.KIND, service)


def delete(store: Storage, namespace: str, name: str, found: Obj, dry_run: bool) -> Obj:
    if dry_run:
        return found
    key = res.key(namespace or res.NAMESPACE, name)
    if key == "kubernetes":
        raise ApiError(405, "MethodNotAllowed", "the simulator does not delete services yet")
    try:
        store.sim.api.check()
        store.sim.api.remove(services.KIND, key)
    except LabkitError as error:
        raise from_labkit(error, "services", name) from None
    return found


def service_row(service: Obj, now: float) -> list:
    """Follows printService: Name, Type, Cluster-IP, External-IP, Port(s), Age | Selector."""
    meta, spec, _ = parts(service)
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [meta.get("name", ""), spec.get("type") or "ClusterIP", cluster_ips[0] if cluster_ips else "<none>",
            _external_ip(service), _port_string(spec.get("ports") or []) or "<none>", age(service, now),
            format_labels(spec.get("selector"))]


def _external_ip(service: Obj) -> str:
    """Follows getServiceExternalIP (wide, as the server prints it: no clipping)."""
    spec, status = service.get("spec") or {}, service.get("status") or {}
    kind, external = spec.get("type") or "ClusterIP", spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        ingress = ((status.get("loadBalancer") or {}).get("ingress")) or []
        balancers = sorted({i.get("ip") or i.get("hostname") for i in ingress} - {None, ""})
        return ",".join(balancers + external) or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _port_string(ports: list[Obj]) -> str:
    """Follows makePortString: "80/TCP", or "80:30080/TCP" with a node port."""
    pieces = []
    for port in ports:
        node_port, protocol = port.get("nodePort") or 0, port.get("protocol") or "TCP"
        pieces.append(f"{port.get('port', 0)}:{node_port}/{protocol}" if node_port > 0
                      else f"{port.get('port', 0)}/{protocol}")
    return ",".join(pieces)


SERVICE = REGISTRY.add(Kind(
    group="", version="v1", plural="services", kind="Service", namespaced=True, verbs=ALL, short=("svc",),
    subresources=(STATUS,), categories=("all",), schema="io.k8s.api.core.v1.Service", protobuf="Service",
    columns=(NAME,
             Column("Type", "string", "How the service is exposed (ClusterIP, NodePort, LoadBalancer, ExternalName)."),
             Column("Cluster-IP", "string", "The service's cluster IP (spec.clusterIPs)."),
             Column("External-IP", "string", "External addresses of the service."),
             Column("Port(s)", "string", "The ports the service exposes."),
             AGE, Column("Selector", "string", "Labels of the pods the service routes to.", 1)),
    row=service_row, watch=Watch(record=services.KIND),
    strategy=Strategy(objects=objects, validate=validate, create=create, update=update, delete=delete)))
