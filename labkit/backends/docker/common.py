"""Shared helpers of the Docker-based backends: connecting, labels, progress.

Every object labkit makes on an engine carries the label `io.labkit` whose
value is the lab id, so that reset and the reaper select by label and never
touch anything else.
"""
from __future__ import annotations

import functools
import inspect
import os
import re
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from ...errors import AlreadyExists, InvalidInput, LabkitError, NotFound, Refused, Unavailable
from ...model import Event
from ..base import LABEL

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
    except engine_failures() + (OSError,) as exc:  # OSError: e.g. an unreadable TLS certificate
        raise Unavailable(f"no Docker daemon answers at {where} ({_short(exc)})", NO_DAEMON_HINT) from exc
    return client


def docker_host(client) -> dict[str, str]:
    """DOCKER_HOST for the real docker CLI to reach the engine `client` talks to ({}: the CLI's
    default is that engine). docker-py keeps a unix socket's path only in its private adapter:
    this is the one place that reads it."""
    socket = getattr(getattr(client.api, "_custom_adapter", None), "socket_path", None)
    if socket:
        return {"DOCKER_HOST": "unix://" + socket}
    base = client.api.base_url or ""
    if base.startswith(("http://", "https://")):
        return {"DOCKER_HOST": "tcp://" + base.split("://", 1)[1]}
    return {}


def engine_failures() -> tuple[type[Exception], ...]:
    """What docker-py raises when the engine says no or cannot be reached: its own errors
    (`APIError` is an HTTP error too) and requests' (a refused or timed-out connection)."""
    import docker
    import requests
    return docker.errors.DockerException, requests.RequestException


def engine_words(exc: BaseException) -> str:
    """What the engine said: an APIError's explanation (the daemon's own message), else its text."""
    return getattr(exc, "explanation", None) or str(exc)


def labkit_error(exc: BaseException, what: str = "") -> LabkitError:
    """docker-py's or requests' exception as labkit's error: what went wrong, and what to do next.
    The one place that reads the engine's status codes; `what` names the call that failed."""
    import docker
    import requests
    doing = f" (in {what})" if what else ""
    said = _short(engine_words(exc))
    if isinstance(exc, docker.errors.ImageNotFound):
        return NotFound(f"the engine has no such image{doing}: {said}",
                        "pull it (`docker pull IMAGE`) or build it (`docker build -t IMAGE .`); "
                        "labkit makes its demo images itself")
    if isinstance(exc, docker.errors.NotFound):
        return NotFound(f"{said}{doing}", "it may have just been removed: look at cluster.state()")
    if isinstance(exc, docker.errors.APIError):
        status = exc.status_code
        if status == 409:
            return AlreadyExists(f"the engine refused it{doing}: {said}",
                                 "it conflicts with something that exists: pick another name, or remove what is in the way")
        if status == 400:
            return InvalidInput(f"the engine rejected it{doing}: {said}", "check the names and values you gave")
        if status in (401, 403):
            return Refused(f"the engine forbids it{doing}: {said}",
                           "use an engine you may manage (is your user in the docker group?)")
        if status == 503:
            return Unavailable(f"{said}{doing}", "a swarm takes changes only from a manager with a leader: "
                               "power its managers back on (cluster.recover_node) and try again")
        return Unavailable(f"the Docker engine failed{doing}: {said}",
                           "try again; if it persists, read the engine's log (`journalctl -u docker`)")
    if isinstance(exc, (docker.errors.InvalidArgument, docker.errors.InvalidRepository)):
        return InvalidInput(f"{said}{doing}", "check the names and values you gave")
    if isinstance(exc, requests.Timeout):
        return Unavailable(f"the Docker engine did not answer in time{doing}",
                           "it may be busy: try again in a moment (`docker info` shows whether it answers)")
    if isinstance(exc, requests.ConnectionError):
        return Unavailable(f"the Docker engine does not answer{doing} ({said})", NO_DAEMON_HINT)
    return Unavailable(f"the Docker SDK failed{doing}: {said}", "try again; `docker info` shows whether the engine answers")


@contextmanager
def engine_errors(what: str = "") -> Iterator[None]:
    """Let docker-py's and requests' exceptions out as labkit's errors (see labkit_error)."""
    try:
        yield
    except engine_failures() as exc:
        raise labkit_error(exc, what) from exc


@contextmanager
def tolerate(*statuses: int) -> Iterator[None]:
    """Let the engine's answers with these HTTP statuses pass, for a step whose aim is reached
    either way: 404, the object is gone already; 409, the container is not running, or is
    being removed."""
    import docker
    try:
        yield
    except docker.errors.APIError as exc:
        if exc.status_code not in statuses:
            raise


def speaks_labkit(cls: type) -> type:
    """Class decorator: every public method of a backend (and its constructor) lets engine errors
    out as labkit's, naming the call, as the Kubernetes backend's single request point does."""
    for name, member in list(vars(cls).items()):
        if inspect.isfunction(member) and (name == "__init__" or not name.startswith("_")):
            setattr(cls, name, _speaking(member))
    return cls


def _speaking(method: Callable) -> Callable:
    verb = "connect" if method.__name__ == "__init__" else method.__name__

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        subject = getattr(args[0], "name", args[0]) if args else None  # a DeploySpec: its name
        with engine_errors(f"{verb}({subject!r})" if isinstance(subject, str) else verb):
            return method(self, *args, **kwargs)
    return call


class RealTime:
    """What a backend on a real engine keeps beside the engine: its clock (seconds since connect,
    and the wall clock then, to place the engine's timestamps), the events labkit itself records
    (a node switched off), and the snapshot's version, one more whenever what it shows changed."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._epoch0 = time.time()
        self._own_events: list[Event] = []
        self._fingerprint: object = None
        self._version = 0

    def now(self) -> float:
        return time.monotonic() - self._t0

    def advance(self, seconds: float, observe: Callable[[], None] | None = None) -> None:
        time.sleep(max(0.0, seconds))

    def _note(self, reason: str, obj: str, message: str, type: str = "Normal", source: str = "labkit") -> None:
        self._own_events.append(Event(time=self.now(), reason=reason, object=obj, message=message,
                                      type=type, source=source))

    def _noted(self, since: float) -> list[Event]:
        return [e for e in self._own_events if e.time >= since]

    def _versioned(self, fingerprint: object) -> int:
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            self._version += 1
        return self._version


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
