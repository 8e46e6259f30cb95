"""Which Kubernetes cluster labkit would talk to, and whether it may.

labkit is for learning: it creates, scales, breaks and deletes things. So it
acts only on a cluster that runs on the student's own machine, and it decides
that from the kubeconfig alone, *before* the Kubernetes client is even
imported, so a refused context never receives a single request.

Resolution follows kubectl:

* the kubeconfig files are `$KUBECONFIG` (a list separated by `os.pathsep`;
  files that do not exist are skipped) or, when it is unset or empty,
  `~/.kube/config`;
* the files are merged the way kubectl merges them: for `current-context` and
  for each named cluster, context and user, the *first* file that sets it
  wins (the Python client's own merger lets the last file win, which is why
  labkit resolves the context itself and then names it to the client);
* the context is the one named explicitly (`context=` argument, else
  `$LABKIT_KUBE_CONTEXT`), else the merged `current-context`.

A context counts as local when

1. its server is on this machine: `localhost`, `*.localhost`, `127.0.0.0/8`,
   `::1` or `0.0.0.0` (kind, k3d, Rancher Desktop, minikube on macOS and
   Windows), whatever the context is called; or
2. a local cluster tool made it -- minikube (its `minikube.sigs.k8s.io`
   provider extension, or the name `minikube`), `kind-*`, `k3d-*`,
   `docker-desktop`, `rancher-desktop` -- *and* its server is on a private
   or link-local address (the VM or container network such a tool uses, e.g.
   minikube's 192.168.49.2) or on a tool's own host name
   (`kubernetes.docker.internal`, `host.docker.internal`, `host.k3d.internal`).

A name alone is never enough: a context called `kind-prod` whose server is a
public address is refused. Host names are read, never looked up (a DNS query
would already be a request to the outside). Any other context is refused with
`Refused`, unless the caller names it *and* says `allow_remote=True`:
`labkit.connect("kubernetes", context="staging", allow_remote=True)`.
"""
from __future__ import annotations

import difflib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ...errors import NotFound, Refused, Unavailable

ENV_CONTEXT = "LABKIT_KUBE_CONTEXT"
MINIKUBE_PROVIDER = "minikube.sigs.k8s.io"
TOOL_PREFIXES = ("kind-", "k3d-")
TOOL_NAMES = ("minikube", "docker-desktop", "docker-for-desktop", "rancher-desktop")
TOOL_HOSTS = ("kubernetes.docker.internal", "host.docker.internal", "host.k3d.internal",
              "host.rancher-desktop.internal")
# RFC 1918 private ranges, link-local, IPv6 unique-local and link-local: where local
# cluster tools put their VMs and containers (minikube's docker driver: 192.168.49.0/24).
LOCAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10"))
START_HINT = ("start a local cluster: `minikube start -p labkit --nodes 3` "
              "(or `labkit.backends.kubernetes.minikube.start()`), or stay on the simulator: labkit.connect('sim')")


@dataclass(frozen=True)
class KubeContext:
    """One resolved kubeconfig context, and labkit's verdict on it."""

    name: str
    cluster: str
    server: str
    user: str
    namespace: str | None
    files: tuple[str, ...]  # the kubeconfig files, in kubectl's order
    local: bool
    why: str  # why it is (or is not) local, in words
    minikube_profile: str | None = None  # the minikube profile that made it, if any
    explicit: bool = False  # named by the caller rather than taken from current-context

    @property
    def host(self) -> str:
        return urlsplit(self.server).hostname or ""


def kubeconfig_files() -> list[Path]:
    """The kubeconfig files kubectl would read, in order (existing ones only)."""
    listed = os.environ.get("KUBECONFIG", "")
    if listed:
        paths = [Path(p).expanduser() for p in listed.split(os.pathsep) if p]
    else:
        paths = [Path.home() / ".kube" / "config"]
    seen: list[Path] = []
    for path in paths:
        if path.is_file() and path not in seen:
            seen.append(path)
    return seen


def merge(configs: list[dict]) -> dict:
    """Merge parsed kubeconfig files with kubectl's rule: the first to set a value wins."""
    merged: dict = {"clusters": [], "contexts": [], "users": [], "current-context": ""}
    for config in configs:
        if not merged["current-context"] and config.get("current-context"):
            merged["current-context"] = config["current-context"]
        for section in ("clusters", "contexts", "users"):
            taken = {entry.get("name") for entry in merged[section]}
            for entry in config.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") not in taken:
                    merged[section].append(entry)
                    taken.add(entry.get("name"))
    return merged


def load(files: list[Path]) -> dict:
    import yaml  # PyYAML comes with the kubernetes client; loaded only when needed

    configs = []
    for path in files:
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise Unavailable(f"cannot read the kubeconfig file {path}: {exc}",
                              "fix or remove the file, or point KUBECONFIG at another one") from None
        if isinstance(data, dict):
            configs.append(data)
    return merge(configs)


