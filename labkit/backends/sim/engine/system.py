"""`/_ping`, `/version` and `/info`: what the CLI asks before anything else.

    docker version         # Server: labkit's simulated Docker Engine, Version 20.10.24, API 1.41
"""
from __future__ import annotations

from . import images, swarm
from .boxes import boxes
from .common import Answer, Call, route
from .state import API_VERSION, ENGINE_VERSION, MIN_API_VERSION, Engine

KERNEL = "6.1.0-28-amd64"  # Debian 12's kernel, the machines the course runs on
GO_VERSION = "go1.19.8"
OS = "Debian GNU/Linux 12 (bookworm)"


@route("GET", "/_ping")
def ping(call: Call) -> Answer:
    """`OK`, with the headers a client negotiates from (every answer carries API-Version; the
    ping adds what the swarm is, and no body to a HEAD)."""
    headers = {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
               "Builder-Version": "1", "Swarm": "inactive" if not call.engine.in_swarm else
               "active/manager" if call.engine.host.role == "manager" else "active/worker"}
    return Answer(text="" if call.method == "HEAD" else "OK", headers=headers)


@route("GET", "/version")
def version(call: Call) -> Answer:
    details = {"ApiVersion": API_VERSION, "Arch": "amd64", "BuildTime": "2023-03-23T05:47:14.000000000+00:00",
               "Experimental": "false", "GitCommit": "5d6db84", "GoVersion": GO_VERSION,
               "KernelVersion": KERNEL, "MinAPIVersion": MIN_API_VERSION, "Os": "linux"}
    return Answer(json={
        "Platform": {"Name": "labkit's simulated Docker Engine"},
        "Components": [{"Name": "Engine", "Version": ENGINE_VERSION, "Details": details},
                       {"Name": "containerd", "Version": "1.6.20~ds1", "Details": {"GitCommit": "1.6.20~ds1-1"}},
                       {"Name": "runc", "Version": "1.1.5+ds1", "Details": {"GitCommit": "1.1.5+ds1-1"}},
                       {"Name": "docker-init", "Version": "0.19.0", "Details": {"GitCommit": ""}}],
        "Version": ENGINE_VERSION, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "5d6db84", "GoVersion": GO_VERSION, "Os": "linux", "Arch": "amd64",
        "KernelVersion": KERNEL, "BuildTime": details["BuildTime"]})


@route("GET", "/info")
def info(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        return Answer(json=system_info(engine))


def system_info(engine: Engine) -> dict:
    host = engine.host
    here = boxes(engine)
    running = sum(1 for b in here if b.state == "running")
    return {
        "ID": engine.node_id(host.name).upper()[:12], "Containers": len(here), "ContainersRunning": running,
        "ContainersPaused": 0, "ContainersStopped": len(here) - running,
        "Images": len(images.held(engine)), "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"],
                         ["Native Overlay Diff", "true"], ["userxattr", "false"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"],
                    "Authorization": None, "Log": ["awslogs", "fluentd", "gcplogs", "gelf", "journald",
                                                   "json-file", "local", "logentries", "splunk", "syslog"]},
        "MemoryLimit": True, "SwapLimit": True, "KernelMemoryTCP": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True, "BridgeNfIptables": True,
        "BridgeNfIp6tables": True, "Debug": False, "NFd": 30, "OomKillDisable": False, "NGoroutines": 160,
        "SystemTime": engine.timestamp(engine.sim.now()), "LoggingDriver": "json-file", "CgroupDriver": "systemd",
        "CgroupVersion": "2", "NEventsListener": 0, "KernelVersion": KERNEL, "OperatingSystem": OS,
        "OSVersion": "12", "OSType": "linux", "Architecture": "x86_64",
        "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": [], "AllowNondistributableArtifactsHostnames": [],
                           "InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {}, "Mirrors": []},
        "NCPU": max(1, host.cpu // 1000), "MemTotal": host.memory * 1024 * 1024, "GenericResources": None,
        "DockerRootDir": "/var/lib/docker", "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": host.name,
        "Labels": [], "ExperimentalBuild": False, "ServerVersion": ENGINE_VERSION,
        "Runtimes": {"io.containerd.runc.v2": {"path": "runc"}, "io.containerd.runtime.v1.linux": {"path": "runc"},
                     "runc": {"path": "runc"}},
        "DefaultRuntime": "runc", "Swarm": swarm.info(engine), "LiveRestoreEnabled": False, "Isolation": "",
        "InitBinary": "docker-init", "ContainerdCommit": {"ID": "1.6.20~ds1", "Expected": "1.6.20~ds1"},
        "RuncCommit": {"ID": "1.1.5+ds1-1", "Expected": "1.1.5+ds1-1"}, "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": ["name=seccomp,profile=default", "name=cgroupns"], "Warnings": None,
    }
