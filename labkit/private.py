"""labkit's private files: kubeconfigs, pid files, claims, locks and logs no other user may touch.

They live in one folder per user: `$XDG_RUNTIME_DIR/labkit` when the session has a runtime
folder of its own, else `<tmp>/labkit-<uid>`. A shared temp folder lets anyone create that
name first, so every level is checked, never trusted: a real folder (not a symbolic link),
owned by this user, closed to group and others. A file is written whole under a fresh name
and renamed over its path, so nothing half written is ever read, and a symbolic link or a
file someone else opened at the path is replaced, not written through.
"""
from __future__ import annotations

import errno
import os
import secrets
import stat
import tempfile
from typing import BinaryIO

from .errors import Refused


def private_dir(*parts: str) -> str:
    """labkit's private folder for this user, then its sub-folders `parts`, each made (mode
    0700) when missing and checked; Refused when one is not ours alone."""
    path = _base()
    _make(path)
    for part in parts:
        path = os.path.join(path, part)
        _make(path)
    return path


def find_dir(*parts: str) -> str | None:
    """The private folder `parts` when it exists and is ours, else None; nothing is made.

    For reading and removing what labkit left: that needs only that no one else could have
    put anything there (each level ours, writable by no one else), so a folder another
    user made is skipped, never read or emptied."""
    path = _base()
    if _problem(path, 0o022):
        return None
    for part in parts:
        path = os.path.join(path, part)
        if _problem(path, 0o022):
            return None
    return path


def write_private(path: str, data: str | bytes) -> str:
    """Write `data` to `path` (mode 0600) atomically: a new file beside it, then a rename.

    The new file is opened with O_EXCL|O_NOFOLLOW, so no file or link someone planted is
    written through; the rename replaces whatever was at `path` (a link too, never followed),
    and whoever held the old file open keeps the old contents."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        _unlink(temporary)
        raise
    return path


def open_private(path: str) -> BinaryIO:
    """`path` opened to append (a log, a lock file), made 0600 if missing; Refused when it is
    a link, not a regular file, or not ours."""
    hint = f"another user may have made it: remove it (`rm {path}`)"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link (EMLINK on BSDs)
            raise Refused(f"{path} is a symbolic link, so labkit will not write through it", hint) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            raise Refused(f"{path} is not a file of your own (uid {info.st_uid}), so labkit will not write to it",
                          hint)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "ab")


def read_pid(path: str) -> int | None:
    """The pid in the pid file `path`; None when there is none, it is not a number of a
    process (0, 1 and negative ones signal groups or init), or the file is not ours."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        try:
            pid = int(f.read(32).strip())
        except ValueError:
            return None
    return pid if pid > 1 else None


def is_labkit_process(pid: int, marker: str) -> bool:
    """Whether `pid` is this user's labkit process whose command line has the word `marker`
    (e.g. "serve"), so a stale or planted pid is never signalled. labkit is the program
    (`.../bin/labkit`) or the module (`python -m labkit.cli`).

    Without /proc (macOS) the command line cannot be read: there it is enough that the
    process exists and is this user's (the caller read the pid from a file of its own)."""
    if not os.path.isdir("/proc/self"):
        try:
            os.kill(pid, 0)
        except OSError:  # gone, or another user's (PermissionError)
            return False
        return True
    try:
        owner = os.stat(f"/proc/{pid}").st_uid
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().decode(errors="replace").split("\0")
    except OSError:
        return False
    labkit = any(os.path.basename(word) == "labkit" or word.startswith("labkit.") for word in words)
    return owner == os.getuid() and labkit and marker in words


def _base() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime) and _problem(runtime, 0o077) is None:
        return os.path.join(runtime, "labkit")
    return os.path.join(tempfile.gettempdir(), f"labkit-{os.getuid()}")


def _make(path: str) -> None:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    problem = _problem(path, 0o077)
    if problem:
        raise Refused(f"labkit will not keep its private files in {path}: {problem}",
                      f"another user may have made it to read or plant labkit's files: remove it (`rm -r {path}`; "
                      "an administrator must, if it is not yours), or set XDG_RUNTIME_DIR to a folder of your own")


def _problem(path: str, closed: int) -> str | None:
    """What makes `path` unfit as a private folder (None: nothing): `closed` are the mode bits
    no one else may have."""
    try:
        info = os.lstat(path)
    except OSError as error:
        return f"it cannot be looked at ({error.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if info.st_uid != os.getuid():
        return f"it belongs to uid {info.st_uid}, not to you (uid {os.getuid()})"
    if info.st_mode & closed:
        return f"others may use it (mode {stat.S_IMODE(info.st_mode):04o}, not 0700)"
    return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
