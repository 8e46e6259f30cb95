"""The demo images: recipes (no engine needed) and real builds on the engine."""
from __future__ import annotations

import os
import time
import urllib.request

import pytest

from labkit import catalog

from labkit.backends.docker import images
from labkit.backends.docker import common as du
from labkit.backends.base import LABEL


def test_catalog_knows_which_image_crashes():
    assert images.lookup("web-server:1").page == "hello v1"
    assert images.lookup("web-server:2").page == "hello v2"
    assert [i.tag for i in images.DEMO_IMAGES.values() if i.crashes] == ["web-server:broken"]
    for name in ("my-web-server", "my-web-app", "hello-minikube"):
        assert images.lookup(name).alias_of == "web-server:1"
    assert images.lookup("web-server").alias_of == "web-server:2"
    assert images.lookup("nginx") is None


def test_the_built_images_are_the_catalogs_the_simulator_reads():
    """One table (labkit/catalog.py): what the real image does is what the simulator models."""
    for tag, image in images.DEMO_IMAGES.items():
        entry = catalog.lookup(tag)
        assert (image.page, image.crashes_after, image.exit_code) == (entry.page, entry.crash_after, entry.exit_code)
    assert set(images.DEMO_IMAGES) == set(catalog.DEMO_IMAGES) | set(catalog.ALIASES)


def test_offline_and_online_recipes():
    v1 = images.lookup("web-server:1")
    offline, online = images.dockerfile(v1, "scratch"), images.dockerfile(v1, "busybox")
    assert offline.startswith("FROM scratch\nCOPY busybox /bin/busybox")
    assert online.startswith("FROM busybox\n") and "COPY busybox" not in online
    assert images.recipe(v1, "scratch") != images.recipe(images.lookup("web-server:2"), "scratch")
    assert "hello v1" in images.page_html(v1)


def test_host_busybox_is_static():
    path = images.host_busybox()
    if path is None:
        pytest.skip("no static busybox here (apt-get install busybox-static)")
    assert os.path.isfile(path)


@pytest.mark.docker
def test_ensure_images_builds_labelled_images_and_is_fast_when_present(engine):
    built = images.ensure_images(engine)
    assert set(built) == set(images.DEMO_IMAGES)
    for tag in built:
        labels = engine.images.get(tag).attrs["Config"]["Labels"]
        assert labels[LABEL] == images.IMAGES_LAB
    assert built["my-web-server:latest"] == built["web-server:1"]
    start = time.monotonic()
    assert images.ensure_images(engine) == built
    assert time.monotonic() - start < 1.0


def _run(engine, tag: str):
    return engine.containers.run(tag, detach=True, labels={LABEL: f"test-images-{os.getpid()}"})


@pytest.mark.docker
def test_v1_and_v2_answer_differently(engine):
    images.ensure_images(engine)
    made = [_run(engine, "web-server:1"), _run(engine, "web-server:2")]
    try:
        pages = []
        for c in made:
            c.reload()
            ip = du.container_ip(c.attrs)
            for _ in range(50):
                try:
                    pages.append(urllib.request.urlopen(f"http://{ip}/", timeout=2).read().decode())
                    break
                except OSError:
                    time.sleep(0.1)
        assert "hello v1" in pages[0] and "hello v2" in pages[1]
    finally:
        for c in made:
            c.remove(force=True)


@pytest.mark.docker
def test_broken_image_crashes_after_a_few_seconds(engine):
    images.ensure_images(engine)
    c = _run(engine, "web-server:broken")
    try:
        start = time.monotonic()
        result = c.wait(timeout=20)
        elapsed = time.monotonic() - start
        demo = catalog.lookup("web-server:broken")  # the simulator's model of it
        assert result["StatusCode"] == demo.exit_code
        assert abs(elapsed - demo.crash_after) < 2.5, elapsed
        assert b"crashing on purpose" in c.logs()
    finally:
        c.remove(force=True)


@pytest.mark.docker
def test_demo_images_stop_at_once(engine):
    """PID 1 traps SIGTERM: a stop takes milliseconds, not Docker's 10 s grace period."""
    images.ensure_images(engine)
    c = _run(engine, "web-server:1")
    try:
        time.sleep(0.3)
        start = time.monotonic()
        c.stop(timeout=10)
        assert time.monotonic() - start < 3
    finally:
        c.remove(force=True)
