"""The images the course uses, and how each behaves.

One table for every backend: the simulator reads it to decide what a
container does (serve a page, crash after a while), `labkit.backends.docker.images` builds
the real images from it (so both behave the same by construction; the
fidelity tests measure it), and the console uses it for friendly errors.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoImage:
    page: str = ""  # what GET / answers
    crash_after: float | None = None  # seconds after start, None: runs until stopped
    exit_code: int = 1
    color: str = "#7f7f7f"  # its page's background (the views' colour for it)
    # Seconds from the container's start until it listens on port 80 (a real program loads
    # before it serves): connections before that are refused. `START_DELAY` in the
    # container's environment overrides it. GET /ready answers once it listens.
    listens_after: float = 0.0


LISTENS_AFTER = 2.0  # the demo images' start-up time: long enough to see, short enough to wait for
READY_PATH = "/ready"


DEMO_IMAGES: dict[str, DemoImage] = {
    "web-server:1": DemoImage(page="hello v1", color="#1f77b4", listens_after=LISTENS_AFTER),
    "web-server:2": DemoImage(page="hello v2", color="#2ca02c", listens_after=LISTENS_AFTER),
    "web-server:broken": DemoImage(page="hello broken", crash_after=5.0, color="#d62728",
                                   listens_after=LISTENS_AFTER),
}
# The names the course notes use, as tags of the demo images.
ALIASES: dict[str, str] = {
    "my-web-server:latest": "web-server:1",
    "my-web-app:latest": "web-server:1",
    "hello-minikube:latest": "web-server:1",
    "web-server:latest": "web-server:2",
}
# Well-known public images the simulator pretends it can pull (a real engine here cannot).
PUBLIC_IMAGES = ("nginx", "httpd", "busybox", "redis", "alpine")


def normalize(ref: str) -> str:
    """`my-web-server` -> `my-web-server:latest`; digests and registries kept as given."""
    last = ref.rsplit("/", 1)[-1]
    return ref if (":" in last or "@" in ref) else f"{ref}:latest"


def listens_after(image: str, env: dict | None = None) -> float:
    """When a container of `image` starts listening, in seconds after its start."""
    given = (env or {}).get("START_DELAY")  # the facade checked it (validate.start_delay)
    if given is not None:
        try:
            return min(max(0.0, float(given)), 300.0)
        except ValueError:
            return 0.0
    found = lookup(image)
    return found.listens_after if found else 0.0


def lookup(ref: str) -> DemoImage | None:
    """How an image behaves, or None when no registry would have it."""
    ref = normalize(ref)
    ref = ALIASES.get(ref, ref)
    if ref in DEMO_IMAGES:
        return DEMO_IMAGES[ref]
    repo = ref.split("@")[0].rsplit(":", 1)[0]
    if repo.removeprefix("library/").removeprefix("docker.io/library/") in PUBLIC_IMAGES:
        return DemoImage(page=f"{repo} default page")
    return None
