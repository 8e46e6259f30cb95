"""labkit's private files (issue #22, "Files"): another local user cannot plant, read or
redirect them. Each test plays one attack from the issue and checks it is refused or harmless.
No Docker: the playground and the reaper are asked only for their folders and files.

Every test points the temp folder at its own tmp_path, so the real /tmp/labkit-<uid> is never touched.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from labkit.backends.docker import reaper
from labkit.backends.docker.playground import Names
from labkit.backends.sim.kube import serve
from labkit.backends.sim.kube.serve import ServedCluster
from labkit.errors import Refused
from labkit.private import find_dir, open_private, private_dir, read_pid, write_private

OTHER_USER = 65534  # nobody
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def base(tmp_path, monkeypatch) -> Path:
    """Where labkit's private folder goes in this test (not made yet)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return tmp_path / f"labkit-{os.getuid()}"


def as_root() -> None:
    if os.getuid() != 0:
        pytest.skip("making a folder of another user needs root")


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_private_folder_is_made_0700_at_every_level(base):
    assert serve.state_dir() == str(base / "serve")
    assert mode(base) == mode(base / "serve") == 0o700


def test_a_base_folder_anyone_may_use_is_refused_and_nothing_is_written_into_it(base):
    """Another user pre-creates /tmp/labkit-<uid> with mode 0777, to plant or read labkit's files."""
    base.mkdir()
    os.chmod(base, 0o777)
    for make in (serve.state_dir, serve.kubeconfig_path, serve.pid_path, lambda: Names("lesson").socket_dir(1),
                 lambda: reaper.watch("lesson", keep=True)):
        with pytest.raises(Refused) as caught:
            make()
        assert str(base) in caught.value.message and "0777" in caught.value.message
        assert f"rm -r {base}" in caught.value.hint and "XDG_RUNTIME_DIR" in caught.value.hint
    assert list(base.iterdir()) == []


def test_a_base_folder_of_another_user_is_refused(base):
    """The same folder made by another user with mode 0700 (root could still write in it: the
    check is of the owner, not of what the kernel allows)."""
    as_root()
    base.mkdir(mode=0o700)
    os.chown(base, OTHER_USER, OTHER_USER)
    with pytest.raises(Refused) as caught:
        serve.state_dir()
    assert f"belongs to uid {OTHER_USER}" in caught.value.message
    assert list(base.iterdir()) == []


def test_a_base_folder_that_is_a_link_is_refused(base, tmp_path):
    """A link at /tmp/labkit-<uid> to a folder the other user reads."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    base.symlink_to(elsewhere)
    with pytest.raises(Refused) as caught:
        private_dir("serve")
    assert "symbolic link" in caught.value.message and list(elsewhere.iterdir()) == []


def test_a_sub_folder_anyone_may_use_is_refused(base):
    (base / "serve").mkdir(parents=True)
    os.chmod(base, 0o700)
    os.chmod(base / "serve", 0o777)
    with pytest.raises(Refused, match="serve"):
        serve.pid_path()


def test_labkit_reset_neither_reads_nor_empties_a_folder_of_another_user(base, monkeypatch):
    as_root()
    (base / "old-lab").mkdir(parents=True)
    (base / "claims" / "lesson").mkdir(parents=True)
    (base / "claims" / "lesson" / "1-0").write_text("keep")
    for folder in (base, base / "old-lab", base / "claims", base / "claims" / "lesson"):
        os.chown(folder, OTHER_USER, OTHER_USER)
    monkeypatch.setattr(reaper, "reap", lambda *a, **k: [])
    assert find_dir() is None and reaper._claims("lesson") == []
    reaper.reset_all()
    assert (base / "old-lab").exists() and (base / "claims" / "lesson" / "1-0").exists()


def test_links_at_the_pid_and_kubeconfig_paths_are_replaced_not_written_through(base, tmp_path):
    """`labkit serve` (a process of its own, as a student runs it) meets links at its pid file and
    kubeconfig to files of the student's: both links are replaced, neither file is touched, and
    `labkit serve --stop` stops it."""
    pid_victim, kubeconfig_victim = tmp_path / "pid-victim", tmp_path / "kubeconfig-victim"
    pid_victim.write_text("precious")
    kubeconfig_victim.write_text("precious")
    os.symlink(pid_victim, serve.pid_path())
    os.symlink(kubeconfig_victim, serve.kubeconfig_path())
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"} | {"TMPDIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "labkit.cli", "serve", "--nodes", "1"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert serve.wait_until_serving(60.0), process.stderr.read1().decode() if process.poll() is not None else ""
        assert not os.path.islink(serve.pid_path()) and not os.path.islink(serve.kubeconfig_path())
        assert read_pid(serve.pid_path()) == process.pid and '"token"' in open(serve.kubeconfig_path()).read()
        assert mode(serve.pid_path()) == mode(serve.kubeconfig_path()) == 0o600
        assert pid_victim.read_text() == kubeconfig_victim.read_text() == "precious"
        said: list[str] = []
        assert serve.stop_running(out=said.append) == 0 and said == [f"stopped the served cluster (pid {process.pid})"]
        assert process.wait(timeout=10) == 0
        assert not os.path.lexists(serve.pid_path()) and not os.path.lexists(serve.kubeconfig_path())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_kubeconfig_someone_opened_before_does_not_see_the_token(base):
    """A pre-created 0666 kubeconfig, held open by the other user to read the token once written."""
    path = serve.kubeconfig_path()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    os.chmod(path, 0o666)
    served = ServedCluster(1, speed=0.0, kubeconfig=path).start()
    try:
        assert mode(path) == 0o600 and served.api.token in open(path).read()
        assert os.read(fd, 4096) == b""  # the old file, still empty
    finally:
        os.close(fd)
        served.stop()


def test_a_planted_pid_of_another_process_is_not_signalled(base):
    """A pid file naming an unrelated process (a stale file, or one planted): `labkit serve --stop`
    leaves it alone and says so."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        write_private(serve.pid_path(), str(sleeper.pid))
        said: list[str] = []
        assert serve.stop_running(out=said.append) == 1
        assert "is not a `labkit serve` of yours" in said[0] and str(sleeper.pid) in said[0]
        time.sleep(0.1)
        assert sleeper.poll() is None and serve.running_pid() is None
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("planted", ["-1", "0", "1", "not a pid"])
def test_a_pid_that_names_a_group_or_init_is_never_signalled(base, planted, monkeypatch):
    """`kill(-1)` would signal every process of the user (of the machine, as root), `kill(0)` our
    own group. os.kill is replaced here, so that a regression cannot do either for real."""
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, signum: sent.append((pid, signum)))
    write_private(serve.pid_path(), planted)
    said: list[str] = []
    assert serve.stop_running(out=said.append) == 1 and said == ["no served cluster is running"]
    assert serve.running_pid() is None and sent == []


