"""`/_ping`, `/version` and `/info`: what the CLI asks before anything else.

    docker version         # Server: labkit's simulated Docker Engine, Version 29.7.2, API 1.55 (minimum 1.40)

The engine answers as Docker Engine 29.7.2 (versions.py) answers out of the box (moby
docker-v29.7.2: daemon/info.go SystemVersion and SystemInfo, daemon/server/router/system/
system_routes.go getInfo). Its API runs from 1.40 to 1.55 (daemon/config/config.go:
defaultMinAPIVersion, MaxAPIVersion), and `/version` says so in MinAPIVersion, which is the
daemon's configured minimum (SystemVersion reads cfg.MinAPIVersion: "1.40" by default, the value
of DOCKER_MIN_API_VERSION when dockerd was started with it). Docker 29.0 to 29.2 refused clients
older than API 1.44 unless dockerd was started with DOCKER_MIN_API_VERSION (1.24 at the lowest,
daemon/command/daemon.go); 29.3.0 lowered the default to 1.40 (moby f96921e5e5, "api: lower
default minimum API version to v1.40"), so Debian's 20.10 CLI (API 1.41) works with a plain
29.7.2 daemon and no override is needed. A client asking for less than 1.40 hears the daemon's
400 (server.py negotiate).

`/info` changes with the API version the client asked for, as getInfo changes it: fields newer
than the client's version are left out, fields the daemon dropped are put back for older ones.
"""
from __future__ import annotations

from . import images, swarm
from .boxes import boxes
from .common import Answer, Call, route
from .state import API_VERSION, ENGINE_VERSION, MIN_API_VERSION, Engine

KERNEL = "6.1.0-28-amd64"  # Debian 12's kernel, the machines the course runs on
OS = "Debian GNU/Linux 12 (bookworm)"
# What moby docker-v29.7.2 was built with and ships beside (its Dockerfile: GO_VERSION, CONTAINERD_VERSION,
# RUNC_VERSION, TINI_VERSION), with each component's commit as `docker version` shows it.
GIT_COMMIT = "6a43e3d"  # the commit tagged docker-v29.7.2
BUILD_TIME = "2026-08-05T18:26:21.000000000+00:00"
GO_VERSION = "go1.26.5"
CONTAINERD = ("v2.3.3", "aad11006b869517fcd3009450b6f82da282e1a9b")
RUNC = ("1.4.3", "v1.4.3-0-gbb14dab")
DOCKER_INIT = ("0.19.0", "de40ad0")  # tini


@route("GET", "/_ping")
def ping(call: Call) -> Answer:
    """`OK`, with the headers a client negotiates from (every answer carries API-Version; the
    ping adds what the swarm is, that BuildKit builds (Builder-Version 2, the default on Linux
    since 23.0), and no body to a HEAD)."""
    headers = {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
               "Builder-Version": "2", "Swarm": "inactive" if not call.engine.in_swarm else
               "active/manager" if call.engine.host.role == "manager" else "active/worker"}
    return Answer(text="" if call.method == "HEAD" else "OK", headers=headers)


@route("GET", "/version")
def version(call: Call) -> Answer:
    """system.VersionResponse (daemon/info.go SystemVersion): the engine, then containerd, runc and
    docker-init; ModuleVersion is the daemon's fallback (defaultModuleVersion) for a build that does
    not stamp one."""
    details = {"ApiVersion": API_VERSION, "Arch": "amd64", "BuildTime": BUILD_TIME, "Experimental": "false",
               "GitCommit": GIT_COMMIT, "GoVersion": GO_VERSION, "KernelVersion": KERNEL,
               "MinAPIVersion": MIN_API_VERSION, "Module": "github.com/moby/moby/v2",
               "ModuleVersion": "v2.0.0+unknown", "Os": "linux"}
    return Answer(json={
        "Platform": {"Name": "labkit's simulated Docker Engine"},
        "Components": [{"Name": "Engine", "Version": ENGINE_VERSION, "Details": details},
                       {"Name": "containerd", "Version": CONTAINERD[0], "Details": {"GitCommit": CONTAINERD[1]}},
                       {"Name": "runc", "Version": RUNC[0], "Details": {"GitCommit": RUNC[1]}},
                       {"Name": "docker-init", "Version": DOCKER_INIT[0], "Details": {"GitCommit": DOCKER_INIT[1]}}],
        "Version": ENGINE_VERSION, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": GIT_COMMIT, "GoVersion": GO_VERSION, "Os": "linux", "Arch": "amd64",
        "KernelVersion": KERNEL, "BuildTime": BUILD_TIME})


