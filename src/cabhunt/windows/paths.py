"""Windows path resolution and classification, the way the Win32 file APIs see a path.

A path in a command line or DDF is only meaningful against the process working directory
(Sysmon ``CurrentDirectory``) and the drive mappings in force: ``payload.exe`` is remote when
the working directory is ``\\\\host\\share``, and ``X:\\tools\\a.exe`` is remote when ``X:`` is
mapped to a share. :func:`classify_path` keeps the written form, computes the resolved form,
and says what kind of location it is. It is total: any string gives a :class:`PathInfo`.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cabhunt.model import CabinetRef, PathKind, Scope, SourceRef
from cabhunt.windows.hosts import NetworkConfig, classify_host

_DRIVE_ABS = re.compile(r"^[A-Za-z]:\\")
_DRIVE_REL = re.compile(r"^[A-Za-z]:(?!\\)")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")  # 2+ chars: "C://x" is a drive path
_ENV = re.compile(r"%([A-Za-z_][A-Za-z0-9_()#$@.-]*)%")
_DEVICE_PREFIXES = ("\\\\?\\", "\\\\.\\", "\\??\\")

# Environment variables whose value is a local folder on every normal installation.
_LOCAL_ENV = {
    "temp",
    "tmp",
    "appdata",
    "localappdata",
    "userprofile",
    "public",
    "programdata",
    "allusersprofile",
    "systemroot",
    "windir",
    "systemdrive",
    "programfiles",
    "programfiles(x86)",
    "programw6432",
    "commonprogramfiles",
    "commonprogramfiles(x86)",
    "commonprogramw6432",
    "homedrive",
    "onedrive",
    "driverdata",
}
_USER_WRITABLE_ENV = {"temp", "tmp", "appdata", "localappdata", "userprofile", "public", "programdata", "allusersprofile", "onedrive"}
# Variables that expand to a share: %LOGONSERVER% is \\DC, %HOMESHARE% a UNC home folder.
_REMOTE_ENV = {"logonserver", "homeshare"}

# Component sequences (lower case) that mark a folder ordinary users can write to.
_USER_WRITABLE_SEQS: tuple[tuple[str, ...], ...] = (
    ("users",),  # any profile, incl. Users\Public (checked as "users\<name>")
    ("appdata",),
    ("downloads",),
    ("desktop",),
    ("programdata",),
    ("perflogs",),
    ("temp",),
    ("tmp",),
    ("windows", "temp"),
    ("windows", "tasks"),
    ("windows", "tracing"),
    ("spool", "drivers", "color"),
    ("system32", "tasks"),
    ("windows", "debug", "wia"),
    ("com", "dmp"),
    ("windows", "registration", "crmlog"),
    ("system32", "fxstmp"),
    ("crypto", "rsa", "machinekeys"),
    ("$recycle.bin",),
)

_NT_REDIRECTORS = {
    "mup": "smb",
    "lanmanredirector": "smb",
    "webdavredirector": "webdav",
}


@dataclass(frozen=True)
class PathInfo:
    """A path as written, as resolved, and what kind of location it names."""

    written: str
    resolved: str | None = None
    kind: PathKind = "unknown"
    host: str | None = None
    port: int | None = None
    ip: str | None = None
    ip_literal: bool = False
    scope: Scope = "unknown"
    nonstandard_port: bool = False
    share: str | None = None
    webdav: bool = False
    ssl: bool = False
    # plain UNC: when SMB (445) fails, the MUP lets the WebDAV redirector retry over HTTP (80)
    webdav_fallback: bool = False
    device: bool = False  # \\?\ or \\.\ prefix (local device path unless \\?\UNC\)
    mapped_drive: str | None = None  # "X:" when resolved through drive_map
    relative: bool = False
    ads: bool = False
    stream: str | None = None
    user_writable: bool = False
    env_vars: tuple[str, ...] = ()
    via: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def remote(self) -> bool:
        """True when reading or writing this path crosses the network (SMB, WebDAV, HTTP)."""
        return self.kind in ("smb", "webdav", "http")

    @property
    def best(self) -> str:
        """The resolved form when known, else the written one."""
        return self.resolved if self.resolved is not None else self.written

    def with_via(self, via: str | None) -> PathInfo:
        return replace(self, via=via)

    def to_source_ref(self, via: str | None = None) -> SourceRef:
        return SourceRef(
            path=self.written,
            kind=self.kind,
            host=self.host,
            port=self.port,
            ip_literal=self.ip_literal,
            scope=self.scope,
            resolved=self.resolved,
            via=via if via is not None else self.via,
        )

    def to_cabinet_ref(self) -> CabinetRef:
        """Cabinet reference; the path is the resolved one so it matches file-creation events."""
        return CabinetRef(path=self.best, ads=self.ads, user_writable=self.user_writable)

    def to_dict(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "resolved": self.resolved,
            "kind": self.kind,
            "remote": self.remote,
            "host": self.host,
            "port": self.port,
            "ip": self.ip,
            "ip_literal": self.ip_literal,
            "scope": self.scope,
            "nonstandard_port": self.nonstandard_port,
            "share": self.share,
            "webdav": self.webdav,
            "ssl": self.ssl,
            "webdav_fallback": self.webdav_fallback,
            "device": self.device,
            "mapped_drive": self.mapped_drive,
            "relative": self.relative,
            "ads": self.ads,
            "stream": self.stream,
            "user_writable": self.user_writable,
            "env_vars": list(self.env_vars),
            "via": self.via,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- normalisation


def _clean(path: str) -> str:
    p = str(path).strip()
    if len(p) >= 2 and p[0] == '"' and p[-1] == '"':
        p = p[1:-1].strip()
    return p


def _normalize_components(parts: list[str]) -> list[str]:
    """Apply Win32 ``.``/``..`` rules; ``..`` never climbs above the root."""
    out: list[str] = []
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
            continue
        out.append(part)
    if out:
        last = out[-1].rstrip(" .")
        if last:
            out[-1] = last
        else:
            out.pop()
    return out


def split_root(path: str) -> tuple[str, str]:
    """Split a backslash path into (root, rest): ``C:\\``, ``C:``, ``\\\\h\\s``, ``\\\\?\\…``, ``\\`` or ``""``."""
    if path.startswith(_DEVICE_PREFIXES):
        prefix, rest = path[:4], path[4:]
        if rest[:4].upper() == "UNC\\":
            host, _, tail = rest[4:].partition("\\")
            share, _, tail = tail.partition("\\")
            return prefix + rest[:4] + host + ("\\" + share if share else ""), tail
        if re.match(r"^[A-Za-z]:", rest):
            root = rest[:3] if rest[2:3] == "\\" else rest[:2]
            return prefix + root, rest[len(root) :]
        return prefix, rest
    if path.startswith("\\\\"):
        body = path.lstrip("\\")
        host, _, tail = body.partition("\\")
        share, _, tail = tail.partition("\\")
        return "\\\\" + host + ("\\" + share if share else ""), tail
    if _DRIVE_ABS.match(path):
        return path[:3], path[3:]
    if _DRIVE_REL.match(path):
        return path[:2], path[2:]
    if path.startswith("\\"):
        return "\\", path[1:]
    return "", path


def _join_normalized(root: str, rest: str) -> str:
    comps = _normalize_components(rest.split("\\"))
    if root.endswith("\\"):
        return root + "\\".join(comps)
    if not comps:
        return root
    return root + "\\" + "\\".join(comps) if root else "\\".join(comps)


def normalize_path(path: str) -> str:
    """Win32-normalise an absolute or relative path (separators, ``.``/``..``); ``\\\\?\\`` paths verbatim."""
    p = _clean(path)
    if p.startswith("\\\\?\\") or _URL.match(p):
        return p
    p = p.replace("/", "\\")
    root, rest = split_root(p)
    if root.startswith(_DEVICE_PREFIXES) and root in _DEVICE_PREFIXES:
        return root + rest  # other device namespaces: keep
    return _join_normalized(root, rest)


def _file_url_to_path(url: str) -> str | None:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return None  # e.g. an unbalanced "[" in the host part
    host = parts.netloc
    path = urllib.parse.unquote(parts.path)
    if host and host.lower() != "localhost":
        return "\\\\" + host + path.replace("/", "\\")
    path = path.lstrip("/")
    if re.match(r"^[A-Za-z][:|]", path):
        return path[0] + ":" + path[2:].replace("/", "\\")
    return None


def resolve_path(
    path: str, cwd: str | None = None, drive_map: Mapping[str, str] | None = None
) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(resolved path or ``None``, mapped drive letter or ``None``, notes) for a written path."""
    notes: list[str] = []
    p = _clean(path)
    if not p:
        return None, None, ("empty path",)
    m = _URL.match(p)
    if m:
        if m.group(1).lower() == "file":
            local = _file_url_to_path(p)
            if local is None:
                return None, None, ("file URL without a usable path",)
            p = local
            notes.append("file URL")
        else:
            return p, None, ()
    if p.startswith("\\\\?\\"):
        resolved = p  # no normalisation at all for \\?\ paths
    else:
        p = p.replace("/", "\\")
        root, rest = split_root(p)
        if root in _DEVICE_PREFIXES:
            resolved = root + rest
        elif root and root != "\\" and not (len(root) == 2 and root[1] == ":"):
            resolved = _join_normalized(root, rest)
        elif p.startswith("%"):
            resolved = _join_normalized("", p)
        else:
            base = normalize_path(cwd) if cwd else None
            if base is not None and not split_root(base)[0]:
                base = None  # a relative working directory cannot anchor anything
            if root == "\\":
                if base is None:
                    return None, None, ("root-relative path and no working directory",)
                resolved = _join_normalized(split_root(base)[0], rest)
            elif root:  # drive-relative "C:foo"
                drive = root.upper()
                if base is not None and base[:2].upper() == drive:
                    broot, brest = split_root(base)
                    resolved = _join_normalized(broot, brest + "\\" + rest)
                else:
                    resolved = _join_normalized(drive + "\\", rest)
                    notes.append("drive-relative path; per-drive directory unknown, root assumed")
            else:
                if base is None:
                    return None, None, ("relative path and no working directory",)
                broot, brest = split_root(base)
                resolved = _join_normalized(broot, brest + "\\" + rest)
    mapped: str | None = None
    if drive_map:
        resolved, mapped = _apply_drive_map(resolved, drive_map)
    return resolved, mapped, tuple(notes)


