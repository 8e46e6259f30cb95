"""`labkit doctor | reset | lab | serve | kubeconfig | new | student | grade`: the command line for
students and instructors."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import LabkitError


def doctor() -> list[str]:
    """What this machine can run: simulator, Docker, Swarm, Kubernetes."""
    lines = ["simulator: ready (the default backend; needs nothing)", kubectl_line(), *docker_cli_lines(docker_cli())]
    try:
        lines += docker_lines()
    except LabkitError as error:
        lines.append(f"docker: not usable: {error.message} ({error.hint})")
    except ImportError as error:
        lines.append(f"docker: not usable: {error} (pip install 'labkit[docker]')")
    try:
        from .backends.kubernetes import backend as kubernetes
        lines += kubernetes.doctor()
    except ImportError as error:
        lines.append(f"kubernetes: not usable: {error} (pip install 'labkit[kubernetes]')")
    backend = os.environ.get("LABKIT_BACKEND") or "sim"
    lines.append(f"lessons will use: {backend} (set LABKIT_BACKEND=sim|docker|swarm|kubernetes to change)")
    return lines


def kubectl_line() -> str:
    """Which kubectl %kubectl runs (on the simulator too), and its version."""
    from .console import real
    try:
        path = real.binary("kubectl")
        done = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=20)
        import json
        version = json.loads(done.stdout)["clientVersion"]["gitVersion"]
    except LabkitError as error:
        return f"kubectl: not usable: {error.message} ({error.hint})"
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as error:
        return f"kubectl: not usable: {error}"
    return f"kubectl: {version} ({path}): %kubectl runs it, on the simulator too"


GET_DOCKER_CLI = ("Debian/Ubuntu: apt-get install docker.io (or docker-ce-cli); conda: conda install -c conda-forge "
                  "docker-cli; macOS: brew install docker")


def docker_cli() -> str | None:
    """The docker command %docker runs (console/real.py binary: Debian's /usr/bin/docker first,
    then PATH), or None when there is none."""
    from .console import real
    try:
        return real.binary("docker")
    except LabkitError:
        return None


def docker_cli_lines(path: str | None) -> list[str]:
    """Which docker CLI %docker runs, its version and the newest API it speaks, and where that API
    goes: on the simulator, labkit's served Docker Engine (a private unix socket, no daemon); on the
    docker and swarm backends, the real engine.

        docker_cli_lines("/usr/bin/docker")   # ["docker CLI: 20.10.24+dfsg1 (/usr/bin/docker), API 1.41: ...", ...]
    """
    from .backends.sim.engine.state import API_VERSION, ENGINE_VERSION, MIN_API_VERSION
    if path is None:
        return [f"docker CLI: not installed: %docker needs the docker command (the client alone; the simulator "
                f"needs no daemon). Get it: {GET_DOCKER_CLI}"]
    try:
        client = client_version(path)
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        return [f"docker CLI: not usable: {path} did not say its version ({error}); reinstall it ({GET_DOCKER_CLI})"]
    version, api = client.get("Version") or "?", client.get("ApiVersion") or "?"
    lines = [f"docker CLI: {version} ({path}), speaks Docker API {api}: %docker runs it",
             f"  on the simulator its API goes to labkit's served engine (Docker Engine {ENGINE_VERSION}, API "
             f"{MIN_API_VERSION} to {API_VERSION}, on a private unix socket); on the docker and swarm backends, to the "
             f"real engine (DOCKER_HOST={os.environ.get('DOCKER_HOST') or 'unix:///var/run/docker.sock'})"]
    if api_number(api) < api_number(MIN_API_VERSION):
        lines.append(f"  this CLI is too old for the served engine (it takes API {MIN_API_VERSION} or newer): "
                     f"install a newer one ({GET_DOCKER_CLI})")
    return lines


def client_version(path: str) -> dict:
    """The client half of `docker version`, asked of nothing: DOCKER_HOST names a socket nobody
    listens on, so no daemon, the user's or labkit's, is reached."""
    import json
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/labkit-doctor.sock"}
    env.pop("DOCKER_CONTEXT", None)
    done = subprocess.run([path, "version", "--format", "{{json .Client}}"], capture_output=True, text=True,
                          timeout=20, env=env)
    if not done.stdout.strip():
        raise ValueError(f"it printed nothing (exit code {done.returncode}) {done.stderr.strip()[:120]}".strip())
    client = json.loads(done.stdout.strip().splitlines()[0])
    if not isinstance(client, dict):
        raise ValueError(f"unexpected output {done.stdout[:80]!r}")
    return client


def api_number(version: str) -> tuple[int, ...]:
    """"1.41" -> (1, 41); anything unreadable is (0,)."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def docker_lines() -> list[str]:
    from .backends.docker import common
    client = common.connect(timeout=5)
    version = client.version()
    swarm = client.info().get("Swarm", {}).get("LocalNodeState", "inactive")
    return [f"docker: engine {version.get('Version')} (API {version.get('ApiVersion')}) answers",
            f"swarm: this engine's swarm is {swarm}; labkit.connect('swarm') starts its own playground nodes"]


