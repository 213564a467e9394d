"""Output files that appear complete or not at all.

A take or a trace is written to a hidden temporary file beside its target and
renamed over it only when the last byte is down (``os.replace`` is atomic on one
file system). A failure, an interrupted render or Ctrl+C deletes the temporary
file, so a half-written video is never left where the user expects the real one.

``check_output`` validates a path before any work starts, so a typo in ``-o`` is
reported in a line instead of after a minute of rendering.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class OutputPathError(Exception):
    """An output path that cannot be used; the message is one readable line."""


def check_output(path: str | os.PathLike, extensions: tuple[str, ...]) -> Path:
    """The output path as a ``Path`` if it has a known extension and can be written."""
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix not in extensions:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise OutputPathError(
            f"unsupported output extension ({shown}) in {os.fspath(path)}: use {_or(extensions)}"
        )
    if target.is_dir():
        raise OutputPathError(f"cannot write {os.fspath(path)}: it is a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise OutputPathError(f"cannot write {os.fspath(path)}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputPathError(f"cannot write {os.fspath(path)}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {os.fspath(path)}: permission denied in {parent}")
    return target


def _or(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


class AtomicFile:
    """A temporary file beside ``path`` that ``commit`` renames into place.

    As a context manager it commits on a clean exit and discards on any
    exception, KeyboardInterrupt included.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        directory = self.path.parent if str(self.path.parent) else Path(".")
        handle, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=directory)
        os.close(handle)
        self.temp = Path(temp)
        self.committed = False

    def commit(self) -> Path:
        # mkstemp makes the file private (0600); a finished take should get the
        # same permissions as any file the user creates.
        os.chmod(self.temp, 0o666 & ~_UMASK)
        os.replace(self.temp, self.path)
        self.committed = True
        return self.path

    def discard(self) -> None:
        if not self.committed:
            self.temp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind, _value, _tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _read_umask() -> int:
    # The only portable way to read the umask is to set it and put it back; do
    # it once at import, before any encoder thread exists.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
