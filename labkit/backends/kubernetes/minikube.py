"""The minikube CLI, for labkit's own local cluster: the `labkit` profile.

    from labkit.backends.kubernetes import minikube
    minikube.start(nodes=3)            # minikube start -p labkit --nodes 3, output streamed
    minikube.load_images()             # the demo images, from the local Docker engine
    cluster = labkit.connect("kubernetes")   # minikube made the `labkit` context current

Every command streams its output line by line (with the seconds elapsed) to
`progress` (default: print, which a notebook shows as it comes). Failure
lessons use `node_stop` / `node_start`, which the kubernetes backend calls
for `cluster.fail_node()` / `recover_node()` on this profile.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from typing import Callable, Iterable

from ...errors import InvalidInput, Unavailable

PROFILE = "labkit"
RUNTIMES = ("docker", "containerd", "cri-o")
ENV_BINARY = "LABKIT_MINIKUBE"  # path to the minikube binary, when it is not on PATH
INSTALL_HINT = ("install minikube (one binary, see https://minikube.sigs.k8s.io/docs/start/) and make sure "
                "`minikube version` works in a terminal; or set LABKIT_MINIKUBE to its path. "
                "Without a cluster, the simulator teaches the same lessons: labkit.connect('sim')")

Progress = Callable[[str], None]


def find() -> str:
    """The path of the minikube binary, or Unavailable saying how to install it."""
    named = os.environ.get(ENV_BINARY)
    if named:
        if os.path.isfile(named) and os.access(named, os.X_OK):
            return named
        raise Unavailable(f"{ENV_BINARY}={named!r} is not an executable file", INSTALL_HINT)
    found = shutil.which("minikube")
    if not found:
        raise Unavailable("the minikube command is not installed (it is not on PATH)", INSTALL_HINT)
    return found


def describe() -> str:
    """One line for `labkit doctor`."""
    try:
        binary = find()
    except Unavailable as exc:
        return f"minikube: {exc.message}"
    try:
        version = subprocess.run([binary, "version", "--short"], capture_output=True, text=True,
                                 timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        version = "version unknown"
    return f"minikube: {binary} ({version or 'version unknown'}); labkit profile: `{PROFILE}`"


def printer(out: Callable[[str], None] = print) -> Progress:
    """A progress display: each line with the seconds since the command started."""
    started = time.monotonic()

    def show(line: str) -> None:
        out(f"[{time.monotonic() - started:5.0f}s] {line}")
    return show


def stream(command: list[str], progress: Progress | None = None, timeout: float | None = None,
           check: bool = True) -> str:
    """Run `command`, handing each output line (stdout and stderr, in order) to `progress`
    as it comes; return the whole output. A non-zero exit raises Unavailable with its last
    lines, unless `check` is False; so does running longer than `timeout` seconds."""
    show = progress if progress is not None else printer()
    lines: list[str] = []
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1, errors="replace")
    except OSError as exc:
        raise Unavailable(f"cannot run {command[0]}: {exc.strerror or exc}", INSTALL_HINT) from None
    expired = threading.Event()

    def stop() -> None:
        expired.set()
        proc.kill()
    watchdog = threading.Timer(timeout, stop) if timeout else None
    if watchdog:
        watchdog.daemon = True
        watchdog.start()
    try:
        assert proc.stdout is not None
        with proc:
            for line in proc.stdout:
                line = line.rstrip()
                lines.append(line)
                if line:
                    show(line)
            code = proc.wait()
    finally:
        if watchdog:
            watchdog.cancel()
    if expired.is_set():
        raise Unavailable(f"`{' '.join(command)}` took longer than {timeout:g} s and was stopped",
                          "look at its output above; try again, or with fewer nodes")
    output = "\n".join(lines)
    if check and code != 0:
        tail = "\n".join(line for line in lines[-6:] if line)
        raise Unavailable(f"`{' '.join(command)}` failed (exit {code}):\n{tail}",
                          "read the lines above; `minikube logs -p labkit` has more. A clean start: "
                          "labkit.backends.kubernetes.minikube.delete() then start()")
    return output


def run(args: list[str], progress: Progress | None = None, timeout: float | None = None,
        check: bool = True) -> str:
    """`minikube ARGS...`, streamed."""
    return stream([find(), *args], progress, timeout, check)


def start_args(nodes: int = 3, profile: str = PROFILE, driver: str | None = None,
               container_runtime: str | None = None, cpus: int | None = None,
               memory: str | int | None = None, kubernetes_version: str | None = None) -> list[str]:
    """The arguments of `minikube start` for labkit's profile (driver: minikube's own choice)."""
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= 10:
        raise InvalidInput(f"nodes must be a whole number from 1 to 10, not {nodes!r}",
                           "each minikube node is a VM or container: 3 is plenty for the lessons")
    if container_runtime is not None and container_runtime not in RUNTIMES:
        raise InvalidInput(f"unknown container runtime {container_runtime!r}", f"use one of {', '.join(RUNTIMES)}")
    args = ["start", "-p", profile, "--nodes", str(nodes)]
    if driver:
        args.append(f"--driver={driver}")
    if container_runtime:
        args.append(f"--container-runtime={container_runtime}")
    if cpus:
        args.append(f"--cpus={cpus}")
    if memory:
        args.append(f"--memory={memory}")
    if kubernetes_version:
        args.append(f"--kubernetes-version={kubernetes_version}")
    return args


def start(nodes: int = 3, profile: str = PROFILE, driver: str | None = None,
          container_runtime: str | None = None, cpus: int | None = None,
          memory: str | int | None = None, kubernetes_version: str | None = None,
          images: bool = True, progress: Progress | None = None, timeout: float = 1800) -> float:
    """Start (or create) labkit's minikube profile with `nodes` nodes, then load the demo
    images into it; return the seconds it took. minikube makes the profile's context current."""
    args = start_args(nodes, profile, driver, container_runtime, cpus, memory, kubernetes_version)
    show = progress if progress is not None else printer()
    started = time.monotonic()
    run(args, show, timeout)
    if images:
        load_images(profile=profile, progress=show)
    return time.monotonic() - started