def reset(lab: str | None = None, images: bool = False) -> list[str]:
    """Remove everything labkit made on this machine (by label), from any session."""
    done = []
    try:
        from .backends.docker import reaper
        done += reaper.reset_all(lab, images=images)
    except (ImportError, LabkitError) as error:
        done.append(f"docker: nothing to do ({getattr(error, 'message', error)})")
    return done


def serve_command(args) -> int:
    """`labkit serve` and `labkit kubeconfig`; a refusal (an unsafe private folder, say) is one
    message and its hint, not a traceback."""
    try:
        return _serve_command(args)
    except LabkitError as error:
        print(f"labkit {args.command}: {error.message}\n  {error.hint}", file=sys.stderr)
        return 1


def _serve_command(args) -> int:
    from .backends.sim.kube import serve
    if args.command == "kubeconfig":
        if not serve.wait_until_serving(10.0):  # `labkit serve &` may still be starting
            print("no served cluster is running: start one with `labkit serve` (it prints this line too)",
                  file=sys.stderr)
            return 1
        print(f"export KUBECONFIG={serve.kubeconfig_path()} KUBECACHEDIR={serve.cache_path()}")
        return 0
    if args.stop:
        return serve.stop_running()
    if not 1 <= args.nodes <= 100 or args.speed < 0:
        print("labkit serve: --nodes takes 1 to 100 and --speed 0 or more", file=sys.stderr)
        return 2
    return serve.run(args.nodes, args.speed, args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="say which backends work on this machine")
    reset_cmd = sub.add_parser("reset", help="remove every container, service, network and node labkit made")
    reset_cmd.add_argument("--lab", help="only this lab's objects (default: every lab's)")
    reset_cmd.add_argument("--images", action="store_true", help="also remove the demo and node images")
    lab = sub.add_parser("lab", help="open the course in JupyterLab")
    lab.add_argument("--port", type=int, default=8888)
    serve = sub.add_parser("serve", help="serve a simulated Kubernetes cluster to kubectl (Ctrl-C stops it)")
    serve.add_argument("--nodes", type=int, default=3, help="worker nodes (default 3)")
    serve.add_argument("--speed", type=float, default=10.0, help="how much faster than the wall clock time runs")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    serve.add_argument("--stop", action="store_true", help="stop the cluster another `labkit serve` runs")
    sub.add_parser("kubeconfig", help="print the export line that points kubectl at the served cluster")
    student = sub.add_parser("student", help="write the students' edition of a folder of notebooks: every "
                             "### BEGIN SOLUTION ... ### END SOLUTION becomes # YOUR CODE HERE, outputs cleared")
    student.add_argument("source", help="the folder of solved notebooks (e.g. solutions)")
    student.add_argument("target", help="the folder to write the students' edition into (e.g. notebooks)")
    grade = sub.add_parser("grade", help="run students' notebooks headless on the simulator and table every "
                           "exercise's result (exit 1 if a notebook did not run to its end)")
    grade.add_argument("notebooks", nargs="+", help="the notebooks to grade, each run in its own kernel")
    grade.add_argument("--out", default="results", help="folder for results.csv, .json and .html (default results)")
    grade.add_argument("--timeout", type=float, default=300, help="seconds each notebook may run (default 300)")
    new = sub.add_parser("new", help="start something of your own: `labkit new lesson NAME` writes a lesson folder "
                         "(a solved notebook with one exercise, its next steps)")
    kinds = new.add_subparsers(dest="kind", required=True)
    lesson = kinds.add_parser("lesson", help="a lesson folder: solutions/NAME.ipynb with one exercise declared with "
                              "labkit.exercises, README.md (the next steps), nbval-sanitize.cfg")
    lesson.add_argument("name", help="the lesson's name: lowercase letters, digits and hyphens (e.g. intro)")
    lesson.add_argument("--dir", default=".", help="the folder to make the lesson's folder in (default: here)")
    args = parser.parse_args(argv)
    if args.command == "new":
        from .lessons import skeleton
        return skeleton.main(args.kind, args.name, args.dir)
    if args.command == "student":
        from .lessons import editions
        return editions.main(args.source, args.target)
    if args.command == "grade":
        from .lessons import grading
        return grading.main(args.notebooks, args.out, args.timeout)
    if args.command in ("serve", "kubeconfig"):
        return serve_command(args)
    if args.command == "lab":
        start = Path(__file__).resolve().parent.parent / "notebooks" / "00-start-here.ipynb"
        jupyter = shutil.which("jupyter") or "jupyter"
        root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return subprocess.call([jupyter, "lab", f"--port={args.port}", *root, str(start)])
    for line in (doctor() if args.command == "doctor" else reset(args.lab, args.images)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
