"""Atomic writes: a file or a directory appears complete at its final path, or not at all."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hjb.errors import RunDirError

TEMP_TAG = ".hjb-tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp/mkdtemp create 0600/0700 entries; give the final ones the permissions open()/mkdir() would.
_FILE_MODE = 0o666 & ~_umask()
_DIR_MODE = 0o777 & ~_umask()


def _fsync_dir(path: Path) -> None:
    """Flush a directory entry (the rename) to disk; a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync it and os.replace it onto `path`.

    On an exception the temporary file is removed and `path` is left as it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}{TEMP_TAG}", dir=final.parent)
    os.close(fd)
    temp = Path(name)
    os.chmod(temp, _FILE_MODE)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to `path` atomically (temp file in the same directory, fsync, os.replace)."""
    with atomic_file(path) as temp:
        temp.write_bytes(bytes(data))
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_tree(root: Path) -> None:
    for item in root.rglob("*"):
        if item.is_file():
            with open(item, "rb") as handle:
                os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_directory(final_path: str | os.PathLike, marker: str | None = None) -> Iterator[Path]:
    """Yield a temporary directory beside `final_path`; rename it into place only on success.

    An existing `final_path` is replaced when it is empty or contains the file `marker` (a directory
    this function wrote before); any other existing path raises RunDirError before anything is written.
    On an exception inside the block the temporary directory is removed.
    """
    final = Path(final_path)
    check_replaceable(final, marker)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{final.name}{TEMP_TAG}", dir=final.parent))
    os.chmod(temp, _DIR_MODE)
    try:
        yield temp
        _fsync_tree(temp)
        check_replaceable(final, marker)
        _swap_into_place(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _fsync_dir(final.parent)


def check_replaceable(final: Path, marker: str | None) -> None:
    """RunDirError unless `final` is absent, an empty directory, or a directory holding the file `marker`."""
    if not final.exists() and not final.is_symlink():
        return
    if not final.is_dir() or final.is_symlink():
        raise RunDirError(f"{final} exists and is not a directory; expected a new or existing run directory path")
    if any(final.iterdir()) and (marker is None or not (final / marker).is_file()):
        raise RunDirError(
            f"{final} exists and is not an hjb run directory; expected a new path or a directory to overwrite "
            f"that contains {marker or 'nothing'}"
        )


def _swap_into_place(temp: Path, final: Path) -> None:
    """Rename temp onto final; an existing final is moved aside first and deleted after the swap."""
    if not final.exists():
        os.replace(temp, final)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{final.name}{TEMP_TAG}old-", dir=final.parent))
    backup.rmdir()
    os.replace(final, backup)
    try:
        os.replace(temp, final)
    except BaseException:
        os.replace(backup, final)
        raise
    shutil.rmtree(backup, ignore_errors=True)