def resolve(context: str | None = None) -> KubeContext:
    """The context kubectl would use (or the one named), with labkit's local/remote verdict."""
    files = kubeconfig_files()
    if not files:
        where = (f"none of the files in KUBECONFIG={os.environ['KUBECONFIG']!r} exists"
                 if os.environ.get("KUBECONFIG") else f"{Path.home() / '.kube' / 'config'} does not exist")
        raise Unavailable(f"no kubeconfig found: {where}, so there is no Kubernetes cluster to talk to",
                          START_HINT)
    config = load(files)
    explicit = context or os.environ.get(ENV_CONTEXT) or None
    name = explicit or config["current-context"]
    contexts = {c["name"]: c.get("context") or {} for c in config["contexts"]}
    if not name:
        raise Unavailable(f"the kubeconfig ({', '.join(map(str, files))}) sets no current context",
                          _choose("name one: labkit.connect('kubernetes', context=...)", list(contexts)))
    if name not in contexts:
        match = difflib.get_close_matches(name, list(contexts), n=1)
        raise NotFound(f"no context named {name!r} in {', '.join(map(str, files))}",
                       f"did you mean {match[0]!r}?" if match else _choose("", list(contexts)))
    entry = contexts[name]
    clusters = {c["name"]: c.get("cluster") or {} for c in config["clusters"]}
    cluster = clusters.get(entry.get("cluster", ""), {})
    server = str(cluster.get("server") or "")
    if not server:
        raise Unavailable(f"context {name!r} names cluster {entry.get('cluster')!r}, which has no server address",
                          "fix the kubeconfig, or recreate the cluster (e.g. `minikube update-context -p labkit`)")
    profile = name if (_made_by_minikube(entry) or _made_by_minikube(cluster) or name == "minikube") else None
    local, why = classify(name, server, profile is not None)
    return KubeContext(name=name, cluster=str(entry.get("cluster", "")), server=server,
                       user=str(entry.get("user", "")), namespace=entry.get("namespace"),
                       files=tuple(map(str, files)), local=local, why=why, minikube_profile=profile,
                       explicit=bool(explicit))


def classify(name: str, server: str, made_by_minikube: bool = False) -> tuple[bool, str]:
    """(local?, why) for a context, from its name and server address alone."""
    host = (urlsplit(server).hostname or "").lower()
    if not host:
        return False, f"its server {server!r} has no host name"
    if _is_loopback(host):
        return True, f"its server {host} is on this machine"
    tool = _tool(name, made_by_minikube)
    if tool and (host in TOOL_HOSTS or _is_private(host)):
        return True, f"{tool} made it and its server {host} is on a local network"
    if tool:
        return False, (f"it is named like a {tool} cluster, but its server {host} "
                       "is neither on this machine nor on a local network")
    return False, f"its server {host} is not on this machine"


def guard(context: str | None = None, allow_remote: bool = False) -> KubeContext:
    """Resolve the context and refuse it unless it is local (or named with allow_remote=True).

    Nothing here opens a socket: the verdict comes from the kubeconfig text.
    """
    ctx = resolve(context)
    if ctx.local:
        return ctx
    if allow_remote and context:
        return ctx
    if allow_remote:
        raise Refused(f"allow_remote=True needs the context named in the same call; "
                      f"labkit will not act on the current context {ctx.name!r} ({ctx.server}) by default",
                      f"labkit.connect('kubernetes', context={ctx.name!r}, allow_remote=True)")
    local = local_contexts()
    instead = (f"use a local context: labkit.connect('kubernetes', context={local[0]!r})"
               + (f" (local ones here: {', '.join(local)})" if len(local) > 1 else "")
               if local else "start a local cluster: `minikube start -p labkit --nodes 3`")
    raise Refused(f"labkit will not use Kubernetes context {ctx.name!r}: {ctx.why} ({ctx.server}); "
                  "labkit creates, breaks and deletes things, so it acts only on a local cluster",
                  f"{instead}, or stay on the simulator: labkit.connect('sim'). If you really mean "
                  f"{ctx.name!r}, name it: labkit.connect('kubernetes', context={ctx.name!r}, allow_remote=True)")


def local_contexts() -> list[str]:
    """The names of the contexts in the kubeconfig that labkit counts as local."""
    config = load(kubeconfig_files())
    found = []
    for entry in config["contexts"]:
        try:
            if resolve(entry["name"]).local:
                found.append(entry["name"])
        except (NotFound, Unavailable):
            continue
    return found


def _tool(name: str, made_by_minikube: bool) -> str:
    if made_by_minikube:
        return "minikube"
    if name.startswith("kind-"):
        return "kind"
    if name.startswith("k3d-"):
        return "k3d"
    if name in ("docker-desktop", "docker-for-desktop"):
        return "Docker Desktop"
    if name == "rancher-desktop":
        return "Rancher Desktop"
    return ""


def _made_by_minikube(entry: dict) -> bool:
    for item in entry.get("extensions") or []:
        extension = (item or {}).get("extension") or {}
        if isinstance(extension, dict) and extension.get("provider") == MINIKUBE_PROVIDER:
            return True
    return False


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _ip(host)
    return ip is not None and (ip.is_loopback or ip.is_unspecified)


def _is_private(host: str) -> bool:
    ip = _ip(host)
    return ip is not None and any(ip in net for net in LOCAL_NETWORKS if net.version == ip.version)


def _choose(prefix: str, names: list[str]) -> str:
    listed = f"contexts in the kubeconfig: {', '.join(sorted(names))}" if names else "the kubeconfig has no contexts"
    return f"{prefix}; {listed}" if prefix else listed