def status(profile: str = PROFILE) -> list[dict]:
    """`minikube status -o json`: one dict per node ([] when the profile does not exist)."""
    output = run(["status", "-p", profile, "-o", "json"], progress=lambda line: None, check=False, timeout=60)
    start = min((i for i in (output.find("["), output.find("{")) if i >= 0), default=-1)
    if start < 0:
        return []
    try:
        found = json.loads(output[start:])
    except ValueError:
        return []
    nodes = found if isinstance(found, list) else [found]
    return [n for n in nodes if isinstance(n, dict) and n.get("Host") not in (None, "Nonexistent")]


def running(profile: str = PROFILE) -> bool:
    """True when the profile's API server runs (False when minikube is missing)."""
    try:
        return any(n.get("APIServer") == "Running" for n in status(profile))
    except Unavailable:
        return False


def stop(profile: str = PROFILE, progress: Progress | None = None) -> None:
    run(["stop", "-p", profile], progress)


def delete(profile: str = PROFILE, progress: Progress | None = None) -> None:
    run(["delete", "-p", profile], progress)


def node_list(profile: str = PROFILE) -> list[str]:
    """Node names as Kubernetes knows them: `labkit`, `labkit-m02`, ..."""
    output = run(["node", "list", "-p", profile], progress=lambda line: None, timeout=60)
    return [line.split()[0] for line in output.splitlines() if line.strip()]


def node_add(profile: str = PROFILE, progress: Progress | None = None) -> None:
    """Add a worker node (it joins the cluster and gets the next name, e.g. labkit-m04)."""
    run(["node", "add", "-p", profile], progress)


def node_stop(name: str, profile: str = PROFILE, progress: Progress | None = None) -> None:
    """Stop one node's VM/container: to the cluster, a machine whose power failed."""
    run(["node", "stop", name, "-p", profile], progress)


def node_start(name: str, profile: str = PROFILE, progress: Progress | None = None) -> None:
    run(["node", "start", name, "-p", profile], progress)


def load_images(tags: Iterable[str] | None = None, profile: str = PROFILE, build: bool = True,
                progress: Progress | None = None) -> list[str]:
    """Copy demo images from the local Docker engine into every node (`minikube image load`),
    building them first (labkit.backends.docker.images) unless `build` is False. Returns the tags loaded."""
    binary = find()
    show = progress if progress is not None else printer()
    if build:
        from ..docker import images
        from ..docker.common import connect

        images.ensure_images(connect(), out=show)
    if tags is None:
        from ..docker import images

        tags = images.all_tags()
    loaded = []
    for tag in tags:
        show(f"loading {tag} into minikube profile {profile}")
        stream([binary, "image", "load", tag, "-p", profile], show)
        loaded.append(tag)
    return loaded
