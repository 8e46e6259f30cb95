"""`/images`: the engine host's images, pulled from labkit's offline registry (labkit/catalog.py).

    docker pull nginx:1.27        # POST /images/create?fromImage=nginx&tag=1.27: the pull's JSON progress
    docker images                 # GET /images/json: REPOSITORY TAG IMAGE ID CREATED SIZE
    docker image inspect nginx    # GET /images/{name}/json
    docker rmi nginx              # DELETE /images/{name}

What the host has is the simulator's: a machine's `images` (node.py adds an image when a container
of it first starts there; a pull adds it here). Ids, digests, sizes and layers are made from the
reference (the same on every run): nothing is downloaded. A reference the registry does not have
is refused as the daemon's pull refuses it (moby v20.10.24 distribution/errors.go: `manifest
unknown` for a tag, `pull access denied` for a repository).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from .... import catalog
from .common import Answer, Call, EngineError, bad, filters, route
from .image_config import entry, env_of, port_of
from .state import Engine

BUILT = datetime(2025, 4, 16, tzinfo=timezone.utc)  # when the offline registry's images were built (about)
FILTERS = ("before", "dangling", "label", "reference", "since")


def familiar(ref: str) -> str:
    """`docker.io/library/nginx:1.27` -> `nginx:1.27`, as the CLI and daemon print a reference."""
    repo, tag = catalog.split(ref)
    for prefix in ("docker.io/library/", "docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
            break
    return f"{repo}@{tag[1:]}" if tag.startswith("@") else f"{repo}:{tag}"


def known(ref: str) -> bool:
    return catalog.lookup(familiar(ref)) is not None  # (the course's images by their short names)


def version_of(ref: str) -> str:
    """What a tag points at: two tags of one version are one image (one id)."""
    found = catalog.public(ref)
    return f"{found.image.reference}:{found.version}" if found is not None else catalog.ALIASES.get(
        catalog.normalize(ref), catalog.normalize(ref))


def image_id(ref: str) -> str:
    return "sha256:" + hashlib.sha256(f"labkit-image/{version_of(ref)}".encode()).hexdigest()


def digest(ref: str) -> str:
    """The repository digest (services.py's /distribution answers the same one)."""
    return "sha256:" + hashlib.sha256(f"labkit-offline/{catalog.normalize(ref.split('@')[0])}".encode()).hexdigest()


def size(ref: str) -> int:
    return 5_000_000 + int(image_id(ref)[7:15], 16) % 180_000_000


def held(engine: Engine) -> dict[str, list[str]]:
    """The host's images: image id -> its tags (familiar names), from the machine's own list."""
    out: dict[str, list[str]] = {}
    for ref in sorted(engine.host.images):
        if "@" in ref or not known(ref):
            continue
        tags = out.setdefault(image_id(ref), [])
        name = familiar(ref)
        if name not in tags:
            tags.append(name)
    return out


def has(engine: Engine, ref: str) -> bool:
    return familiar(ref) in {t for tags in held(engine).values() for t in tags}


def add(engine: Engine, ref: str) -> None:
    """The host has `ref` now (as it is written and as the agent will look it up)."""
    engine.host.images.update({ref, catalog.normalize(ref), familiar(ref)})


def find(engine: Engine, ref: str) -> tuple[str, list[str]]:
    """(id, tags) of the image `ref` names: a tag, a full or short id (moby's GetImage)."""
    images = held(engine)
    bare = ref[7:] if ref.startswith("sha256:") else ref
    for ident, tags in images.items():
        if familiar(ref) in tags or (len(bare) >= 1 and ident[7:].startswith(bare) and all(
                c in "0123456789abcdef" for c in bare)):
            return ident, tags
    raise EngineError(404, f"No such image: {familiar(ref) if ':' in ref or '/' in ref or not bare.isalnum() else ref}")


def summary(ident: str, tags: list[str]) -> dict:
    ref = tags[0]
    repos = sorted({t.rsplit(":", 1)[0] for t in tags})
    return {"Containers": -1, "Created": int(BUILT.timestamp()), "Id": ident, "Labels": None, "ParentId": "",
            "RepoDigests": [f"{r}@{digest(ref)}" for r in repos], "RepoTags": sorted(tags),
            "SharedSize": -1, "Size": size(ref), "VirtualSize": size(ref)}


@route("GET", "/images/json")
def listing(call: Call) -> Answer:
    engine = call.engine
    wanted = filters(call.query, FILTERS)
    with engine.lock:
        found = [summary(i, tags) for i, tags in held(engine).items()]
    for pattern in wanted.get("reference", []):
        repo = pattern.split(":")[0]
        found = [f for f in found if any(t.split(":")[0] == repo and (":" not in pattern or t == pattern)
                                         for t in f["RepoTags"])]
    if "dangling" in wanted and wanted["dangling"] not in (["true"], ["false"], ["1"], ["0"]):
        raise bad(f"Invalid filter 'dangling={wanted['dangling'][0] if wanted['dangling'] else ''}'")
    if wanted.get("dangling") in (["true"], ["1"]) or wanted.get("label"):
        found = []  # no dangling images, no image labels in the offline registry
    return Answer(json=found)


@route("GET", "/images/{name+}/json")
def inspect(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        ident, tags = find(engine, call.params["name"])
    ref = tags[0]
    entrypoint, cmd = entry(ref)
    port = port_of(ref)
    config = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
              "AttachStderr": False, "ExposedPorts": {f"{port}/tcp": {}} if port else None, "Tty": False,
              "OpenStdin": False, "StdinOnce": False, "Env": env_of(ref), "Cmd": cmd or None, "Image": "",
              "Volumes": None, "WorkingDir": "", "Entrypoint": entrypoint or None, "OnBuild": None, "Labels": None}
    layers = [f"sha256:{hashlib.sha256(f'{ident}/{i}'.encode()).hexdigest()}" for i in range(3)]
    return Answer(json={
        "Id": ident, "RepoTags": sorted(tags), "RepoDigests": summary(ident, tags)["RepoDigests"], "Parent": "",
        "Comment": "buildkit.dockerfile.v0", "Created": BUILT.strftime("%Y-%m-%dT%H:%M:%SZ"), "Container": "",
        "ContainerConfig": {**config, "Cmd": None, "Entrypoint": None}, "DockerVersion": "", "Author": "",
        "Config": config, "Architecture": "amd64", "Os": "linux", "Size": size(ref), "VirtualSize": size(ref),
        "GraphDriver": {"Data": None, "Name": "overlay2"}, "RootFS": {"Type": "layers", "Layers": layers},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"}})


def pull_error(ref: str) -> EngineError:
    """Why the registry refuses `ref`, in the daemon's words (distribution/errors.go, registry's
    `manifest unknown`, Docker Hub's `denied` for a repository it does not have)."""
    found = catalog.find(ref)
    name = familiar(ref)
    repo = name.rsplit(":", 1)[0] if "@" not in name else name.split("@")[0]
    if found.image is not None:
        return EngineError(404, f"manifest for {name} not found: manifest unknown: manifest unknown")
    return EngineError(404, f"pull access denied for {repo}, repository does not exist or may require 'docker login': "
                            "denied: requested access to the resource is denied")


@route("POST", "/images/create", body=False)
def pull(call: Call) -> Answer:
    """`docker pull`: the progress messages a pull streams (one JSON object a line), the layers'
    lines ending in `Pull complete`; an image the host has is `up to date`."""
    engine = call.engine
    image, tag = call.query.get("fromImage", ""), call.query.get("tag", "")
    if call.query.get("fromSrc"):
        from .spec import not_simulated
        raise not_simulated("importing an image (docker import)", "pull one from the offline registry: docker pull")
    if not image:
        raise bad("invalid reference format")
    ref = f"{image}{'@' if tag.startswith('sha256:') else ':'}{tag}" if tag else image
    try:
        from .... import validate
        validate.image(ref)
    except Exception:
        raise bad("invalid reference format") from None
    if not known(ref):
        raise pull_error(ref)
    name = familiar(ref)
    with engine.lock:
        fresh = not has(engine, ref)
        add(engine, ref)
        from .events import note
        note(engine, "image", "pull", familiar(ref), name=familiar(ref).rsplit(":", 1)[0])
    repo, shown_tag = catalog.split(ref)
    path = repo.split("/", 1)[1] if repo.startswith("docker.io/") else repo.split("/", 1)[-1]
    lines = [{"status": f"Pulling from {path}", "id": shown_tag.lstrip("@")}]
    ident = image_id(ref)
    if fresh:
        for i in range(3):
            layer = hashlib.sha256(f"{ident}/{i}".encode()).hexdigest()[:12]
            lines += [{"status": "Pulling fs layer", "progressDetail": {}, "id": layer},
                      {"status": "Download complete", "progressDetail": {}, "id": layer},
                      {"status": "Pull complete", "progressDetail": {}, "id": layer}]
    lines += [{"status": f"Digest: {digest(ref)}"},
              {"status": f"Status: {'Downloaded newer image' if fresh else 'Image is up to date'} for {name}"}]
    data = "".join(json.dumps(line, separators=(",", ":")) + "\r\n" for line in lines).encode()
    return Answer(raw=data, content_type="application/json")


@route("DELETE", "/images/{name+}")
def remove(call: Call) -> Answer:
    engine = call.engine
    force = call.query.get("force", "") in ("1", "true", "True")
    from .boxes import boxes
    with engine.lock:
        ref = call.params["name"]
        ident, tags = find(engine, ref)
        users = [b for b in boxes(engine) if image_id(b.image) == ident and known(b.image)]
        if users and not force:
            box = users[0]
            word = "repository reference" if not ref.startswith("sha256:") and ":" not in ref or ref in tags or \
                familiar(ref) in tags else "image"
            raise EngineError(409, f'conflict: unable to remove {word} "{ref}" (must force) - container '
                                   f"{box.ident[:12]} is using its referenced image {ident[7:19]}")
        untag = tags if ident[7:].startswith(ref.replace("sha256:", "")) else [familiar(ref)]
        engine.host.images = {r for r in engine.host.images if familiar(r) not in untag}
        out = [{"Untagged": t} for t in untag]
        from .events import note
        for tag in untag:
            note(engine, "image", "untag", ident, name=tag)
        if not any(image_id(r) == ident for r in engine.host.images if known(r) and "@" not in r):
            out += [{"Untagged": f"{t.rsplit(':', 1)[0]}@{digest(t)}"} for t in untag[:1]] + [{"Deleted": ident}]
    return Answer(json=out)