def _apply_drive_map(path: str, drive_map: Mapping[str, str]) -> tuple[str, str | None]:
    """``X:\\rest`` → ``\\\\host\\share\\rest`` for a mapped letter (also behind a ``\\\\?\\`` prefix,
    which still reaches the redirector through the drive's DOS device link)."""
    body = path
    for dev in _DEVICE_PREFIXES:
        if path.startswith(dev):
            body = path[len(dev) :]
            break
    if len(body) < 2 or body[1] != ":" or not body[0].isalpha():
        return path, None
    letter = body[0].upper() + ":"
    target: str | None = None
    for key, value in drive_map.items():
        k = str(key).strip().rstrip("\\").upper()
        if k in (letter, letter[0]):
            target = str(value)
            break
    if not target:
        return path, None
    target = _clean(target).replace("/", "\\").rstrip("\\")
    rest = body[2:].lstrip("\\")
    return _join_normalized(*split_root(target + "\\" + rest)), letter


# --------------------------------------------------------------------------- classification


def _ads(rest: str) -> tuple[bool, str | None]:
    last = rest.rsplit("\\", 1)[-1]
    if ":" not in last:
        return False, None
    _, _, stream = last.partition(":")
    name = stream.partition(":")[0]  # "name:$DATA" → "name"
    if not name:
        return False, None  # "file::$DATA" is the unnamed (main) stream
    return True, name


