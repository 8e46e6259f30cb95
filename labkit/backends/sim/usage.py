"""What the simulated pods use: CPU from the requests they answer, memory from their image.

A model, not a measurement. metrics-server reads each container's cgroup counters from the
kubelet every 15 s and serves the average over that window (metrics.k8s.io, `kubectl top`);
the simulator has no cgroups, so it says what a small web server would use:

* CPU: an idle baseline (IDLE_MILLICORES) plus a stated cost per request answered: each request
  costs CPU_MS_PER_REQUEST milliseconds of CPU, so a pod answering r requests a second over the
  last WINDOW seconds uses IDLE_MILLICORES + r * CPU_MS_PER_REQUEST millicores (a pod answering
  50 requests a second: 1 + 50 * 2 = 101m).
* Memory: a steady figure per image (IMAGE_MEMORY_MIB; an image not listed gets a steady figure
  of its own, from its name), not growing with load.

The requests a pod answers are labkit's traffic (labkit.traffic): the facade tells the simulator
of each request answered (SimBackend.answered), and `Usage` keeps when each pod answered, for
one window.

    usage = Usage(clock)
    usage.answered("web-5d59d67564-abcde", 12.5)
    usage.cpu(pod, now=20.0)      # millicores: 1 + (1 / 15 s) * 2
    usage.containers(pod, "web")  # [("web", millicores, MiB)], as metrics.k8s.io serves them
"""
from __future__ import annotations

import re
import zlib
from collections import deque

from .clock import Clock
from .objects import Pod

WINDOW = 15.0  # seconds: metrics-server's resolution, the window each figure is averaged over
IDLE_MILLICORES = 1.0  # a web server answering nothing
CPU_MS_PER_REQUEST = 2.0  # milliseconds of CPU per request answered (a small page, a model's figure)
IMAGE_MEMORY_MIB = {"web-server": 9.0, "my-web-server": 9.0, "my-web-app": 9.0, "hello-minikube": 9.0,
                    "nginx": 4.0, "httpd": 7.0, "redis": 3.5, "busybox": 0.5, "alpine": 0.5}
CPU_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)(m|n|u|k)?$")
CPU_SCALE = {None: 1000.0, "m": 1.0, "u": 1e-3, "n": 1e-6, "k": 1e6}


def image_memory(image: str) -> float:
    """MiB a container of `image` holds: the image's figure, or a steady one from its name (5 to 20 MiB)."""
    repo = image.split("@")[0].rsplit("/", 1)[-1].rsplit(":", 1)[0]
    if repo in IMAGE_MEMORY_MIB:
        return IMAGE_MEMORY_MIB[repo]
    return 5.0 + zlib.crc32(repo.encode()) % 1500 / 100


def millicores(quantity: object) -> float | None:
    """A CPU quantity ("250m", "0.5", "1", "500000n") in millicores, or None when it is none."""
    found = CPU_QUANTITY.match(str(quantity).strip()) if isinstance(quantity, (str, int, float)) else None
    if found is None:
        return None
    return float(found.group(1)) * CPU_SCALE[found.group(2)]


def containers(pod: Pod, default_name: str) -> list[dict]:
    """The pod's containers as a client wrote them ({"name": default_name} when none did)."""
    written = (pod.template.spec or {}).get("containers") or []
    return [c for c in written if isinstance(c, dict)] or [{"name": default_name}]


def cpu_request(pod: Pod, container: dict, first: bool) -> float | None:
    """The container's CPU request in millicores, None when it has none (the facade's cpu= is the first's)."""
    requests = ((container.get("resources") or {}).get("requests") or {})
    if "cpu" in requests:
        return millicores(requests["cpu"])
    if first and pod.template.spec is None and pod.template.cpu > 0:
        return float(pod.template.cpu)
    return None


class Usage:
    """When each pod answered a request, for one window; what each pod uses (see the module)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._answered: dict[str, deque[float]] = {}

    def answered(self, pod: str, when: float) -> None:
        """Pod `pod` (the simulator's name) answered a request at cluster time `when`."""
        times = self._answered.setdefault(pod, deque())
        times.append(when)
        while times and times[0] <= self.clock.now - WINDOW:  # what no window will count again
            times.popleft()

    def rate(self, pod: str, now: float | None = None) -> float:
        """Requests a second `pod` answered over the window that ends now."""
        now = self.clock.now if now is None else now
        times = self._answered.get(pod)
        if not times:
            return 0.0
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if not times:
            del self._answered[pod]
            return 0.0
        return sum(1 for t in times if t <= now) / WINDOW

    def cpu(self, pod: Pod, now: float | None = None) -> float:
        """Millicores the pod's serving container uses (IDLE_MILLICORES with no requests)."""
        return IDLE_MILLICORES + self.rate(pod.name, now) * CPU_MS_PER_REQUEST

    def containers(self, pod: Pod, default_name: str) -> list[tuple[str, float, float]]:
        """(container, millicores, MiB) of each of the pod's containers: the one running the pod's image
        serves (its first, if none does); the others idle, each with its image's memory."""
        listed = containers(pod, default_name)
        serving = next((i for i, c in enumerate(listed) if c.get("image") == pod.image), 0)
        return [(c.get("name", ""), self.cpu(pod) if i == serving else IDLE_MILLICORES,
                 image_memory(pod.image if i == serving else str(c.get("image") or "")))
                for i, c in enumerate(listed)]

    def pod_cpu(self, pod: Pod, container: str | None, default_name: str) -> float:
        """Millicores the pod uses, all its containers' (or only `container`'s)."""
        return sum(cpu for name, cpu, _ in self.containers(pod, default_name) if container in (None, name))

    def pod_memory(self, pod: Pod, container: str | None, default_name: str) -> float:
        """MiB the pod holds, all its containers' (or only `container`'s)."""
        return sum(mib for name, _, mib in self.containers(pod, default_name) if container in (None, name))
