"""The course's demo images, built locally: no registry needed.

    web-server:1       answers "hello v1" (blue page)
    web-server:2       answers "hello v2" (green page)
    web-server:broken  serves "hello broken" until ~5 s after its start, then crashes (exit 1)

Each listens on port 80 only 2 s after it starts (`START_DELAY=<seconds>` in its environment
changes that), as a real program needs a moment to load: a connection before then is refused.
`GET /ready` answers 200 once it listens (for readiness probes and healthchecks).

plus the names the course types, as tags of `web-server:1`: `my-web-server`,
`my-web-app`, `hello-minikube` (and `web-server:latest`, a tag of `web-server:2`). They are
built from `labkit/catalog.py`, the table the simulator reads too.

Two build paths, chosen automatically: online (`FROM busybox`, when that
image is present or can be pulled) and offline (`FROM scratch` plus the
host's static busybox, `apt-get install busybox-static`). Every image carries
the label `io.labkit=images`; `ensure_images` rebuilds only what is missing
or built from an older recipe, so a second call takes milliseconds.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import threading
from dataclasses import dataclass
from typing import Callable

from ... import catalog
from .common import IMAGES_LAB, KIND, Progress
from ..base import LABEL
from ...errors import Unavailable

RECIPE = LABEL + ".recipe"
BUSYBOX_PATHS = ("/bin/busybox", "/usr/bin/busybox")


@dataclass(frozen=True)
class DemoImage:
    """One image to build: a catalog entry (labkit/catalog.py) under its tag."""

    tag: str
    page: str  # the text of its HTTP answer
    color: str
    crashes_after: float | None = None  # seconds until it exits with an error; None = runs forever
    exit_code: int = 1
    alias_of: str | None = None  # a course name that is a tag of another demo image
    listens_after: float = 0.0  # seconds from start until it listens (the default of START_DELAY)

    @property
    def crashes(self) -> bool:
        return self.crashes_after is not None


def _from_catalog() -> dict[str, DemoImage]:
    out = {tag: DemoImage(tag, d.page, d.color, d.crash_after, d.exit_code, listens_after=d.listens_after)
           for tag, d in catalog.DEMO_IMAGES.items()}
    for tag, target in catalog.ALIASES.items():
        d = catalog.DEMO_IMAGES[target]
        out[tag] = DemoImage(tag, d.page, d.color, d.crash_after, d.exit_code, alias_of=target,
                             listens_after=d.listens_after)
    return out


DEMO_IMAGES: dict[str, DemoImage] = _from_catalog()
"""Every demo image by full tag; `lookup('my-web-server')` also finds the short names."""
_BASE = tuple(i for i in DEMO_IMAGES.values() if i.alias_of is None)
_ALIASES = tuple(i for i in DEMO_IMAGES.values() if i.alias_of is not None)


def lookup(name: str) -> DemoImage | None:
    """The demo image called `name` ('web-server:1', 'my-web-server', ...), or None."""
    return DEMO_IMAGES.get(name if ":" in name.rsplit("/", 1)[-1] else name + ":latest")


def all_tags() -> list[str]:
    return list(DEMO_IMAGES)


def page_html(image: DemoImage) -> str:
    return (f'<!doctype html><html><body style="background:{image.color};color:white;'
            f'font:48px sans-serif;text-align:center;padding-top:20vh">'
            f'<h1>{image.page}</h1><p style="font-size:20px">{image.tag}</p></body></html>\n')


def dockerfile(image: DemoImage, base: str) -> str:
    """The Dockerfile of one demo image; `base` is 'busybox' (online) or 'scratch' (offline)."""
    lines = []
    if base == "scratch":
        lines += ["FROM scratch",
                  "COPY busybox /bin/busybox",
                  'RUN ["/bin/busybox", "--install", "-s", "/bin"]']
    else:
        lines += [f"FROM {base}"]
    lines += ["RUN mkdir -p /www", "COPY index.html /www/index.html",
              f"RUN echo ready > /www{catalog.READY_PATH}", f"ENV START_DELAY={image.listens_after:g}", "EXPOSE 80"]
    # A shell as PID 1 that traps SIGTERM, so `docker stop` and Swarm's stop-first updates
    # take milliseconds (busybox httpd as PID 1 ignores SIGTERM: each stop would wait 10 s).
    # `sleep & wait` keeps the trap live while the program "loads" for START_DELAY seconds.
    load = "sleep $START_DELAY & wait"
    if image.crashes:
        # httpd without -f goes to the background; the shell exits with an error after a while,
        # counted from the container's start.
        lines.append(f'CMD ["sh", "-c", "trap \'exit 143\' TERM; (sleep $START_DELAY; httpd -p 80 -h /www) & '
                     f'sleep {image.crashes_after:g} & wait $!; '
                     f'echo \'{image.tag}: crashing on purpose\' >&2; exit {image.exit_code}"]')
    else:
        lines.append(f'CMD ["sh", "-c", "trap \'exit 0\' TERM; {load}; httpd -f -p 80 -h /www & wait"]')
    return "\n".join(lines) + "\n"


def recipe(image: DemoImage, base: str) -> str:
    return hashlib.sha256((dockerfile(image, base) + page_html(image)).encode()).hexdigest()[:16]


def _context(image: DemoImage, base: str, busybox: str | None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        add("Dockerfile", dockerfile(image, base).encode())
        add("index.html", page_html(image).encode())
        if base == "scratch":
            with open(busybox, "rb") as f:
                add("busybox", f.read(), 0o755)
    buf.seek(0)
    return buf


def host_busybox() -> str | None:
    """A statically linked busybox on this machine (busybox-static), or None."""
    for path in BUSYBOX_PATHS + ((shutil.which("busybox") or ""),):
        if path and os.path.isfile(path):
            with open(path, "rb") as f:
                head = f.read(1 << 16)
            # A dynamically linked ELF names its interpreter; a static one does not.
            if head[:4] == b"\x7fELF" and b"ld-linux" not in head and b"ld-musl" not in head:
                return path
    return None


_base_choice: dict[int, str] = {}


def choose_base(client, pull_timeout: float = 20.0) -> str:
    """'busybox' if that image is here or can be pulled in time, else 'scratch' (offline)."""
    key = id(client.api)
    if key in _base_choice:
        return _base_choice[key]
    import docker
    choice = "scratch"
    if os.environ.get("LABKIT_OFFLINE") == "1":
        pass
    else:
        try:
            client.images.get("busybox:latest")
            choice = "busybox"
        except docker.errors.ImageNotFound:
            result: list[bool] = []

            def pull() -> None:
                try:
                    client.images.pull("busybox", tag="latest")
                    result.append(True)
                except Exception:
                    result.append(False)
            worker = threading.Thread(target=pull, daemon=True)
            worker.start()
            worker.join(pull_timeout)
            if result and result[0]:
                choice = "busybox"
        except Exception:
            pass
    if choice == "scratch" and not host_busybox():
        raise Unavailable("cannot build the demo images: busybox can neither be pulled nor found on this machine",
                          "install a static busybox (`sudo apt-get install busybox-static`) or connect to the internet")
    _base_choice[key] = choice
    return choice


def _current(client, image: DemoImage):
    """The image under `image.tag` if labkit built it; None if missing; False if it is someone else's."""
    import docker
    try:
        found = client.images.get(image.tag)
    except docker.errors.ImageNotFound:
        return None
    labels = (found.attrs.get("Config") or {}).get("Labels") or {}
    return found if LABEL in labels else False


