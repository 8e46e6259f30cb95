"""Kubernetes protobuf request bodies, decoded into the JSON dicts the REST API would have been sent.

kubectl's typed clients send some bodies only as `application/vnd.kubernetes.protobuf`
(`kubectl create deployment|service|namespace|configmap|secret ...`). Such a body is the
magic `k8s\\x00` and a `runtime.Unknown` envelope: typeMeta {apiVersion, kind}, raw (the
object, itself protobuf), contentEncoding and contentType. `decode(body)` returns the object
as a JSON-shaped dict with "apiVersion" and "kind", as a JSON body would have given it.

The decoder is a generic wire-format reader plus the table MESSAGES: for each message,
field number -> (JSON name, type). A type is a scalar ("string", "int32", "int64", "bool",
"bytes"), a message name, "[]T" for a repeated field or "map[string]T" for a proto map
(entries with key = 1, value = 2). Like Go's JSON encoder, a scalar whose value is zero ("",
0, false) is left out unless its type starts with "*", which marks a field JSON writes even
when zero (a Go pointer, or a field without omitempty). A JSON name "" marks an embedded
message whose fields JSON inlines into the parent. A few messages become JSON scalars
(SCALAR_MESSAGES): IntOrString -> int or str, Quantity -> str, Time -> RFC 3339 (or left out
when zero); "Unread" stands for a message this decoder does not read (it becomes {}). Fields
not in the table (volumes, affinity, lifecycle, env fieldRef, managedFields, ...) are skipped.
Which message a body of (apiVersion, kind) is read by: a served kind's `protobuf` (kinds/), or
OTHERS for bodies that are no served resource.
(Observed with kubectl v1.37.1: `kubectl drain` and `kubectl run` send JSON, the create
generators above protobuf; other clients may send an Eviction or a Pod as protobuf too.)

Field numbers and JSON names were read from kubernetes/kubernetes generated.proto files:
core/v1 at 0032f46b5dcb893b0684679408a2da9bd26a0859, apps/v1 at 0122c43a017029d0572474da5a6382e1463f9710,
meta/v1 at 04d76b7b89ed9b0d36dcb61572a3ff7b39c00989 (Preconditions.resourceVersion from meta/v1
types.go at 007b1173faf533318108a04b3fdc227173aa4cb1), runtime at 203d8ac83844b8ea8ece8ece7630cb22ef8f327d,
intstr at 009a4a8bc0b3dde74bdce54289f58bf82efaf5e9, resource at 0f9f0907d6dbe57e78d61f3432bf9b63514b540a,
policy Eviction from policy/v1 types.go at 083e3f3e0db4c37bf3fb4e6715a9d8d035cab428 (same numbers as
policy/v1beta1 generated.proto at 008b3652959ca58af8be3fb5b6ecfe9ae7638282).
"""
from __future__ import annotations

import base64
import datetime
import json
from typing import Any, Iterator

from .registry import REGISTRY

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

Schema = dict[int, tuple[str, str]]

