"""Checks on what a student types, shared by the facade and every backend.

Each check raises `InvalidInput` with the rule and an example of a good
value, before anything is sent to an engine, so a bad value changes nothing.
"""
from __future__ import annotations

import math
import os
import re

from .errors import InvalidInput

# RFC 1123 label: what Kubernetes requires of deployment, pod and namespace names,
# and a safe subset of what Docker accepts for containers and services.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# swarmkit's isValidDNSName (manager/controlapi/common.go), ^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$, written so
# that Python's backtracking engine answers at once on a long bad name (Go's engine does not backtrack).
_SWARM_NAME = re.compile(r"[a-zA-Z0-9]+(?:[-_]+[a-zA-Z0-9]+)*")
_CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")  # moby daemon/names/names.go
# The reference grammar of the distribution project (docker/distribution/reference), simplified:
# [registry[:port]/]path[:tag][@digest], path components lowercase.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
_IMAGE = re.compile(
    rf"{_DOMAIN}{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?")

SIM_MAX_REPLICAS = 200_000  # what the simulator answers within a second or two (bench/scale.py)


def name(value: object, what: str = "name", flavor: str = "kubernetes") -> str:
    """A workload or replica name, by the rule of the engine that gets it: Kubernetes' RFC 1123
    label (lowercase letters, digits, '-', at most 63), swarmkit's service names (letters,
    digits, '-' and '_' between them; controlapi's isValidDNSName), or moby's container names
    ([a-zA-Z0-9][a-zA-Z0-9_.-]+, daemon/names)."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string, not {value!r}",
                           "use lowercase letters, digits and '-', e.g. 'my-web-server'")
    hint = f"try {suggest_name(value)!r}"
    if flavor == "swarm":
        if not _SWARM_NAME.fullmatch(value):
            raise InvalidInput("rpc error: code = InvalidArgument desc = name must be valid as a DNS name component",
                               f"a service name is letters and digits, with '-' or '_' between them: {hint}")
        if len(value) > 63:
            raise InvalidInput("rpc error: code = InvalidArgument desc = name must be 63 characters or fewer", hint)
    elif flavor == "docker":
        if not _CONTAINER_NAME.fullmatch(value):
            raise InvalidInput(f"Invalid container name ({value}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", hint)
        if len(value) > 63:  # the container's host name is its name, and a host name has at most 63
            raise InvalidInput(f"{what} {value!r} is longer than 63 characters: the container's host name is "
                               "its name, and a host name has at most 63", hint)
    elif len(value) > 63 or not _NAME.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} is not valid: use at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit", hint)
    return value


def suggest_name(value: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:63].strip("-")
    return cleaned or "my-web-server"


def image(value: object) -> str:
    """An image reference as Docker parses it: `web-server:2`, `library/nginx:1.27`."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"image must be a non-empty string, not {value!r}",
                           "e.g. image='web-server:1'")
    if len(value) > 255 or not _IMAGE.fullmatch(value):
        hint = "an image is [registry/]name[:tag] in lowercase, with no spaces, e.g. 'web-server:2'"
        if value != value.lower():
            hint = f"image names are lowercase: try {value.lower()!r}"
        raise InvalidInput(f"{value!r} is not a valid image reference", hint)
    return value


def replicas(value: object, cap: int = SIM_MAX_REPLICAS, where: str = "sim") -> int:
    """A replica count: a whole number from 0 to `cap`, the safety cap of the backend `where`
    (its `max_replicas`)."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidInput(f"replicas must be a whole number, not {value!r}",
                               "e.g. replicas=3")
    if value < 0:
        raise InvalidInput(f"replicas cannot be negative ({value})",
                           "use 0 to stop every replica but keep the workload")
    if value > cap:
        raise InvalidInput(
            f"{value} replicas is more than labkit allows on the {where} backend ({cap})",
            "the simulator stops at this many to stay responsive" if cap == SIM_MAX_REPLICAS else
            "set LABKIT_MAX_REPLICAS to raise the cap if your machine can take it")
    return value


def max_replicas(default: int) -> int:
    """A real engine's safety cap: `default`, or LABKIT_MAX_REPLICAS where the student set it."""
    env = os.environ.get("LABKIT_MAX_REPLICAS")
    return int(env) if env and env.isdigit() else default