def _user_writable(components: list[str], env: tuple[str, ...]) -> bool:
    if any(e.lower() in _USER_WRITABLE_ENV for e in env):
        return True
    comps = [c.lower() for c in components]
    n = len(comps)
    for seq in _USER_WRITABLE_SEQS:
        k = len(seq)
        for i in range(n - k + 1):
            if tuple(comps[i : i + k]) == seq:
                if seq == ("users",) and i + 1 >= n:
                    continue  # C:\Users itself is not writable
                return True
    return False


def _parse_unc_host(hostpart: str) -> tuple[str, bool, int | None, bool]:
    """``host@SSL@8443`` → (host, ssl, port, has WebDAV annotation)."""
    name, *tags = hostpart.split("@")
    ssl = False
    port: int | None = None
    for tag in tags:
        if tag.upper() == "SSL":
            ssl = True
        elif tag.isdigit() and tag.isascii():
            port = int(tag)
    return name, ssl, port, bool(tags)


def classify_path(
    path: str,
    cwd: str | None = None,
    drive_map: Mapping[str, str] | None = None,
    net: NetworkConfig | None = None,
) -> PathInfo:
    """Resolve and classify ``path``; never raises (kind ``unknown`` when it cannot tell)."""
    try:
        return _classify(str(path), cwd, drive_map, net)
    except Exception as exc:  # defensive: a classification bug must not stop detection
        return PathInfo(written=str(path), notes=(f"internal error: {type(exc).__name__}",))


