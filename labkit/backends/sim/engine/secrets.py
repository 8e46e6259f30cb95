"""`/secrets` and `/configs`: a swarm's secrets and configs, one table of rules for both (they
differ in a word, a size limit and whether inspect shows the data).

    printf 's3cret' | docker secret create db_password -
    docker config create site ./nginx.conf
    docker service create --secret db_password --config src=site,target=/etc/nginx/conf.d/site.conf nginx
    docker secret ls / inspect / rm            # rm: refused while a service uses it

The simulator mounts nothing in a task (its programs read no files): these are kept by the
engine, as a client wrote them, and refused as swarmkit refuses them (controlapi/secret.go,
config.go, common.go; validation/secrets.go), in moby v20.10.24's words.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from .common import Answer, Call, EngineError, Reader, bad, filters, labels_match, route, rpc, swarm_id
from .events import note
from .spec import not_simulated
from .state import Engine

NAME = re.compile(r"^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-_.]*[a-zA-Z0-9])$")  # isValidConfigOrSecretName
FILTERS = ("id", "label", "name", "names")


@dataclass(frozen=True)
class Kind:
    word: str  # secret / config
    plural: str
    limit: int  # bytes: the data must be shorter
    shows_data: bool
    mount: str  # where a service's spec names them: ContainerSpec.Secrets / .Configs
    go: str  # the Go struct a body is read into


KINDS = {"secrets": Kind("secret", "secrets", 500 * 1024, False, "Secrets", "SecretSpec"),
         "configs": Kind("config", "configs", 1000 * 1024, True, "Configs", "ConfigSpec")}


def store(engine: Engine, kind: Kind) -> dict[str, dict]:
    """name -> {"ID", "Version", "CreatedAt", "UpdatedAt", "Spec"}: the swarm's (a new swarm has none)."""
    return engine.objects[kind.plural]


def find(engine: Engine, kind: Kind, ref: str) -> dict:
    objects = store(engine, kind)
    for key in (lambda o: o["ID"] == ref, lambda o: o["Spec"]["Name"] == ref):
        hits = [o for o in objects.values() if key(o)]
        if hits:
            return hits[0]
    hits = [o for o in objects.values() if ref and o["ID"].startswith(ref)]
    if len(hits) != 1:
        raise EngineError(404, f"{kind.word} {ref} not found") if not hits else \
            bad(f"{kind.word} {ref} is ambiguous ({len(hits)} matches found)")
    return hits[0]


def shown(kind: Kind, obj: dict) -> dict:
    spec = dict(obj["Spec"])
    if not kind.shows_data:
        spec.pop("Data", None)
    return {**obj, "Spec": spec}


def users(engine: Engine, kind: Kind, obj: dict) -> list[str]:
    out = []
    for name in engine.services():
        container = ((engine.record(name).spec.get("TaskTemplate") or {}).get("ContainerSpec") or {})
        refs = container.get(kind.mount) or []
        if any(isinstance(r, dict) and (r.get(f"{kind.word.capitalize()}ID") == obj["ID"]
                                        or r.get(f"{kind.word.capitalize()}Name") == obj["Spec"]["Name"])
               for r in refs):
            out.append(name)
    return out


def kind_of(call: Call) -> Kind:
    return KINDS[call.params["kind"]]


def listing(call: Call) -> Answer:
    engine, kind = call.engine, kind_of(call)
    wanted = filters(call.query, FILTERS)
    with engine.lock:
        engine.require_leader()
        out = []
        for obj in store(engine, kind).values():
            name, ident = obj["Spec"]["Name"], obj["ID"]
            if wanted.get("id") and not any(ident.startswith(v) for v in wanted["id"]):
                continue
            if wanted.get("name") and not any(name.startswith(v) for v in wanted["name"]):
                continue
            if wanted.get("names") and name not in wanted["names"]:
                continue
            if wanted.get("label") and not labels_match(obj["Spec"].get("Labels") or {}, wanted["label"]):
                continue
            out.append(shown(kind, obj))
        return Answer(json=out)


def inspect(call: Call) -> Answer:
    engine, kind = call.engine, kind_of(call)
    with engine.lock:
        engine.require_leader()
        return Answer(json=shown(kind, find(engine, kind, call.params["id"])))