def test_a_pid_file_of_another_user_is_not_read(base):
    as_root()
    write_private(serve.pid_path(), str(os.getpid()))
    os.chown(serve.pid_path(), OTHER_USER, OTHER_USER)
    assert read_pid(serve.pid_path()) is None


def test_a_link_at_the_reapers_log_is_refused(base, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(victim, os.path.join(private_dir(), "reaper.log"))
    with pytest.raises(Refused, match="symbolic link"):
        open_private(os.path.join(private_dir(), "reaper.log"))
    assert victim.read_text() == "precious"


def test_a_log_of_another_user_is_refused(base):
    as_root()
    log = os.path.join(private_dir(), "reaper.log")
    open_private(log).close()
    os.chown(log, OTHER_USER, OTHER_USER)
    with pytest.raises(Refused, match=f"uid {OTHER_USER}"):
        open_private(log)


def test_a_claim_is_a_private_file(base):
    path = reaper.watch("lesson", keep=True)
    try:
        assert path.startswith(str(base / "claims" / "lesson")) and mode(path) == 0o600
        assert open(path).read() == "keep"
    finally:
        reaper.release("lesson")


def test_write_private_leaves_nothing_half_written(base):
    folder = private_dir()
    with pytest.raises(IsADirectoryError):
        write_private(folder, "x")  # the rename fails: no stray file is left beside it
    assert os.listdir(folder) == []
    path = write_private(os.path.join(folder, "file"), b"whole")
    assert os.listdir(folder) == ["file"] and open(path, "rb").read() == b"whole"


def test_xdg_runtime_dir_is_used_when_it_is_the_users_own(base, tmp_path, monkeypatch):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert private_dir("serve") == str(runtime / "labkit" / "serve") and mode(runtime / "labkit") == 0o700
    assert not base.exists()


def test_xdg_runtime_dir_anyone_may_use_is_ignored(base, tmp_path, monkeypatch):
    runtime = tmp_path / "run"
    runtime.mkdir()
    os.chmod(runtime, 0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert private_dir() == str(base) and list(runtime.iterdir()) == []


def test_xdg_runtime_dir_of_another_user_is_ignored(base, tmp_path, monkeypatch):
    as_root()
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    os.chown(runtime, OTHER_USER, OTHER_USER)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert private_dir() == str(base) and list(runtime.iterdir()) == []


def test_the_clock_thread_survives_an_advance_that_raises(capsys):
    """A fault while time moves (a controller's bug) is said once on stderr; the served
    cluster's clock keeps ticking."""
    from labkit.backends.sim import SimBackend
    sim = SimBackend(nodes=1, flavor="kubernetes", seed=0)
    advance, calls = sim.advance, []

    def flaky(seconds, observe=None):
        calls.append(seconds)
        if len(calls) <= 3:
            raise RuntimeError("a controller broke")
        return advance(seconds, observe)

    sim.advance = flaky
    served = ServedCluster(backend=sim, speed=20.0).start()
    try:
        start = sim.now()
        deadline = time.monotonic() + 10
        while (len(calls) < 10 or sim.now() <= start) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served._ticker.is_alive() and sim.now() > start
    finally:
        served.stop()
    err = capsys.readouterr().err
    assert err.count("a controller broke") == 1 and "RuntimeError" in err
