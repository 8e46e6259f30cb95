"""Clean up after a notebook, even when its kernel dies (like testcontainers' Ryuk).

When a backend connects, `watch(lab)` starts one small detached process per
kernel and lab. It polls the kernel's pid; once the kernel is gone it waits a
grace period (10 s, `$LABKIT_REAPER_GRACE`) and then removes every Docker
object labelled `io.labkit=<lab>`, unless

- another live kernel still uses the same lab (it has its own reaper), or
- some session chose `keep=True` (the lab stays until `labkit reset`).

Sessions are recorded as "claim" files in labkit's private folder (labkit.private):
`claims/<lab>/<pid>-<start time>` containing "reap" or "keep".

`reset_all()` (what `labkit reset` runs) removes leftovers of every lab, or
of one lab, including a swarm on the user's engine that labkit initialised.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from ...private import find_dir, open_private, private_dir, write_private
from ..base import LABEL

GRACE = 10.0


def _start_time(pid: int) -> str:
    """The kernel's idea of when `pid` started (so a reused pid is not taken for the old one)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return started == "0" or _start_time(pid) in (started, "0")


def _claims(lab: str) -> list[tuple[int, str, str, str]]:
    """(pid, start time, "reap"/"keep", path) of every claim on `lab`."""
    folder = find_dir("claims", lab)
    out = []
    for entry in os.listdir(folder) if folder else []:
        pid, _, started = entry.partition("-")
        if not pid.isdigit():
            continue
        path = os.path.join(folder, entry)
        try:
            mode = open(path).read().strip()
        except OSError:
            continue
        out.append((int(pid), started, mode, path))
    return out


def watch(lab: str, keep: bool = False, base_url: str | None = None, pid: int | None = None,
          grace: float | None = None) -> str:
    """Claim `lab` for this process and make sure a reaper watches it; return the claim path."""
    pid = pid or os.getpid()
    started = _start_time(pid)
    path = os.path.join(private_dir("claims", lab), f"{pid}-{started}")
    fresh = not os.path.exists(path)
    if not keep:
        # A new session that does not keep the lab lifts old keeps of dead kernels.
        for other_pid, other_started, mode, other in _claims(lab):
            if mode == "keep" and not alive(other_pid, other_started):
                _unlink(other)
    write_private(path, "keep" if keep else "reap")
    if fresh and not keep:
        grace = float(os.environ.get("LABKIT_REAPER_GRACE", GRACE)) if grace is None else grace
        env = dict(os.environ)
        # The folder that holds the labkit package (so that `-m` finds this very labkit), and not
        # this one: it holds packages named docker and kubernetes, which would hide the SDKs.
        package_parent = str(Path(__file__).resolve().parents[__spec__.name.count(".")])
        env["PYTHONPATH"] = os.pathsep.join([package_parent] + [p for p in [env.get("PYTHONPATH")] if p])
        if base_url:
            env["DOCKER_HOST"] = base_url
        log = open_private(os.path.join(private_dir(), "reaper.log"))
        subprocess.Popen([sys.executable, "-m", __spec__.name, "watch", lab, str(pid), started, str(grace)],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                         start_new_session=True, close_fds=True)
        log.close()
    return path


def release(lab: str, pid: int | None = None) -> None:
    """Drop this process's claim (after an explicit cleanup nothing is left to watch)."""
    pid = pid or os.getpid()
    for other_pid, _, _, path in _claims(lab):
        if other_pid == pid:
            _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
        os.rmdir(os.path.dirname(path))  # the lab's folder, once its last claim is gone
    except OSError:
        pass


def _watch_loop(lab: str, pid: int, started: str, grace: float) -> int:
    while alive(pid, started):
        time.sleep(1.0)
    folder = find_dir("claims", lab)
    mine = os.path.join(folder, f"{pid}-{started}") if folder else None
    if mine is None or not os.path.exists(mine):
        return 0  # released or re-claimed with keep=True... nothing for us
    try:
        if open(mine).read().strip() == "keep":
            return 0
    except OSError:
        return 0
    time.sleep(grace)
    _unlink(mine)
    for other_pid, other_started, mode, _ in _claims(lab):
        if mode == "keep" or alive(other_pid, other_started):
            print(f"lab {lab!r} is still claimed by pid {other_pid} ({mode}); not reaping", flush=True)
            return 0
    removed = reap(lab)
    print(f"kernel {pid} is gone: removed {len(removed)} object(s) of lab {lab!r}: {removed}", flush=True)
    return 0