META = ("metadata", "ObjectMeta")
MESSAGES: dict[str, Schema] = {
    # k8s.io/apimachinery/pkg/runtime
    "runtime.TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "runtime.Unknown": {1: ("typeMeta", "runtime.TypeMeta"), 2: ("raw", "bytes"), 3: ("contentEncoding", "string"),
                        4: ("contentType", "string")},
    # k8s.io/apimachinery/pkg/util/intstr and pkg/api/resource (see SCALAR_MESSAGES)
    "IntOrString": {1: ("type", "int64"), 2: ("intVal", "int32"), 3: ("strVal", "string")},
    "Quantity": {1: ("string", "string")},
    # k8s.io/apimachinery/pkg/apis/meta/v1
    "Time": {1: ("seconds", "*int64"), 2: ("nanos", "int32")},
    "TypeMeta": {1: ("kind", "string"), 2: ("apiVersion", "string")},
    "ObjectMeta": {1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
                   4: ("selfLink", "string"), 5: ("uid", "string"), 6: ("resourceVersion", "string"),
                   7: ("generation", "int64"), 8: ("creationTimestamp", "Time"), 9: ("deletionTimestamp", "Time"),
                   10: ("deletionGracePeriodSeconds", "*int64"), 11: ("labels", "map[string]string"),
                   12: ("annotations", "map[string]string"), 13: ("ownerReferences", "[]OwnerReference"),
                   14: ("finalizers", "[]string")},
    "OwnerReference": {5: ("apiVersion", "*string"), 1: ("kind", "*string"), 3: ("name", "*string"),
                       4: ("uid", "*string"), 6: ("controller", "*bool"), 7: ("blockOwnerDeletion", "*bool")},
    "LabelSelector": {1: ("matchLabels", "map[string]string"), 2: ("matchExpressions", "[]LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: ("key", "*string"), 2: ("operator", "*string"), 3: ("values", "[]string")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "*int64"), 2: ("preconditions", "Preconditions"),
                      3: ("orphanDependents", "*bool"), 4: ("propagationPolicy", "*string"), 5: ("dryRun", "[]string")},
    "Preconditions": {1: ("uid", "*string"), 2: ("resourceVersion", "*string")},
    # k8s.io/api/policy/v1
    "Eviction": {1: META, 2: ("deleteOptions", "DeleteOptions")},
    # k8s.io/api/apps/v1
    "Deployment": {1: META, 2: ("spec", "DeploymentSpec"), 3: ("status", "Unread")},
    "DeploymentSpec": {1: ("replicas", "*int32"), 2: ("selector", "LabelSelector"), 3: ("template", "PodTemplateSpec"),
                       4: ("strategy", "DeploymentStrategy"), 5: ("minReadySeconds", "int32"),
                       6: ("revisionHistoryLimit", "*int32"), 7: ("paused", "bool"),
                       9: ("progressDeadlineSeconds", "*int32"), 10: ("podReplacementPolicy", "*string")},
    "DeploymentStrategy": {1: ("type", "string"), 2: ("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "IntOrString"), 2: ("maxSurge", "IntOrString")},
    # k8s.io/api/core/v1
    "Namespace": {1: META, 2: ("spec", "NamespaceSpec"), 3: ("status", "NamespaceStatus")},
    "NamespaceSpec": {1: ("finalizers", "[]string")},
    "NamespaceStatus": {1: ("phase", "string")},
    "ConfigMap": {1: META, 2: ("data", "map[string]string"), 3: ("binaryData", "map[string]bytes"),
                  4: ("immutable", "*bool")},
    "ServiceAccount": {1: META, 2: ("secrets", "[]ObjectReference"), 3: ("imagePullSecrets", "[]LocalObjectReference"),
                       4: ("automountServiceAccountToken", "*bool")},
    "Secret": {1: META, 2: ("data", "map[string]bytes"), 3: ("type", "string"),
               4: ("stringData", "map[string]string"), 5: ("immutable", "*bool")},
    "Service": {1: META, 2: ("spec", "ServiceSpec"), 3: ("status", "ServiceStatus")},
    "ServiceSpec": {1: ("ports", "[]ServicePort"), 2: ("selector", "map[string]string"), 3: ("clusterIP", "string"),
                    18: ("clusterIPs", "[]string"), 4: ("type", "string"), 5: ("externalIPs", "[]string"),
                    7: ("sessionAffinity", "string"), 8: ("loadBalancerIP", "string"),
                    9: ("loadBalancerSourceRanges", "[]string"), 10: ("externalName", "string"),
                    11: ("externalTrafficPolicy", "string"), 12: ("healthCheckNodePort", "int32"),
                    13: ("publishNotReadyAddresses", "bool"), 19: ("ipFamilies", "[]string"),
                    17: ("ipFamilyPolicy", "*string"), 20: ("allocateLoadBalancerNodePorts", "*bool"),
                    21: ("loadBalancerClass", "*string"), 22: ("internalTrafficPolicy", "*string"),
                    23: ("trafficDistribution", "*string")},
    "ServicePort": {1: ("name", "string"), 2: ("protocol", "string"), 6: ("appProtocol", "*string"),
                    3: ("port", "*int32"), 4: ("targetPort", "IntOrString"), 5: ("nodePort", "int32")},
    "ServiceStatus": {1: ("loadBalancer", "Unread")},
    "Pod": {1: META, 2: ("spec", "PodSpec"), 3: ("status", "Unread")},
    "PodTemplateSpec": {1: META, 2: ("spec", "PodSpec")},
    "PodSpec": {20: ("initContainers", "[]Container"), 2: ("containers", "[]Container"),
                3: ("restartPolicy", "string"), 4: ("terminationGracePeriodSeconds", "*int64"),
                5: ("activeDeadlineSeconds", "*int64"), 6: ("dnsPolicy", "string"),
                7: ("nodeSelector", "map[string]string"), 8: ("serviceAccountName", "string"),
                9: ("serviceAccount", "string"), 21: ("automountServiceAccountToken", "*bool"),
                10: ("nodeName", "string"), 11: ("hostNetwork", "bool"), 12: ("hostPID", "bool"),
                13: ("hostIPC", "bool"), 27: ("shareProcessNamespace", "*bool"),
                14: ("securityContext", "PodSecurityContext"), 15: ("imagePullSecrets", "[]LocalObjectReference"),
                16: ("hostname", "string"), 17: ("subdomain", "string"), 19: ("schedulerName", "string"),
                22: ("tolerations", "[]Toleration"), 24: ("priorityClassName", "string"), 25: ("priority", "*int32"),
                29: ("runtimeClassName", "*string"), 30: ("enableServiceLinks", "*bool"),
                31: ("preemptionPolicy", "*string")},
    "PodSecurityContext": {2: ("runAsUser", "*int64"), 6: ("runAsGroup", "*int64"), 3: ("runAsNonRoot", "*bool"),
                           4: ("supplementalGroups", "[]int64"), 5: ("fsGroup", "*int64"),
                           9: ("fsGroupChangePolicy", "*string")},
    "SecurityContext": {1: ("capabilities", "Capabilities"), 2: ("privileged", "*bool"), 4: ("runAsUser", "*int64"),
                        8: ("runAsGroup", "*int64"), 5: ("runAsNonRoot", "*bool"),
                        6: ("readOnlyRootFilesystem", "*bool"), 7: ("allowPrivilegeEscalation", "*bool"),
                        9: ("procMount", "*string")},
    "Capabilities": {1: ("add", "[]string"), 2: ("drop", "[]string")},
    "LocalObjectReference": {1: ("name", "string")},
    "ObjectReference": {1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string"), 4: ("uid", "string"),
                        5: ("apiVersion", "string"), 6: ("resourceVersion", "string"), 7: ("fieldPath", "string")},
    "Toleration": {1: ("key", "string"), 2: ("operator", "string"), 3: ("value", "string"), 4: ("effect", "string"),
                   5: ("tolerationSeconds", "*int64")},
    "Container": {1: ("name", "*string"), 2: ("image", "string"), 3: ("command", "[]string"), 4: ("args", "[]string"),
                  5: ("workingDir", "string"), 6: ("ports", "[]ContainerPort"), 7: ("env", "[]EnvVar"),
                  8: ("resources", "ResourceRequirements"), 24: ("restartPolicy", "*string"),
                  10: ("livenessProbe", "Probe"), 11: ("readinessProbe", "Probe"), 22: ("startupProbe", "Probe"),
                  13: ("terminationMessagePath", "string"), 20: ("terminationMessagePolicy", "string"),
                  14: ("imagePullPolicy", "string"), 15: ("securityContext", "SecurityContext"),
                  16: ("stdin", "bool"), 17: ("stdinOnce", "bool"), 18: ("tty", "bool")},
    "ContainerPort": {1: ("name", "string"), 2: ("hostPort", "int32"), 3: ("containerPort", "*int32"),
                      4: ("protocol", "string"), 5: ("hostIP", "string")},
    "EnvVar": {1: ("name", "*string"), 2: ("value", "string"), 3: ("valueFrom", "EnvVarSource")},
    "EnvVarSource": {2: ("resourceFieldRef", "ResourceFieldSelector"), 3: ("configMapKeyRef", "ConfigMapKeySelector"),
                     4: ("secretKeyRef", "SecretKeySelector")},
    "ResourceFieldSelector": {1: ("containerName", "string"), 2: ("resource", "*string"), 3: ("divisor", "Quantity")},
    "ConfigMapKeySelector": {1: ("", "LocalObjectReference"), 2: ("key", "*string"), 3: ("optional", "*bool")},
    "SecretKeySelector": {1: ("", "LocalObjectReference"), 2: ("key", "*string"), 3: ("optional", "*bool")},
    "ResourceRequirements": {1: ("limits", "map[string]Quantity"), 2: ("requests", "map[string]Quantity")},
    "Probe": {1: ("", "ProbeHandler"), 2: ("initialDelaySeconds", "int32"), 3: ("timeoutSeconds", "int32"),
              4: ("periodSeconds", "int32"), 5: ("successThreshold", "int32"), 6: ("failureThreshold", "int32"),
              7: ("terminationGracePeriodSeconds", "*int64")},
    "ProbeHandler": {1: ("exec", "ExecAction"), 2: ("httpGet", "HTTPGetAction"), 3: ("tcpSocket", "TCPSocketAction"),
                     4: ("grpc", "GRPCAction")},
    "ExecAction": {1: ("command", "[]string")},
    "HTTPGetAction": {1: ("path", "string"), 2: ("port", "IntOrString"), 3: ("host", "string"), 4: ("scheme", "string"),
                      5: ("httpHeaders", "[]HTTPHeader")},
    "HTTPHeader": {1: ("name", "*string"), 2: ("value", "*string")},
    "TCPSocketAction": {1: ("port", "IntOrString"), 2: ("host", "string")},
    "GRPCAction": {1: ("port", "*int32"), 2: ("service", "*string")},
    "Unread": {},
}

# Bodies of kinds that are no served resource (a pod's eviction, delete options): (apiVersion, kind) ->
# message. A served kind names its own (Kind.protobuf).
OTHERS = {("policy/v1", "Eviction"): "Eviction",
          ("policy/v1beta1", "Eviction"): "Eviction", ("v1", "DeleteOptions"): "DeleteOptions",
          ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions"}


def message(api_version: str, kind: str) -> str | None:
    """The message a body of (apiVersion, kind) is decoded by, or None when there is none."""
    served = next((k for k in REGISTRY if k.protobuf and (k.group_version, k.kind) == (api_version, kind)), None)
    return served.protobuf if served is not None else OTHERS.get((api_version, kind))


def kinds() -> set[tuple[str, str]]:
    """The (apiVersion, kind) pairs decode() accepts."""
    return {(k.group_version, k.kind) for k in REGISTRY if k.protobuf} | set(OTHERS)

SCALARS = {"string", "bytes", "int32", "int64", "bool"}
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def decode(body: bytes) -> dict:
    """The object in a Kubernetes protobuf body, as the JSON dict a JSON body would have given."""
    if not body.startswith(MAGIC):
        raise ValueError(f"not a Kubernetes protobuf body: it must start with {MAGIC!r}, not {bytes(body[:4])!r}")
    envelope = decode_message(body[len(MAGIC):], "runtime.Unknown")
    meta = envelope.get("typeMeta", {})
    api_version, kind = meta.get("apiVersion", ""), meta.get("kind", "")
    raw = base64.b64decode(envelope.get("raw", ""))
    encoding, content_type = envelope.get("contentEncoding", ""), envelope.get("contentType", "")
    if encoding:
        raise ValueError(f"protobuf body with contentEncoding {encoding!r} is not supported")
    if content_type.startswith("application/json"):
        return json.loads(raw)
    if content_type not in ("", CONTENT_TYPE):
        raise ValueError(f"protobuf envelope holds {content_type!r}, which cannot be decoded")
    name = message(api_version, kind)
    if name is None:
        raise ValueError(f"no protobuf schema for {kind or '(no kind)'} in {api_version or '(no apiVersion)'}; "
                         "send it as JSON")
    return {"kind": kind, "apiVersion": api_version, **decode_message(raw, name)}


def schema_of(name: str) -> Schema:
    """A message's fields: from MESSAGES, or a served kind's own (Kind.messages)."""
    found = MESSAGES.get(name)
    if found is None:
        found = next((k.messages[name] for k in REGISTRY if name in k.messages), None)
    if found is None:
        raise ValueError(f"no protobuf message {name}")
    return found


def decode_message(data: bytes, name: str) -> Any:
    """The message `name` in `data`, as JSON: a dict, or a scalar for SCALAR_MESSAGES."""
    schema, out = schema_of(name), {}
    for number, wire, value in fields(data):
        if number not in schema:
            continue
        json_name, kind = schema[number]
        keep, kind = kind.startswith("*"), kind.lstrip("*")
        where = f"{name}.{json_name or kind}"
        if kind.startswith("[]"):
            out.setdefault(json_name, []).extend(_repeated(kind[2:], wire, value, where))
        elif kind.startswith("map[string]"):
            key, item = _entry(_need(wire, LENGTH, value, where), kind[len("map[string]"):], where)
            out.setdefault(json_name, {})[key] = item
        elif not json_name:
            out.update(decode_message(_need(wire, LENGTH, value, where), kind))
        else:
            item = _value(kind, wire, value, where)
            if item is None or (kind in SCALARS and not keep and item in ("", 0)):
                out.pop(json_name, None)  # JSON leaves zero values out
            else:
                out[json_name] = item
    return SCALAR_MESSAGES[name](out) if name in SCALAR_MESSAGES else out


def _value(kind: str, wire: int, value: int | bytes, where: str) -> Any:
    if kind == "string":
        return _text(_need(wire, LENGTH, value, where))
    if kind == "bytes":
        return base64.b64encode(_need(wire, LENGTH, value, where)).decode("ascii")
    if kind in ("int32", "int64", "bool"):
        number = _need(wire, VARINT, value, where)
        return bool(number) if kind == "bool" else _signed(number, 32 if kind == "int32" else 64)
    return decode_message(_need(wire, LENGTH, value, where), kind)


def _repeated(kind: str, wire: int, value: int | bytes, where: str) -> list:
    if wire == LENGTH and kind in ("int32", "int64", "bool"):  # a packed run of varints
        return [_value(kind, VARINT, item, where) for item in _varints(value)]
    return [_value(kind, wire, value, where)]


def _entry(data: bytes, kind: str, where: str) -> tuple[str, Any]:
    """A map entry: key = 1 (a string), value = 2."""
    key, item = "", None
    for number, wire, value in fields(data):
        if number == 1:
            key = _text(_need(wire, LENGTH, value, where))
        elif number == 2:
            item = _value(kind, wire, value, where)
    return key, _value(kind, LENGTH, b"", where) if item is None else item


def _time(message: dict) -> str | None:
    if "seconds" not in message:
        return None  # Go's zero time, which JSON leaves out
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    try:
        moment = epoch + datetime.timedelta(seconds=message["seconds"])
    except OverflowError:
        raise ValueError(f"protobuf Time out of range: {message['seconds']} seconds") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # JSON keeps whole seconds only


def _int_or_string(message: dict) -> int | str:
    return message.get("strVal", "") if message.get("type") == 1 else message.get("intVal", 0)


SCALAR_MESSAGES = {"Time": _time, "IntOrString": _int_or_string, "Quantity": lambda m: m.get("string", "")}


# -- the wire format ---------------------------------------------------------------------------

def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field in `data`: an int, or bytes for length-delimited."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError(f"bad protobuf field number 0 at byte {pos}")
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            value, pos = int.from_bytes(_take(data, pos, size), "little"), pos + size
        elif wire == LENGTH:
            size, pos = _varint(data, pos)
            value, pos = _take(data, pos, size), pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} (field {number})")
        yield number, wire, value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("protobuf message is truncated (in a varint)")
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("protobuf varint is longer than 10 bytes")


def _varints(data: bytes) -> Iterator[int]:
    pos = 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        yield value


def _take(data: bytes, pos: int, size: int) -> bytes:
    if pos + size > len(data):
        raise ValueError(f"protobuf message is truncated (needs {size} bytes at byte {pos}, has {len(data) - pos})")
    return bytes(data[pos:pos + size])


def _signed(number: int, bits: int) -> int:
    number &= (1 << bits) - 1
    return number - (1 << bits) if number >> (bits - 1) else number


def _need(wire: int, expected: int, value: int | bytes, where: str) -> Any:
    if wire != expected:
        raise ValueError(f"protobuf field {where} has wire type {wire}, expected {expected}")
    return value


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("protobuf string is not UTF-8") from None
