"""Shared helpers of the Docker-based backends: connecting, labels, progress.

Every object labkit makes on an engine carries the label `io.labkit` whose
value is the lab id, so that reset and the reaper select by label and never
touch anything else.
"""
from __future__ import annotations

import os
import re
import time
from typing import Callable

from ..errors import AlreadyExists, Unavailable
from .base import LABEL

KIND = LABEL + ".kind"
# The kinds labkit sets on what it makes: only these make an object labkit's. Images carry
# `io.labkit=images` with kind "image" or "node-image", and a container inherits its image's
# labels, so ownership must be positive: a kind from this set, set by labkit itself.
OWNED_KINDS = frozenset({"replica", "container", "service", "task", "node", "network", "volume"})
IMAGES_LAB = "images"  # the io.labkit value of labkit's images: shared by every lab, owned by none
WORKLOAD = LABEL + ".workload"
REVISION = LABEL + ".revision"
DEFAULT_LAB = "lab"
_LAB = re.compile(r"^[a-z0-9][a-z0-9_-]{0,30}$")

NO_DAEMON_HINT = ("start Docker (`sudo systemctl start docker`, or run `sudo dockerd` in a terminal; "
                  "tools/start-docker.sh does both on Debian), or learn on the simulator: "
                  "labkit.connect('sim')")


def lab_id(value: str | None = None) -> str:
    """The lab id that labels everything (option `lab=`, else $LABKIT_LAB, else 'lab')."""
    from ..errors import InvalidInput
    lab = value or os.environ.get("LABKIT_LAB") or DEFAULT_LAB
    if not _LAB.match(lab) or lab == IMAGES_LAB:
        raise InvalidInput(f"lab id {lab!r} is not valid",
                           "use up to 31 lowercase letters, digits, '-' or '_', e.g. lab='lesson-1'")
    return lab


def labels(lab: str, kind: str, **extra: str) -> dict[str, str]:
    """The labels of an object labkit makes for `lab`; `kind` is one of OWNED_KINDS."""
    assert kind in OWNED_KINDS, kind
    out = {LABEL: lab, KIND: kind}
    out.update({k: str(v) for k, v in extra.items()})
    return out


def connect(base_url: str | None = None, timeout: int = 120):
    """A docker SDK client that has answered a ping, or `Unavailable` saying what to do."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - the docker extra is missing
        raise Unavailable("the docker Python package is not installed",
                          "pip install 'labkit[docker]'") from exc
    where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = (docker.DockerClient(base_url=base_url, timeout=timeout) if base_url
                  else docker.from_env(timeout=timeout))
        client.ping()
    except Exception as exc:  # docker raises DockerException, requests' errors, FileNotFoundError...
        raise Unavailable(f"no Docker daemon answers at {where} ({_short(exc)})", NO_DAEMON_HINT) from exc
    return client


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def owned(attrs_labels: dict | None, lab: str | None = None) -> bool:
    """True when an object's labels say labkit made it (for `lab`, or any lab when None).

    Positive: labkit sets a lab id and one of OWNED_KINDS on everything it makes. A
    container made by hand from a demo image or the node image inherits that image's
    `io.labkit=images` and kind "image"/"node-image": it is the user's, never labkit's.
    """
    labels = attrs_labels or {}
    value = labels.get(LABEL)
    return (value is not None and value != IMAGES_LAB and labels.get(KIND) in OWNED_KINDS
            and (lab is None or value == lab))


def check_container_name(client, name: str, lab: str) -> None:
    """Refuse a container name that exists and is not this lab's."""
    import docker
    try:
        found = client.containers.get(name)
    except docker.errors.NotFound:
        return
    if owned(found.labels, lab):
        raise AlreadyExists(f"a container named {name!r} already exists in this lab",
                            "remove it first, or pick another name")
    whose = "another labkit lab" if owned(found.labels) else "you (it is not labkit's)"
    raise AlreadyExists(f"a container named {name!r} already exists and belongs to {whose}",
                        "labkit never touches containers it did not make: pick another name")


class Progress:
    """A few plain lines of progress (notebook outputs and terminals both show them)."""

    def __init__(self, title: str, out: Callable[[str], None] | None = None, quiet: bool = False) -> None:
        self.title = title
        self.start = time.monotonic()
        self.quiet = quiet or os.environ.get("LABKIT_QUIET") == "1"
        self.out = out or (lambda line: print(line, flush=True))  # stdout: not red in notebooks

    def step(self, message: str) -> None:
        if not self.quiet:
            self.out(f"[labkit {self.title} {time.monotonic() - self.start:5.1f}s] {message}")

    def done(self, message: str = "ready") -> float:
        elapsed = time.monotonic() - self.start
        self.step(message)
        return elapsed


def container_ip(attrs: dict) -> str:
    nets = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    for net in nets.values():
        if net.get("IPAddress"):
            return net["IPAddress"]
    return ""


def parse_time(value: str | None) -> float:
    """Docker's RFC 3339 timestamps (nanoseconds, 'Z') to epoch seconds; 0.0 when unset."""
    if not value or value.startswith("0001-"):
        return 0.0
    from datetime import datetime
    main, _, rest = value.partition(".")
    frac = ""
    tz = "Z"
    if rest:
        m = re.match(r"(\d*)(.*)", rest)
        frac, tz = m.group(1), m.group(2) or "Z"
    elif value.endswith("Z"):
        main = main[:-1]
    else:
        m = re.match(r"(.*?)([+-]\d\d:\d\d)$", main)
        if m:
            main, tz = m.group(1), m.group(2)
    tz = "+00:00" if tz == "Z" else tz
    stamp = datetime.fromisoformat(main + tz).timestamp()
    return stamp + (float("0." + frac[:9]) if frac else 0.0)


def healthcheck(probe) -> dict | None:
    """A `base.Probe` as Docker's healthcheck (the container's HEALTHCHECK, in the API's
    words): busybox wget, in every demo image, asks the probe's path every period."""
    if probe is None:
        return None
    second = 1_000_000_000
    return {"Test": ["CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{probe.port}{probe.path}"],
            "Interval": int(probe.period * second), "Timeout": second, "Retries": 3,
            # Failed checks in the start period do not count (the first success ends it): a slow
            # start (START_DELAY of 3 s or more) is "starting", not "unhealthy" and replaced.
            "StartPeriod": int((START_PERIOD + probe.initial_delay) * second)}


START_PERIOD = 60.0


def port_free(port: int) -> bool:
    """Whether a program could listen on `port` on every address of this machine."""
    import errno
    import socket
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port's old connections do not hold it
        try:
            probe.bind(("0.0.0.0", port))
            return True
        except OSError as error:
            return error.errno != errno.EADDRINUSE  # e.g. a low port without the right: not known to be taken


def engine_host(client) -> str:
    """The address of the machine a Docker client's engine runs on (where its published ports are)."""
    from urllib.parse import urlparse
    url = client.api.base_url
    if url.startswith("http+docker://"):  # a unix socket (or an ssh tunnel's): this machine
        return "127.0.0.1"
    return urlparse(url).hostname or "127.0.0.1"
