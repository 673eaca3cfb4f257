"""Member names: how to show them and how to turn them into safe relative paths.

CAB names are bytes: UTF-8 only when attribute 0x80 is set, otherwise an OEM/ANSI codepage we do
not know (shown as Latin-1, which is lossless). Hostile names use drive letters, UNC prefixes,
``..``, device names, control characters, invalid UTF-8 and overlong components; every change
made to a name is recorded so the analyst sees original and written name side by side.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from cabhunt.cab.c_cab import ATTR_NAME_IS_UTF, CFFile

DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"COM{i}" for i in range(10)]
    + [f"LPT{i}" for i in range(10)]
    + ["COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"]
)
WINDOWS_BAD = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
MAX_COMPONENT = 200  # bytes of UTF-8, leaves room for a ~N suffix under the usual 255 limit
MAX_DEPTH = 32
MAX_PATH = 1024


def decode_name(raw: bytes, attribs: int) -> tuple[str, str | None]:
    """The name as text and, if the bytes were not what the flag claims, why."""
    if attribs & ATTR_NAME_IS_UTF:
        try:
            return raw.decode("utf-8"), None
        except UnicodeDecodeError:
            return raw.decode("utf-8", "replace"), "name flagged UTF-8 is not valid UTF-8"
    return raw.decode("latin-1"), None


def display_name(f: CFFile) -> str:
    return decode_name(f.name_raw, f.attribs)[0]


@dataclass
class SafeName:
    original: str
    written: str
    notes: list[str] = field(default_factory=list)


def _fit_component(part: str, notes: list[str]) -> str:
    encoded = part.encode("utf-8")
    if len(encoded) <= MAX_COMPONENT:
        return part
    digest = hashlib.sha256(encoded).hexdigest()[:8]
    _stem, dot, ext = part.rpartition(".")
    ext = ext if dot and len(ext) <= 16 else ""
    keep = MAX_COMPONENT - len(digest) - len(ext) - 3
    head = encoded[:keep].decode("utf-8", "ignore")
    notes.append(f"component of {len(encoded)} bytes shortened")
    return f"{head}~{digest}" + (f".{ext}" if ext else "")


def _clean_component(part: str, notes: list[str]) -> str | None:
    if part in ("", "."):
        return None
    if part == "..":
        notes.append("parent-directory component removed")
        return None
    cleaned = WINDOWS_BAD.sub("_", part)
    if cleaned != part:
        notes.append("control or reserved characters replaced")
    stripped = cleaned.rstrip(" .")
    if stripped != cleaned:
        notes.append("trailing dots/spaces removed")
        cleaned = stripped or "_"
    if cleaned.split(".", 1)[0].rstrip(" ").upper() in DEVICE_NAMES:
        notes.append(f"Windows device name {cleaned!r} prefixed")
        cleaned = "_" + cleaned
    return _fit_component(cleaned, notes)


def make_safe(raw: bytes, attribs: int) -> SafeName:
    """A relative path that stays inside the output directory on Windows and POSIX alike."""
    text, problem = decode_name(raw, attribs)
    notes: list[str] = [problem] if problem else []
    if "\ufffd" in text and not problem:
        notes.append("undecodable characters replaced")
    work = text.replace("\x00", "")
    if work != text:
        notes.append("NUL characters removed")
    work = work.replace("/", "\\")
    if re.match(r"^\\\\[?.]\\", work):
        notes.append("device/long-path prefix removed")
        work = work[4:]
        if work.upper().startswith("UNC\\"):
            work = work[4:]
    if work.startswith("\\\\"):
        notes.append("UNC prefix removed")
    elif work.startswith("\\"):
        notes.append("absolute path made relative")
    if re.match(r"^[A-Za-z]:", work):
        notes.append("drive letter removed")
        work = work[2:]
    parts = [p for p in (_clean_component(p, notes) for p in work.split("\\")) if p]
    if len(parts) > MAX_DEPTH:
        notes.append(f"{len(parts)} directory levels cut to {MAX_DEPTH}")
        parts = parts[-MAX_DEPTH:]
    written = "/".join(parts)
    while len(written.encode("utf-8")) > MAX_PATH and len(parts) > 1:
        parts = parts[1:]
        written = "/".join(parts)
        if "path too long, leading directories dropped" not in notes:
            notes.append("path too long, leading directories dropped")
    if not written:
        notes.append("empty name replaced")
        written = "unnamed"
    return SafeName(text, written, list(dict.fromkeys(notes)))


class NameAllocator:
    """Hands out unique paths (case-insensitively, as Windows compares them)."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.dirs: set[str] = set()

    def _free(self, path: str) -> bool:
        key = path.casefold()
        if key in self.files or key in self.dirs:
            return False
        parts = key.split("/")
        return all("/".join(parts[:i]) not in self.files for i in range(1, len(parts)))

    def allocate(self, safe: SafeName) -> SafeName:
        path = safe.written
        if not self._free(path):
            parts = path.split("/")
            # a parent that is already a file gets a distinct directory name
            for i in range(1, len(parts)):
                if "/".join(parts[:i]).casefold() in self.files:
                    parts[i - 1] += "~dir"
            candidate = "/".join(parts)
            stem, dot, ext = parts[-1].rpartition(".")
            if not dot or not stem:
                stem, ext = parts[-1], ""
            n = 0
            while not self._free(candidate):
                n += 1
                parts[-1] = f"{stem}~{n}" + (f".{ext}" if ext else "")
                candidate = "/".join(parts)
            safe.notes.append(f"name collides with an earlier member, written as {candidate}")
            path = candidate
            safe.written = path
        key = path.casefold()
        self.files.add(key)
        parts = key.split("/")
        for i in range(1, len(parts)):
            self.dirs.add("/".join(parts[:i]))
        return safe