def ensure_images(client, progress: Progress | None = None,
                  out: Callable[[str], None] | None = None, force: bool = False) -> dict[str, str]:
    """Build whatever demo image is missing (or stale); return {tag: image id}.

    A tag that already names an image labkit did not build is left alone
    (a student's own `my-web-server` wins over our alias).
    """
    built: dict[str, str] = {}
    todo = []
    stale: list[str] = []
    for image in _BASE:
        found = _current(client, image)
        if found and not force:
            labels = (found.attrs.get("Config") or {}).get("Labels") or {}
            base = labels.get(LABEL + ".base", "scratch")
            if labels.get(RECIPE) == recipe(image, base):
                built[image.tag] = found.id
                continue
            stale.append(found.id)
        if found is False:
            raise Unavailable(f"the image {image.tag!r} exists on this engine and was not built by labkit",
                              f"labkit will not overwrite it: rename yours (`docker tag {image.tag} mine:1; "
                              f"docker rmi {image.tag}`)")
        todo.append(image)
    if todo:
        progress = progress or Progress("images", out)
        base = choose_base(client)
        busybox = host_busybox() if base == "scratch" else None
        path = "offline: FROM scratch + host busybox" if base == "scratch" else "online: FROM busybox"
        for n, image in enumerate(todo, 1):
            progress.step(f"building {image.tag} ({n}/{len(todo)}, {path})")
            built[image.tag] = _build(client, image, base, busybox)
    for alias in _ALIASES:
        target = built[alias.alias_of]
        found = _current(client, alias)
        if found is False:
            continue  # the student's own image of that name: not ours to replace
        if found is None or found.id != target:
            repo, tag = alias.tag.rsplit(":", 1)
            client.api.tag(target, repo, tag)
        built[alias.tag] = target
    if todo:  # older recipes' images (and twins from a concurrent build), now untagged
        dangling = client.images.list(filters={"dangling": True, "label": f"{LABEL}={IMAGES_LAB}"})
        for old in set(stale) | {d.id for d in dangling}:
            try:
                client.images.remove(old, noprune=False)
            except Exception:
                pass  # a container still uses it
    if todo:
        progress.done(f"{len(todo)} demo image(s) built")
    return built


def _build(client, image: DemoImage, base: str, busybox: str | None) -> str:
    labels = {LABEL: IMAGES_LAB, KIND: "image", RECIPE: recipe(image, base), LABEL + ".base": base}
    image_id = None
    error = None
    for chunk in client.api.build(fileobj=_context(image, base, busybox), custom_context=True,
                                  tag=image.tag, labels=labels, rm=True, forcerm=True,
                                  decode=True, pull=False):
        if "error" in chunk:
            error = chunk["error"]
        aux = chunk.get("aux") or {}
        if "ID" in aux:
            image_id = aux["ID"]
    if error or not image_id:
        raise Unavailable(f"building {image.tag} failed: {(error or 'no image id').strip()}",
                          "check `docker info`; the offline path needs `apt-get install busybox-static`")
    return image_id


def remove_images(client) -> list[str]:
    """Remove every image labkit built (all demo images and node images); return their tags."""
    removed = []
    for found in client.images.list(filters={"label": f"{LABEL}={IMAGES_LAB}"}):
        for tag in found.tags or [found.id]:
            try:
                client.images.remove(tag, force=False, noprune=False)
                removed.append(tag)
            except Exception:
                pass
    return removed


def save_images(client, tags: list[str]) -> bytes:
    """`docker save` of several tags as one tar (for loading into playground nodes)."""
    api = client.api
    response = api._get(api._url("/images/get"), params={"names": tags}, stream=True)
    api._raise_for_status(response)
    return response.content
