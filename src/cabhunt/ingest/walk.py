"""Expanding the command line's paths into files: directories walked, loops and dead links reported."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from cabhunt.errors import Problems


def iter_files(paths: Sequence[Path], problems: Problems) -> Iterator[tuple[Path, str | None]]:
    """Every file under ``paths`` (sorted per directory, each once) with why it cannot be read, if so.

    Directory-level problems (loops, unlistable directories) are reported here; a file that
    cannot be read comes back with its reason so it gets a ledger row.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for path in paths:
        yield from _walk(Path(path), problems, seen_dirs, seen_files)


def _walk(
    path: Path, problems: Problems, seen_dirs: set[tuple[int, int]], seen_files: set[tuple[int, int]]
) -> Iterator[tuple[Path, str | None]]:
    try:
        st = path.stat()
    except FileNotFoundError:
        yield path, ("broken symbolic link" if path.is_symlink() else "no such file or directory")
        return
    except OSError as exc:
        yield path, f"cannot read: {exc.strerror or exc}"
        return
    key = (st.st_dev, st.st_ino)
    if stat.S_ISDIR(st.st_mode):
        if key in seen_dirs:
            problems.add(path, "directory loop (already walked), skipped")
            return
        seen_dirs.add(key)
        try:
            entries = sorted(os.listdir(path))
        except OSError as exc:
            problems.add(path, f"cannot list directory: {exc.strerror or exc}")
            return
        for name in entries:
            yield from _walk(path / name, problems, seen_dirs, seen_files)
        return
    if not stat.S_ISREG(st.st_mode):
        yield path, "not a regular file"
        return
    if key in seen_files:
        return
    seen_files.add(key)
    if not os.access(path, os.R_OK):
        yield path, "cannot read: permission denied"
        return
    yield path, None
