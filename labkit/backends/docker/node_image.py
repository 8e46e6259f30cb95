"""The swarm playground's node image: what each machine runs, a Docker engine of its own.

A Debian root file system with docker.io, made by debootstrap and imported
(`labkit/swarm-node:<recipe hash>`, built once, cached, labelled as one of
labkit's images); `docker:dind` instead when it is here or can be pulled and
no node image was built. `playground.py` starts the machines from it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time

from ...errors import Unavailable
from . import common as du
from ..base import LABEL

NODE_IMAGE_REPO = "labkit/swarm-node"
DIND_IMAGE = "docker:dind"
SUITE = "bookworm"
PACKAGES = ("docker.io", "iptables", "ca-certificates", "procps")
NODE_RECIPE_VERSION = "1"


def node_image_tag() -> str:
    import hashlib
    recipe = "|".join((NODE_RECIPE_VERSION, SUITE) + PACKAGES)
    return f"{NODE_IMAGE_REPO}:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def ensure_node_image(client, progress: du.Progress) -> str:
    """The node image's tag, building it (once, ~1 min) when it is missing."""
    import docker
    tag = node_image_tag()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    if _dind_available(client, progress):
        return DIND_IMAGE
    _build_node_image(client, tag, progress)
    return tag


def _dind_available(client, progress: du.Progress) -> bool:
    import docker
    if os.environ.get("LABKIT_OFFLINE") == "1":
        return False
    try:
        client.images.get(DIND_IMAGE)
        return True
    except docker.errors.ImageNotFound:
        pass
    try:
        progress.step(f"trying to pull {DIND_IMAGE}")
        client.images.pull(DIND_IMAGE)
        return True
    except du.engine_failures() as exc:  # offline, or no such tag: a node image is built instead
        progress.step(f"cannot pull {DIND_IMAGE} ({du._short(exc)}); building a node image locally")
        return False


def apt_mirror() -> str:
    """The Debian mirror this machine's apt already uses (so no host name lives in our code)."""
    found = os.environ.get("LABKIT_DEBIAN_MIRROR")
    if found:
        return found
    files = ["/etc/apt/sources.list"]
    folder = "/etc/apt/sources.list.d"
    if os.path.isdir(folder):
        files += [os.path.join(folder, f) for f in sorted(os.listdir(folder))]
    for path in files:
        try:
            text = open(path).read()
        except OSError:
            continue
        for m in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            uri = m.group(1)
            if "security" not in uri and uri.startswith(("http://", "https://")):
                return uri
    raise Unavailable("cannot build the swarm node image: no Debian mirror found in /etc/apt",
                      "set LABKIT_DEBIAN_MIRROR to a Debian mirror URL, or make docker:dind available")


def _build_node_image(client, tag: str, progress: du.Progress) -> None:
    debootstrap = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap") else None)
    if not debootstrap:
        raise Unavailable("cannot build the swarm node image: debootstrap is not installed",
                          "sudo apt-get install debootstrap (tools/start-docker.sh does it), "
                          "or use labkit.connect('swarm', playground=False) for a one-node swarm")
    if os.geteuid() != 0:
        raise Unavailable("building the swarm node image needs root (debootstrap)",
                          "run tools/start-docker.sh as root once, or `sudo python -m labkit.backends.docker.playground`")
    mirror = apt_mirror()
    root = tempfile.mkdtemp(prefix="labkit-node-rootfs-")
    try:
        progress.step(f"building the swarm node image {tag}: debootstrap {SUITE} + docker.io (about a minute, once)")
        cmd = [debootstrap, "--variant=minbase", "--include=" + ",".join(PACKAGES), SUITE, root, mirror]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        last = time.monotonic()
        lines = 0
        tail: list[str] = []
        for line in proc.stdout:
            lines += 1
            tail = (tail + [line.rstrip()])[-20:]
            if time.monotonic() - last > 5:
                progress.step(f"debootstrap: {line.strip()[:90]}")
                last = time.monotonic()
        if proc.wait() != 0:
            raise Unavailable("debootstrap failed:\n" + "\n".join(tail),
                              "check that apt can reach its mirror (`apt-get update`)")
        for junk in ("var/cache/apt/archives", "usr/share/doc", "usr/share/man", "usr/share/locale"):
            shutil.rmtree(os.path.join(root, junk), ignore_errors=True)
        progress.step("importing the root file system as a docker image")
        tar = subprocess.Popen(["tar", "-C", root, "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        repo, version = tag.rsplit(":", 1)
        changes = [f'LABEL {LABEL}="{du.IMAGES_LAB}" {du.KIND}="node-image"', 'CMD ["dockerd"]']
        client.api.import_image(src=tar.stdout, repository=repo, tag=version, changes=changes, stream_src=True)
        if tar.wait() != 0:
            raise Unavailable("tar of the node root file system failed", "check free disk space")
        client.images.get(tag)
        progress.step("node image ready")
    finally:
        shutil.rmtree(root, ignore_errors=True)
