"""`/volumes` and `/plugins`: the simulated host has neither; what a client asks of them is
answered as an engine without any answers (an empty list, `no such volume`), so `docker inspect
NAME` goes on to the kinds it has, and making one is refused as not simulated.

    docker volume ls       # DRIVER VOLUME NAME (none)
"""
from __future__ import annotations

from .common import Answer, Call, EngineError, route
from .spec import not_simulated


@route("GET", "/volumes")
def listing(call: Call) -> Answer:
    return Answer(json={"Volumes": [], "Warnings": None})


@route("GET", "/volumes/{name}")
def inspect(call: Call) -> Answer:
    raise EngineError(404, f"get {call.params['name']}: no such volume")  # moby volume/service/errors.go OpErr


@route("POST", "/volumes/create")
def create(call: Call) -> Answer:
    raise not_simulated("a volume", "the simulated containers keep no files")


@route("GET", "/plugins")
def plugins(call: Call) -> Answer:
    return Answer(json=[])


@route("GET", "/plugins/{name}/json")
def plugin(call: Call) -> Answer:
    raise EngineError(404, f"plugin \"{call.params['name']}\" not found")  # moby plugin/errors.go errNotFound