def owned_objects(client, lab: str | None) -> list[tuple[str, object]]:
    """("service"|"container"|"volume"|"network", object) for everything labkit made for `lab`
    (every lab when None): selected by label, then kept only where `owned()` says so."""
    from . import common as du
    selector = f"{LABEL}={lab}" if lab else LABEL
    found: list[tuple[str, object]] = []
    try:  # services on the user's own swarm (playground=False)
        found += [("service", s) for s in client.services.list(filters={"label": selector})
                  if du.owned(s.attrs["Spec"].get("Labels"), lab)]
    except Exception:
        pass  # not a swarm manager: no services
    # A student's own container of a demo image or of the node image inherits the image's
    # labels: owned() tells it apart, so it is never listed here.
    listed = client.containers.list(all=True, ignore_removed=True, filters={"label": selector})  # one may go meanwhile
    found += [("container", c) for c in listed if du.owned(c.labels, lab)]
    found += [("volume", v) for v in client.volumes.list(filters={"label": selector})
              if du.owned(v.attrs.get("Labels"), lab)]
    found += [("network", n) for n in client.networks.list(filters={"label": selector})
              if du.owned(n.attrs.get("Labels"), lab)]
    return found


def reap(lab: str | None, client=None, images: bool = False) -> list[str]:
    """Remove every Docker object labkit made for `lab` (every lab when None); return what went."""
    from . import common as du
    client = client or du.connect()
    removed: list[str] = []
    for kind, thing in owned_objects(client, lab):
        try:
            if kind == "container":
                thing.remove(force=True, v=True)
            elif kind == "volume":
                thing.remove(force=True)
            else:
                thing.remove()
            removed.append(f"{kind}/{thing.name}")
        except Exception:
            pass
    try:  # the user's engine's swarm, only when labkit initialised it (its spec carries our label)
        swarm_labels = ((client.swarm.attrs or {}).get("Spec") or {}).get("Labels") or {}
        if LABEL in swarm_labels and (lab is None or swarm_labels[LABEL] == lab):
            leave_swarm(client)
            removed.append("swarm")
    except Exception:
        pass
    base = find_dir()
    if lab and base:  # the playground's socket folders of this lab, and its lock file
        import shutil
        from .playground import remove_lock
        shutil.rmtree(os.path.join(base, lab), ignore_errors=True)
        remove_lock(lab)
    if images:
        from .images import remove_images
        removed += [f"image/{t}" for t in remove_images(client)]
    return removed


def leave_swarm(client) -> None:
    """Leave a swarm labkit initialised, and remove the bridge Docker made for it."""
    client.swarm.leave(force=True)
    try:
        bridge = client.networks.get("docker_gwbridge")
        if not bridge.attrs.get("Containers"):
            bridge.remove()
    except Exception:
        pass


def reset_all(lab: str | None = None, images: bool = False, client=None) -> list[str]:
    """`labkit reset`: remove what labkit made, for one lab or all (older sessions too).

    Images are kept unless `images=True` (the node image takes a minute to rebuild).
    """
    removed = reap(lab, client, images=images)
    root = find_dir("claims")
    labs = [lab] if lab else (os.listdir(root) if root else [])
    for name in labs:
        for _, _, _, path in _claims(name):
            _unlink(path)
    import shutil
    from .playground import remove_lock
    base = find_dir()
    names = (labs if lab else os.listdir(base)) if base else []
    for name in names:
        if name.endswith(".lock"):  # a lab's lock file (reap removed the one of `lab`)
            remove_lock(name[:-len(".lock")])
        elif name not in ("claims", "serve"):  # serve: a running `labkit serve` owns its kubeconfig and pid
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.backends.docker.reaper")
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("watch")
    w.add_argument("lab")
    w.add_argument("pid", type=int)
    w.add_argument("started")
    w.add_argument("grace", type=float)
    r = sub.add_parser("reset")
    r.add_argument("--lab")
    r.add_argument("--images", action="store_true")
    args = parser.parse_args(argv)
    if args.cmd == "watch":
        return _watch_loop(args.lab, args.pid, args.started, args.grace)
    print("\n".join(reset_all(args.lab, images=args.images)) or "nothing to remove")
    return 0


if __name__ == "__main__":
    sys.exit(main())
