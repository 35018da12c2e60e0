"""Atomic file output: a file appears complete and checked at its name, or nothing appears at all.

On Linux the content goes into an *unnamed* file (``O_TMPFILE``) in the target's folder; the
caller writes and checks it through ``/proc/self/fd/N``, and only then is it given its name with
``linkat``. An unnamed file has no directory entry, so a process killed at any moment (SIGKILL
included) leaves nothing behind: the kernel frees the inode with the last descriptor.

What remains possible:
- Replacing an existing target takes two steps (link under a hidden temporary name, then
  ``rename`` onto the target): a SIGKILL between those two system calls leaves that hidden
  ``.NAME.XXXX.tmp`` beside the old, intact target.
- Where ``O_TMPFILE`` is unavailable (not Linux, or a filesystem without it) the file is written
  under a hidden temporary name and renamed; an exception, Ctrl-C or SIGTERM (the CLI turns it into
  an exit that runs cleanup) removes it, but a SIGKILL or power loss while writing can leave it.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import MaladeError

_AT_FDCWD = -100
_AT_SYMLINK_FOLLOW = 0x400


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output(target: str | Path) -> Path:
    """The folder ``target`` will be written into, if it exists and can be written; else a MaladeError."""
    return _output_folder(Path(target))


def _output_folder(target: Path) -> Path:
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise MaladeError(f"output folder {folder} does not exist")
    if target.is_dir():
        raise MaladeError(f"output {target} is a folder; give a file name")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MaladeError(f"cannot write to output folder {folder}: permission denied")
    return folder


def _open_unnamed(folder: Path) -> int | None:
    """A descriptor of a new unnamed file in ``folder``, or None where the OS or filesystem lacks it."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not sys.platform.startswith("linux"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR, 0o666)  # the umask applies, as for any new file
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return None
        raise MaladeError(f"cannot write to output folder {folder}: {exc.strerror}") from None


def _linkat(fd: int, name: Path) -> None:
    """Give the unnamed file ``fd`` the name ``name`` (fails with FileExistsError if it is taken)."""
    libc = ctypes.CDLL(None, use_errno=True)
    source = f"/proc/self/fd/{fd}".encode()
    if libc.linkat(_AT_FDCWD, source, _AT_FDCWD, os.fsencode(name), _AT_SYMLINK_FOLLOW) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(name))


def _hidden_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")


@contextlib.contextmanager
def _unnamed(target: Path, fd: int) -> Iterator[Path]:
    try:
        yield Path(f"/proc/self/fd/{fd}")
        os.fsync(fd)
        try:
            _linkat(fd, target)  # atomic, and nothing is ever named but the finished file
        except FileExistsError:
            hidden = _hidden_name(target)
            _linkat(fd, hidden)
            try:
                os.replace(hidden, target)
            except BaseException:
                hidden.unlink(missing_ok=True)
                raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def _named(target: Path, folder: Path) -> Iterator[Path]:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a path to write (and check) the output at; on a clean exit it appears as ``target``.

    On any exception nothing appears and an existing ``target`` is left untouched. The yielded
    path may be ``/proc/self/fd/N``: open it by name, do not derive other names from it.
    """
    target = Path(target)
    folder = _output_folder(target)
    fd = _open_unnamed(folder)
    context = _named(target, folder) if fd is None else _unnamed(target, fd)
    try:
        with context as path:
            yield path
    except OSError as exc:  # disk full, quota, a folder made read-only meanwhile: one line for the user
        raise MaladeError(f"cannot write {target}: {exc.strerror or exc}") from None


def refuse_overwrite(paths: list[Path], force: bool) -> None:
    """Existing results are never replaced by default: a rerun must say ``--force`` to do it."""
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise MaladeError(f"{existing[0]} already exists; choose another output or pass --force to overwrite it")


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def write_text_atomic(target: str | Path, text: str) -> None:
    write_bytes_atomic(target, text.encode())
