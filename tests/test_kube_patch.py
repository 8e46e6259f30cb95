"""Patches and selectors of the served API, case by case (RFC 6902, RFC 7386, strategic merge)."""
from __future__ import annotations

import pytest

from labkit.backends.sim.kube.patch import (PatchError, SelectorError, field_matcher, json_patch, label_matcher,
                                            merge_patch, strategic_merge_patch)

DEPLOY = {"spec": {"replicas": 3, "template": {"spec": {"containers": [
    {"name": "web", "image": "web-server:1", "env": [{"name": "A", "value": "1"}]},
    {"name": "log", "image": "busybox"}]}}}}


def test_merge_patch_merges_objects_replaces_lists_and_null_removes():
    out = merge_patch(DEPLOY, {"spec": {"replicas": 5, "paused": None,
                                        "template": {"spec": {"containers": [{"name": "x", "image": "y"}]}}}})
    assert out["spec"]["replicas"] == 5 and "paused" not in out["spec"]
    assert out["spec"]["template"]["spec"]["containers"] == [{"name": "x", "image": "y"}]
    assert merge_patch({"a": 1, "b": 2}, {"b": None}) == {"a": 1}
    assert DEPLOY["spec"]["replicas"] == 3  # the original is untouched


def test_strategic_merge_patch_merges_containers_by_name_as_kubectl_set_image_needs():
    out = strategic_merge_patch(DEPLOY, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}, {"name": "log"}],
        "containers": [{"name": "web", "image": "web-server:2"}]}}}})
    web, log = out["spec"]["template"]["spec"]["containers"]
    assert (web["image"], web["env"], log["image"]) == ("web-server:2", [{"name": "A", "value": "1"}], "busybox")
    out = strategic_merge_patch(DEPLOY, {"spec": {"template": {"spec": {
        "containers": [{"name": "log", "$patch": "delete"}, {"name": "side", "image": "s:1"}]}}}})
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["web", "side"]
    with pytest.raises(PatchError, match="merge key"):
        strategic_merge_patch(DEPLOY, {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})
    replaced = strategic_merge_patch({"spec": {"a": 1, "b": 2}}, {"spec": {"$patch": "replace", "c": 3}})
    assert replaced == {"spec": {"c": 3}}


def test_json_patch_operations():
    doc = {"a": [1, 2], "b": {"c": 1}}
    assert json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}])["a"] == [1, 2, 3]
    assert json_patch(doc, [{"op": "add", "path": "/a/0", "value": 0}])["a"] == [0, 1, 2]
    assert json_patch(doc, [{"op": "replace", "path": "/b/c", "value": 2}])["b"] == {"c": 2}
    assert json_patch(doc, [{"op": "remove", "path": "/b"}]) == {"a": [1, 2]}
    assert json_patch(doc, [{"op": "move", "from": "/b/c", "path": "/d"}]) == {"a": [1, 2], "b": {}, "d": 1}
    assert json_patch(doc, [{"op": "copy", "from": "/b", "path": "/e"}])["e"] == {"c": 1}
    assert json_patch({"a/b": {"~x": 1}}, [{"op": "replace", "path": "/a~1b/~0x", "value": 2}]) == {"a/b": {"~x": 2}}
    with pytest.raises(PatchError, match="missing path"):
        json_patch(doc, [{"op": "replace", "path": "/nope", "value": 1}])
    with pytest.raises(PatchError, match="failed"):
        json_patch(doc, [{"op": "test", "path": "/b/c", "value": 9}])
    with pytest.raises(PatchError):
        json_patch(doc, {"op": "add"})
    assert doc == {"a": [1, 2], "b": {"c": 1}}


@pytest.mark.parametrize("selector, labels, matches", [
    ("", {}, True),
    ("app=web", {"app": "web"}, True),
    ("app==web", {"app": "web", "x": "y"}, True),
    ("app=web", {"app": "api"}, False),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("app in (web, api),tier", {"app": "api", "tier": "front"}, True),
    ("app in (web, api),tier", {"app": "api"}, False),
    ("app notin (web)", {"app": "api"}, True),
    ("app notin (web)", {}, True),
    ("!canary", {"canary": "yes"}, False),
    ("!canary,app=web", {"app": "web"}, True),
])
def test_label_selectors(selector, labels, matches):
    assert label_matcher(selector)(labels) is matches


@pytest.mark.parametrize("bad", ["app===web", "!app=web", "app in web", "=web"])
def test_bad_label_selectors_are_refused(bad):
    with pytest.raises(SelectorError):
        label_matcher(bad)


def test_field_selectors():
    pod = {"metadata": {"name": "p"}, "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}}
    allowed = ("metadata.name", "spec.nodeName", "status.phase")
    assert field_matcher("spec.nodeName=node-1,status.phase!=Pending", allowed)(pod)
    assert not field_matcher("metadata.name=q", allowed)(pod)
    with pytest.raises(SelectorError, match="not supported"):
        field_matcher("spec.image=x", allowed)
