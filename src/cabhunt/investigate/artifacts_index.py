"""Find collected files in an artifacts folder by original Windows path or by SHA-256.

Layout (docs/interfaces.md): ``DIR/<host>/<drive>/<rest>`` for local paths and
``DIR/<host>/UNC/<server>/<share>/<rest>`` for UNC paths, matched case-insensitively because
Windows paths are; any file anywhere under ``DIR`` is also found by its SHA-256. Files are only
read as bytes (hashing, DDF text, cabinet analysis) - never opened with a program.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from cabhunt.errors import Problems

MAX_HASH_BYTES = 1 << 30  # files larger than this are not hashed


def _components(win_path: str) -> list[str] | None:
    """``C:\\a\\b`` -> ['C', 'a', 'b']; ``\\\\srv\\sh\\f`` -> ['UNC', 'srv', 'sh', 'f']."""
    p = win_path.strip().strip('"').replace("/", "\\")
    p = re.sub(r"^\\\\\?\\UNC\\", r"\\\\", p, flags=re.I)
    p = re.sub(r"^\\\\\?\\", "", p)
    if p.startswith("\\\\"):
        parts = [x for x in p[2:].split("\\") if x]
        return ["UNC", *parts] if len(parts) >= 2 else None
    m = re.match(r"^([A-Za-z]):\\?(.*)$", p)
    if not m:
        return None
    rest = [x for x in m.group(2).split("\\") if x and x != "."]
    if ".." in rest:
        return None
    return [m.group(1).upper(), *rest]


def _child(folder: Path, name: str) -> Path | None:
    """Case-insensitive child lookup (exact name first)."""
    exact = folder / name
    if exact.exists():
        return exact
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.lower() == name.lower():
                    return Path(entry.path)
    except OSError:
        return None
    return None


class ArtifactIndex:
    """Lookups over one artifacts folder, with a lazily built SHA-256 index."""

    def __init__(self, root: Path, problems: Problems | None = None) -> None:
        self.root = root
        self.problems = problems or Problems()
        self._by_hash: dict[str, Path] | None = None
        if not root.is_dir():
            self.problems.add(root, "artifacts folder not found or not a directory")

    def host_dirs(self, host: str | None) -> list[Path]:
        if not host or not self.root.is_dir():
            return []
        short = host.lower().split(".", 1)[0]
        out = []
        for entry in sorted(self.root.iterdir()):
            if entry.is_dir() and entry.name.lower() in {host.lower(), short}:
                out.append(entry)
        return out

    def by_path(self, host: str | None, win_path: str | None) -> Path | None:
        """The collected copy of ``win_path`` as seen on ``host`` (UNC paths on any host)."""
        comps = _components(win_path or "")
        if not comps:
            return None
        hosts = self.host_dirs(host)
        if comps[0] == "UNC" and self.root.is_dir():
            hosts += [d for d in sorted(self.root.iterdir()) if d.is_dir() and d not in hosts]
        for hd in hosts:
            cur: Path | None = hd
            for c in comps:
                cur = _child(cur, c) if cur is not None else None
                if cur is None:
                    break
            if cur is not None and cur.is_file():
                return cur
        return None

    def by_sha256(self, digest: str | None) -> Path | None:
        if not digest:
            return None
        if self._by_hash is None:
            self._by_hash = {}
            if self.root.is_dir():
                for p in sorted(self.root.rglob("*")):
                    try:
                        if not p.is_file() or p.stat().st_size > MAX_HASH_BYTES:
                            continue
                        self._by_hash.setdefault(sha256_file(p), p)
                    except OSError as exc:
                        self.problems.add(p, f"cannot read artifact: {exc.strerror or exc}")
        return self._by_hash.get(digest.lower())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
