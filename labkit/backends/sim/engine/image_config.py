"""What an image runs when a container starts: its entrypoint, its command, its environment and the port
it exposes, from the offline registry (labkit/catalog.py); the course's own images run a small busybox httpd."""
from __future__ import annotations

from .... import catalog

DEMO_CMD = ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"]


def entry(ref: str) -> tuple[list[str], list[str]]:
    """(entrypoint, cmd) of an image, from the catalog (the course's images run a small httpd)."""
    found = catalog.public(ref)
    if found is None:
        return [], list(DEMO_CMD)
    return list(found.image.entrypoint), list(found.image.cmd)


def env_of(ref: str) -> list[str]:
    found = catalog.public(ref)
    base = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    if found is None:
        return base
    return base + [f"{k}={catalog.fill(v, version=found.version)}" for k, v in found.image.env.items()]


def port_of(ref: str) -> int | None:
    """The port the image exposes (its EXPOSE), None for none; the course's images serve on 80."""
    found = catalog.public(ref)
    return 80 if found is None else found.image.port