def create(call: Call) -> Answer:
    engine, kind = call.engine, kind_of(call)
    spec = Reader(call.body, kind.go)
    name, labels, data = spec.text("Name"), spec.labels("Labels"), spec.text("Data")
    driver = spec.obj("Driver")
    driver.text("Name"), driver.labels("Options")
    spec.obj("Templating").text("Name")
    try:
        payload = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise bad(f"illegal base64 data at input byte {len(data.rstrip('='))}") from None
    if not name:
        raise bad(rpc("InvalidArgument", "name must be provided"))
    if len(name) > 64 or not NAME.match(name):
        raise bad(rpc("InvalidArgument", "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start "
                                         "and end character must be [a-zA-Z0-9]"))
    if spec.has("Driver"):
        raise not_simulated(f"a {kind.word} driver", f"the swarm keeps the {kind.word} itself")
    if not 0 < len(payload) < kind.limit:
        raise bad(rpc("InvalidArgument", f"{kind.word} data must be larger than 0 and less than {kind.limit} bytes"))
    with engine.lock:
        engine.require_leader()
        objects = store(engine, kind)
        if name in objects:
            raise EngineError(409, rpc("AlreadyExists", f"{kind.word} {name} already exists"))
        now = engine.timestamp(engine.sim.now())
        ident = swarm_id(kind.word, name, engine.next_index())
        objects[name] = {"ID": ident, "Version": {"Index": engine.index}, "CreatedAt": now, "UpdatedAt": now,
                         "Spec": {"Name": name, "Labels": labels, "Data": data}}
    note(engine, kind.word, "create", ident, name=name)
    return Answer(code=201, json={"ID": ident})


def remove(call: Call) -> Answer:
    engine, kind = call.engine, kind_of(call)
    with engine.lock:
        engine.require_leader()
        obj = find(engine, kind, call.params["id"])
        holders = users(engine, kind, obj)
        if holders:
            word = "service" if len(holders) == 1 else "services"
            raise bad(rpc("InvalidArgument", f"{kind.word} '{obj['Spec']['Name']}' is in use by the following "
                                             f"{word}: {', '.join(holders)}"))
        del store(engine, kind)[obj["Spec"]["Name"]]
        note(engine, kind.word, "remove", obj["ID"], name=obj["Spec"]["Name"])
    return Answer(code=204, text="")


def update(call: Call) -> Answer:
    """Only the labels change (swarmkit's UpdateSecret/UpdateConfig): `docker stack deploy` again."""
    engine, kind = call.engine, kind_of(call)
    raw = call.query.get("version", "")
    if not raw.isdigit():
        raise bad(f"invalid {kind.word} version")
    spec = Reader(call.body, kind.go)
    name, labels, data = spec.text("Name"), spec.labels("Labels"), spec.text("Data")
    with engine.lock:
        engine.require_leader()
        obj = find(engine, kind, call.params["id"])
        if int(raw) != obj["Version"]["Index"]:
            raise EngineError(500, rpc("Unknown", "update out of sequence"))
        if name != obj["Spec"]["Name"] or (data and data != obj["Spec"]["Data"]):
            raise bad(rpc("InvalidArgument", "only updates to Labels are allowed"))
        obj["Spec"]["Labels"] = labels
        obj["Version"] = {"Index": engine.next_index()}
        obj["UpdatedAt"] = engine.timestamp(engine.sim.now())
    return Answer(text="")


for _plural in KINDS:  # one table of routes for both kinds
    route("GET", f"/{_plural}")(lambda call, p=_plural: listing(_with(call, p)))
    route("POST", f"/{_plural}/create")(lambda call, p=_plural: create(_with(call, p)))
    route("GET", f"/{_plural}/{{id}}")(lambda call, p=_plural: inspect(_with(call, p)))
    route("DELETE", f"/{_plural}/{{id}}")(lambda call, p=_plural: remove(_with(call, p)))
    route("POST", f"/{_plural}/{{id}}/update")(lambda call, p=_plural: update(_with(call, p)))


def _with(call: Call, plural: str) -> Call:
    from dataclasses import replace
    return replace(call, params={**call.params, "kind": plural})