@route("GET", "/info")
def info(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        return Answer(json=system_info(engine, call.version or API_VERSION))


def system_info(engine: Engine, api: str = API_VERSION) -> dict:
    """system.Info as a 29.7.2 daemon answers it to a client of API version `api`."""
    host = engine.host
    here = boxes(engine)
    running = sum(1 for b in here if b.state == "running")
    out = {
        "ID": engine.node_id(host.name).upper()[:12], "Containers": len(here), "ContainersRunning": running,
        "ContainersPaused": 0, "ContainersStopped": len(here) - running,
        "Images": len(images.held(engine)), "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"], ["Using metacopy", "false"],
                         ["Native Overlay Diff", "true"], ["userxattr", "false"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"],
                    "Authorization": None, "Log": ["awslogs", "fluentd", "gcplogs", "gelf", "journald",
                                                   "json-file", "local", "splunk", "syslog"]},
        "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
        "Debug": False, "NFd": 30, "OomKillDisable": False, "NGoroutines": 160,
        "SystemTime": engine.timestamp(engine.sim.now()), "LoggingDriver": "json-file", "CgroupDriver": "systemd",
        "CgroupVersion": "2", "NEventsListener": 0, "KernelVersion": KERNEL, "OperatingSystem": OS,
        "OSVersion": "12", "OSType": "linux", "Architecture": "x86_64",
        "RegistryConfig": {"InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"], "IndexConfigs": {}, "Mirrors": None},
        "NCPU": max(1, host.cpu // 1000), "MemTotal": host.memory * 1024 * 1024, "GenericResources": None,
        "DockerRootDir": "/var/lib/docker", "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": host.name,
        "Labels": None, "ExperimentalBuild": False, "ServerVersion": ENGINE_VERSION,
        "Runtimes": {"io.containerd.runc.v2": {"path": "runc"}, "runc": {"path": "runc"}},
        "DefaultRuntime": "runc", "Swarm": swarm.info(engine), "LiveRestoreEnabled": False, "Isolation": "",
        "InitBinary": "docker-init", "ContainerdCommit": {"ID": CONTAINERD[1]}, "RuncCommit": {"ID": RUNC[1]},
        "InitCommit": {"ID": DOCKER_INIT[1]},
        "SecurityOptions": ["name=apparmor", "name=seccomp,profile=builtin", "name=cgroupns"],
        "FirewallBackend": {"Driver": "iptables", "Info": [["EnableUserlandProxy", "true"],
                                                           ["UserlandProxyPath", "/usr/bin/docker-proxy"]]},
        "CDISpecDirs": ["/etc/cdi", "/var/run/cdi"],
        "Containerd": {"Address": "/run/containerd/containerd.sock",
                       "Namespaces": {"Containers": "moby", "Plugins": "plugins.moby"}},
        "Warnings": None,
    }
    return for_api(out, api)


def for_api(out: dict, api: str) -> dict:
    """What getInfo takes away from, or puts back into, the answer for an older client."""
    def before(version: str) -> bool:
        return api_number(api) < api_number(version)
    if before("1.46"):
        del out["Containerd"]  # introduced in 1.46
    if before("1.47"):  # gone from 1.48 on, still present (null) before
        out["RegistryConfig"].update(AllowNondistributableArtifactsCIDRs=None,
                                     AllowNondistributableArtifactsHostnames=None)
    if before("1.49"):
        del out["FirewallBackend"]  # introduced in 1.49
        for commit in ("ContainerdCommit", "RuncCommit", "InitCommit"):
            out[commit]["Expected"] = out[commit]["ID"]  # left out from 1.49 on
    if before("1.50"):
        out.update(BridgeNfIptables=False, BridgeNfIp6tables=False)  # always false, gone from 1.50 on
    return out


def api_number(version: str) -> tuple[int, ...]:
    """"1.41" -> (1, 41), to compare API versions as moby's versions.LessThan does."""
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))
