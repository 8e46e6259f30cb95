"""`GET /containers/{id}/json`: one container whole, as moby's types.ContainerJSON (api/swagger.yaml
ContainerInspectResponse): its state from the simulator's pod, its config as its client wrote it.

    docker inspect -f '{{.State.Status}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}' web
"""
from __future__ import annotations

from . import endpoints
from .boxes import Box, argv as argv_of, health
from .common import hex_id
from .images import entry, env_of, image_id, known, port_of
from .state import Engine
from .tasks import last_events

ZERO_TIME = "0001-01-01T00:00:00Z"


def bridge_ip(box: Box) -> str:
    number = int(box.ident[:6], 16) % 250
    return f"172.17.0.{2 + number}" if box.state == "running" else ""


def state_json(engine: Engine, box: Box) -> dict:
    pod = box.pod
    started = engine.timestamp(pod.started) if pod is not None and pod.started is not None else ZERO_TIME
    finished = ZERO_TIME
    if box.state in ("exited", "restarting") and pod is not None:
        finished = engine.timestamp(last_events(engine, {pod.name}).get(pod.name, box.created))
    found = {"Status": "exited" if box.state == "removing" else box.state, "Running": box.state == "running",
             "Paused": False, "Restarting": box.state == "restarting", "OOMKilled": False, "Dead": False,
             "Pid": (1000 + int(box.ident[:4], 16) % 30000) if box.state == "running" else 0,
             "ExitCode": box.exit_code, "Error": "", "StartedAt": started, "FinishedAt": finished}
    if health(box):
        found["Health"] = {"Status": health(box), "FailingStreak": 0, "Log": []}
    return found


def container_json(engine: Engine, box: Box) -> dict:
    made = box.made
    config = dict(made.config) if made is not None else {}
    host = dict(made.host_config) if made is not None else {}
    entrypoint, cmd = entry(box.image)
    argv = argv_of(box)
    port = port_of(box.image)
    exposed = config.get("ExposedPorts") or ({f"{port}/tcp": {}} if port else {})
    env = (config.get("Env") or []) + [e for e in env_of(box.image)
                                        if e.split("=")[0] not in {x.split("=")[0] for x in config.get("Env") or []}]
    policy = host.get("RestartPolicy") or {}
    if made is None and box.pod is not None and not box.is_task:
        policy = {"Name": {"Always": "always", "OnFailure": "on-failure"}.get(box.pod.restart_policy, "no")}
    bindings = host.get("PortBindings") or {}
    ip = bridge_ip(box)
    net = {"IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": hex_id("network", "bridge"),
           "EndpointID": hex_id("endpoint", box.ident) if ip else "", "Gateway": "172.17.0.1" if ip else "",
           "IPAddress": ip, "IPPrefixLen": 16 if ip else 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
           "GlobalIPv6PrefixLen": 0, "MacAddress": f"02:42:ac:11:00:{int(ip.split('.')[-1]):02x}" if ip else "",
           "DriverOpts": None}
    return {
        "Id": box.ident, "Created": engine.timestamp(box.created), "Path": argv[0] if argv else "",
        "Args": argv[1:], "State": state_json(engine, box),
        "Image": image_id(box.image) if known(box.image) else "",
        "ResolvConfPath": f"/var/lib/docker/containers/{box.ident}/resolv.conf",
        "HostnamePath": f"/var/lib/docker/containers/{box.ident}/hostname",
        "HostsPath": f"/var/lib/docker/containers/{box.ident}/hosts",
        "LogPath": f"/var/lib/docker/containers/{box.ident}/{box.ident}-json.log",
        "Name": f"/{box.name}", "RestartCount": box.pod.restarts if box.pod is not None else 0,
        "Driver": "overlay2", "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile":
        "docker-default", "ExecIDs": None,
        "HostConfig": {"Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
                       "NetworkMode": host.get("NetworkMode") or "default", "PortBindings": bindings,
                       "RestartPolicy": {"Name": policy.get("Name") or "no",
                                         "MaximumRetryCount": policy.get("MaximumRetryCount") or 0},
                       "AutoRemove": bool(host.get("AutoRemove")), "VolumeDriver": "", "VolumesFrom": None,
                       "NanoCpus": host.get("NanoCpus") or 0, "Memory": host.get("Memory") or 0,
                       "CpuShares": host.get("CpuShares") or 0, "Privileged": False, "PublishAllPorts": False,
                       "ReadonlyRootfs": False, "Init": None},
        "GraphDriver": {"Name": "overlay2", "Data": None}, "Mounts": [],
        "Config": {"Hostname": box.ident[:12], "Domainname": "", "User": "", "AttachStdin": False,
                   "AttachStdout": False, "AttachStderr": False, "ExposedPorts": exposed,
                   "Tty": bool(config.get("Tty")),
                   "OpenStdin": bool(config.get("OpenStdin")), "StdinOnce": False, "Env": env,
                   "Cmd": config.get("Cmd") or cmd or None, "Image": box.image, "Volumes": None, "WorkingDir": "",
                   "Entrypoint": config.get("Entrypoint") or entrypoint or None, "OnBuild": None,
                   "Labels": box.labels},
        "NetworkSettings": {"Bridge": "", "SandboxID": hex_id("sandbox", box.ident) if ip else "",
                            "HairpinMode": False, "Ports": {k: [{"HostIp": "0.0.0.0", "HostPort": b.get("HostPort")
                                                                 or ""} for b in v or []] if ip else None
                                                            for k, v in {**{p: None for p in exposed},
                                                                         **bindings}.items()},
                            "SandboxKey": "", "Gateway": net["Gateway"], "IPAddress": ip,
                            "IPPrefixLen": net["IPPrefixLen"], "MacAddress": net["MacAddress"],
                            "Networks": {n.name: endpoints.endpoint_json(n, box) if n.name != "bridge" else net
                                         for n in endpoints.networks_of(engine, box)}},
    }