def _classify(
    path: str, cwd: str | None, drive_map: Mapping[str, str] | None, net: NetworkConfig | None
) -> PathInfo:
    written = path
    env = tuple(dict.fromkeys(m.group(1) for m in _ENV.finditer(path)))
    resolved, mapped, notes = resolve_path(path, cwd, drive_map)
    clean = _clean(path)
    relative = not (
        _URL.match(clean)
        or clean.replace("/", "\\").startswith("\\")
        or _DRIVE_ABS.match(clean.replace("/", "\\"))
        or clean.startswith("%")
    )
    base = PathInfo(written=written, resolved=resolved, relative=relative, env_vars=env, mapped_drive=mapped, notes=notes)
    target = resolved if resolved is not None else clean.replace("/", "\\")
    if not target:
        return base
    url = _URL.match(target)
    if url:
        return _classify_url(base, target, url.group(1).lower(), net)
    return _classify_windows(base, target, env, net)


def _classify_url(base: PathInfo, url: str, scheme: str, net: NetworkConfig | None) -> PathInfo:
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return replace(base, notes=(*base.notes, "malformed URL"))
    if scheme not in ("http", "https"):
        info = classify_host(host, net) if host else None
        return replace(
            base,
            kind="unknown",
            host=host or None,
            port=port,
            ip=info.ip if info else None,
            ip_literal=bool(info and info.ip_literal),
            scope=info.scope if info else "unknown",
            notes=(*base.notes, f"{scheme} URL"),
        )
    default = 443 if scheme == "https" else 80
    info = classify_host(host, net)
    effective = port if port is not None else default
    return replace(
        base,
        kind="http",
        host=info.host or None,
        port=effective,
        ip=info.ip,
        ip_literal=info.ip_literal,
        scope=info.scope,
        ssl=scheme == "https",
        nonstandard_port=effective not in (80, 443),
    )


