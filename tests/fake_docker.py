"""A Docker client with no daemon behind it, so that unit tests take milliseconds.

docker-py's own unit tests (its tests/unit/fake_api_client.py, `make_fake_client`) keep the
real high-level `DockerClient` and swap its low-level `api` for a mock. This does the same;
the mock's container and image calls answer from `FakeEngine`, a few containers kept in
memory, so that a backend's bookkeeping can be followed through deploy, scale and delete.
Any other call returns a MagicMock, and a test can set `client.api.<call>.side_effect` to
make the engine say no.
"""
from __future__ import annotations

import itertools
import json
from unittest import mock

import docker
import requests

API_VERSION = "1.41"


def response(status: int, body: dict) -> requests.Response:
    """An HTTP answer of the engine, as requests hands it to docker-py."""
    answer = requests.Response()
    answer.status_code, answer.reason, answer.url = status, "fake", "http+docker://localhost/fake"
    answer._content = json.dumps(body).encode()
    return answer


def api_error(status: int, explanation: str) -> docker.errors.APIError:
    """The exception docker-py raises when the engine answers `status` (made by docker-py itself,
    so a 404 is its NotFound, or ImageNotFound when the words are about an image)."""
    try:
        docker.errors.create_api_error_from_http_exception(
            requests.HTTPError(response=response(status, {"message": explanation})))
    except docker.errors.APIError as error:
        return error
    raise AssertionError("docker-py made no error")  # pragma: no cover


class FakeEngine:
    """Containers and images in memory, answering as dockerd's API does (the calls labkit makes)."""

    def __init__(self, images: tuple[str, ...] = ("example/app:1",)) -> None:
        self.images = set(images)
        self.containers: dict[str, dict] = {}  # id -> {"name", "image", "labels", "state"}
        self._ids = itertools.count(1)

    def add(self, name: str, image: str, labels: dict, state: str = "running") -> str:
        cid = f"{next(self._ids):064x}"
        self.containers[cid] = {"name": name, "image": image, "labels": dict(labels), "state": state}
        return cid

    def _find(self, ref: str) -> str:
        for cid, c in self.containers.items():
            if ref in (cid, c["name"]):
                return cid
        raise api_error(404, f"No such container: {ref}")

    def names(self) -> list[str]:
        return sorted(c["name"] for c in self.containers.values())

    # -- the API's calls --------------------------------------------------------------------
    def list(self, filters: dict | None = None, **options) -> list[dict]:
        wanted = (filters or {}).get("label", [])
        wanted = [wanted] if isinstance(wanted, str) else wanted
        out = []
        for cid, c in self.containers.items():
            labels = {k: str(v) for k, v in c["labels"].items()}
            if (options.get("all") or c["state"] == "running") and all(_has(labels, w) for w in wanted):
                out.append({"Id": cid, "Names": ["/" + c["name"]], "Image": c["image"], "Labels": labels,
                            "State": c["state"], "Status": "Up 1 second" if c["state"] == "running" else "Exited (0)",
                            "Created": 0, "Ports": []})
        return out

    def inspect(self, ref: str) -> dict:
        cid = self._find(ref)
        c = self.containers[cid]
        return {"Id": cid, "Name": "/" + c["name"], "Config": {"Labels": c["labels"], "Image": c["image"]},
                "State": {"Status": c["state"], "Pid": 0}, "RestartCount": 0}

    def create(self, image: str, name: str | None = None, labels: dict | None = None, **_) -> dict:
        if image not in self.images:
            raise api_error(404, f"No such image: {image}")
        if any(c["name"] == name for c in self.containers.values()):
            raise api_error(409, f'Conflict. The container name "/{name}" is already in use')
        return {"Id": self.add(name or "", image, labels or {}, state="created")}

    def set_state(self, state: str):
        def change(ref: str, **_) -> None:
            self.containers[self._find(ref)]["state"] = state
        return change

    def remove(self, ref: str, **_) -> None:
        del self.containers[self._find(ref)]

    def inspect_image(self, name: str) -> dict:
        if name not in self.images:
            raise api_error(404, f"No such image: {name}")
        return {"Id": "sha256:" + name}


def _has(labels: dict, wanted: str) -> bool:
    """A label filter as dockerd reads it: `key` or `key=value`."""
    key, _, value = wanted.partition("=")
    return key in labels and (not value or labels[key] == value)


def make_fake_client(engine: FakeEngine | None = None) -> docker.DockerClient:
    """A real DockerClient (no daemon asked: the API version is given) whose `api` is a mock."""
    engine = engine or FakeEngine()
    client = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version=API_VERSION)
    real_api = client.api
    client.api = mock.MagicMock(**{
        "info.return_value": {"NCPU": 2, "MemTotal": 4 << 30, "ServerVersion": "fake"},
        "containers.side_effect": engine.list,
        "inspect_container.side_effect": engine.inspect,
        "create_container.side_effect": engine.create,
        "create_host_config.side_effect": real_api.create_host_config,
        "start.side_effect": engine.set_state("running"),
        "stop.side_effect": engine.set_state("exited"),
        "kill.side_effect": engine.set_state("exited"),
        "remove_container.side_effect": engine.remove,
        "inspect_image.side_effect": engine.inspect_image,
        "pull.side_effect": api_error(500, "Get \"https://registry-1.docker.io/v2/\": no such host"),
        "events.return_value": [],
    })
    client.api._version = API_VERSION
    client.api.base_url = "http+docker://localhost"
    client.engine = engine
    return client