def percent_or_int(value: object, what: str) -> int | str:
    """maxSurge / maxUnavailable: a whole number >= 0 or a percentage like '25%'."""
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a number or a percentage, not {value!r}", "e.g. 1 or '25%'")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,3}%", value) and int(value[:-1]) <= 100:
        return value
    raise InvalidInput(f"{what} must be a whole number >= 0 or a percentage from 0% to 100%, not {value!r}",
                       "e.g. max_surge=1 or max_surge='25%'")


def percentage(value: object, what: str = "percent") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 100:
        raise InvalidInput(f"{what} must be a number between 0 and 100 (exclusive), not {value!r}",
                           "e.g. percent=10 sends a tenth of the replicas to the new image")
    return float(value)


def seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise InvalidInput(f"{what} must be a finite number of seconds >= 0, not {value!r}", f"e.g. {what}=10")
    return float(value)


def resource(value: object, what: str, unit: str) -> int:
    """A CPU (millicores) or memory (MiB) request: a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{what} must be a whole number of {unit} >= 0, not {value!r}",
                           f"e.g. {what}=250 ({'a quarter of a CPU' if what == 'cpu' else '250 MiB'}); 0 asks for nothing")
    return value


def pre_stop(value: object, flavor: str) -> float:
    """`pre_stop=` of deploy: the seconds a Kubernetes preStop sleep hook keeps a stopping replica
    serving, 0 to 30 (the default grace period, which the hook's time counts against)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 30:
        raise InvalidInput(f"pre_stop must be the seconds a stopping replica keeps serving, 0 to 30, not {value!r}",
                           "e.g. pre_stop=5: longer than the Service's proxies take to forget it")
    if value and flavor != "kubernetes":
        raise InvalidInput(f"pre_stop is Kubernetes' preStop hook; {flavor} has none",
                           "Swarm takes a task out of its routing mesh before it stops it: leave pre_stop out")
    return float(value)


def text(value: object, what: str, example: str) -> str:
    """A name to look something up by: it must at least be a string."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, not {value!r}", f"e.g. {example!r}")
    return value


MAX_START_DELAY = 300.0
# What every engine takes as a variable's name: Kubernetes (IsEnvVarName, relaxed in 1.32: printable ASCII
# but '='), Docker (a name is what comes before the first '=') alike. Values are text on all three.
_ENV_NAME = re.compile(r"[\x21-\x3c\x3e-\x7e]{1,256}")


def env(value: object) -> dict[str, str]:
    """Environment variables: a mapping of names to text, the same rule on every backend. A
    number is refused, not converted (the Kubernetes API refuses it, and str(1.0) or True would
    not be what the student meant): the hint shows it quoted. START_DELAY is checked too."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"env must be a dict of names to text, not {value!r}", "env={'GREETING': 'hello'}")
    for key, item in value.items():
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            raise InvalidInput(f"{key!r} is not a valid environment variable name: printable ASCII "
                               "characters other than '=' and spaces", "e.g. env={'GREETING': 'hello'}")
        if not isinstance(item, str):
            raise InvalidInput(f"the value of {key} must be text, not {item!r} ({type(item).__name__})",
                               f"quote it: env={{{key!r}: {str(item).lower() if isinstance(item, bool) else str(item)!r}}}")
        if "\x00" in item:
            raise InvalidInput(f"the value of {key} holds a NUL character, which no process can receive",
                               "remove it")
    start_delay(value.get("START_DELAY"))
    return dict(value)


def start_delay(value: object) -> None:
    """START_DELAY, the demo images' start-up time: a plain number of seconds that busybox's
    `sleep` and the simulator read alike (no suffixes, no exponents), at most 300."""
    if value is None:
        return
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3})?", str(value)) or float(str(value)) > MAX_START_DELAY:
        raise InvalidInput(f"START_DELAY must be a number of seconds from 0 to {MAX_START_DELAY:g}, "
                           f"like 2 or 0.5, not {value!r}", "env={'START_DELAY': '5'}: the replicas listen 5 s after they start")