def _classify_windows(base: PathInfo, target: str, env: tuple[str, ...], net: NetworkConfig | None) -> PathInfo:
    device = target.startswith(_DEVICE_PREFIXES)
    _root, rest = split_root(target)
    ads, stream = _ads(rest)
    comps = [c for c in rest.split("\\") if c]
    writable = _user_writable(comps, env)
    info = replace(base, device=device, ads=ads, stream=stream, user_writable=writable)
    unc_body: str | None = None
    if device:
        body = target[4:]
        if body[:4].upper() == "UNC\\":
            unc_body = body[4:]
        elif re.match(r"^[A-Za-z]:", body):
            return replace(info, kind="local")
        else:
            redirect = _nt_redirector(body)
            if redirect is not None:
                kind, unc_body = redirect
                if kind == "webdav":
                    return _classify_unc(info, unc_body, net, force_webdav=True)
                if "lanmanredirector" in body.lower():
                    return _classify_unc(info, unc_body, net, smb_only=True)
            elif body.lower().startswith(("volume{", "globalroot", "harddisk", "physicaldrive", "pipe\\", "device\\", "mailslot\\", "cdrom", "tape")):
                return replace(info, kind="local")
            else:
                return replace(info, notes=(*info.notes, "unrecognised device path"))
    elif target.startswith("\\\\"):
        unc_body = target.lstrip("\\")
    if unc_body is not None:
        return _classify_unc(info, unc_body, net)
    if target.startswith("%"):
        first = env[0].lower() if env and target.lower().startswith("%" + env[0].lower() + "%") else ""
        if first in _REMOTE_ENV:
            return replace(info, kind="smb", port=445, notes=(*info.notes, f"%{env[0]}% names a share"))
        if first in _LOCAL_ENV:
            return replace(info, kind="local")
        return info
    if re.match(r"^[A-Za-z]:", target):
        return replace(info, kind="local")
    return info


def _nt_redirector(body: str) -> tuple[str, str] | None:
    """``GLOBALROOT\\Device\\Mup\\host\\share`` (and friends) → (kind, ``host\\share…``)."""
    parts = body.split("\\")
    low = [p.lower() for p in parts]
    if low and low[0] == "globalroot":
        parts, low = parts[1:], low[1:]
    if len(low) >= 3 and low[0] == "device" and low[1] in _NT_REDIRECTORS:
        rest = parts[2:]
        if rest and rest[0].startswith(";"):
            rest = rest[1:]  # \Device\LanmanRedirector\;X:000...\host\share
        return _NT_REDIRECTORS[low[1]], "\\".join(rest)
    return None


def _classify_unc(
    info: PathInfo, body: str, net: NetworkConfig | None, *, force_webdav: bool = False, smb_only: bool = False
) -> PathInfo:
    hostpart, _, tail = body.partition("\\")
    share = tail.partition("\\")[0] or None
    if not hostpart:
        return replace(info, notes=(*info.notes, "UNC path without a host"))
    if hostpart in (".", "?"):
        return replace(info, notes=(*info.notes, "device path spelled with forward slashes"))
    name, ssl, port, annotated = _parse_unc_host(hostpart)
    webdav = force_webdav or annotated or (share is not None and share.lower() == "davwwwroot")
    hinfo = classify_host(name, net)
    if webdav:
        effective = port if port is not None else (443 if ssl else 80)
        return replace(
            info,
            kind="webdav",
            host=hinfo.host or None,
            port=effective,
            ip=hinfo.ip,
            ip_literal=hinfo.ip_literal,
            scope=hinfo.scope,
            share=share,
            webdav=True,
            ssl=ssl,
            nonstandard_port=effective not in (80, 443),
        )
    return replace(
        info,
        kind="smb",
        host=hinfo.host or None,
        port=445,
        ip=hinfo.ip,
        ip_literal=hinfo.ip_literal,
        scope=hinfo.scope,
        share=share,
        webdav_fallback=not smb_only,
    )


def basename(path: str) -> str:
    """Last component of a Windows path (either separator)."""
    return re.split(r"[\\/]", str(path))[-1]


def join(directory: str, name: str) -> str:
    """Join like makecab does when it prefixes SourceDir / DiskDirectory: absolute ``name`` wins."""
    if not directory:
        return name
    n = name.replace("/", "\\")
    if n.startswith("\\") or re.match(r"^[A-Za-z]:", n) or _URL.match(name):
        return name
    if directory.endswith(("\\", "/")):
        return directory + name
    if _URL.match(directory):
        return directory.rstrip("/") + "/" + name.replace("\\", "/")
    return directory + "\\" + name
