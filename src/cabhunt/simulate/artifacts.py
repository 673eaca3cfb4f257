"""Files a collector would have gathered: DDFs and real cabinets, laid out as docs/interfaces.md says.

``DIR/artifacts/<host>/<drive letter>/<rest of the Windows path>``; an alternate data stream
keeps its ``file:stream`` name. Cabinets are built with cabarchive (MSZIP) from member content
made here: a PE-looking payload (``MZ`` header, high-entropy body), PowerShell, a config
holding a credential, CBS log text, driver files.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime
from pathlib import Path

DOS_STUB = b"This program cannot be run in DOS mode.\r\r\n$"


def artifact_path(root: Path, host: str, windows_path: str) -> Path:
    """Where a Windows path of ``host`` lives under the artifacts folder."""
    p = windows_path.replace("/", "\\")
    if p.startswith("\\\\"):
        parts = [x for x in p[2:].split("\\") if x]
        return root.joinpath(host, "UNC", *parts)
    drive, _, rest = p.partition(":\\")
    return root.joinpath(host, drive.upper(), *[x for x in rest.split("\\") if x])


def fake_pe(rng: random.Random, size: int = 24_576, packed: bool = True) -> bytes:
    """An MZ/PE-shaped blob: DOS header and stub, PE signature, then the body.

    ``packed`` bodies are random bytes (entropy near 8, like a packed or encrypted payload);
    otherwise the body repeats code-like byte patterns (entropy around 4-5, like a normal build).
    """
    header = bytearray(64)
    header[0:2] = b"MZ"
    header[0x3C:0x40] = (0x80).to_bytes(4, "little")
    stub = DOS_STUB.ljust(64, b"\0")
    pe = b"PE\0\0" + (0x8664).to_bytes(2, "little") + (3).to_bytes(2, "little") + b"\0" * 16
    n = max(0, size - 64 - 64 - len(pe))
    if packed:
        body = rng.randbytes(n)
    else:
        ops = [b"\x48\x89\x5c\x24\x08", b"\x48\x83\xec\x20", b"\xe8" + rng.randbytes(2) + b"\x00\x00",
               b"\x33\xc0", b"\xc3", b"\xcc" * 4, b"\x00" * 8, b"\x8b\x45\xfc", b"\x74\x0a"]
        chunks: list[bytes] = []
        total = 0
        while total < n:
            op = ops[rng.randrange(len(ops))]
            chunks.append(op)
            total += len(op)
        body = b"".join(chunks)[:n]
    return bytes(header) + stub + pe + body


def ps1(host: str) -> bytes:
    return (
        "$ErrorActionPreference = 'SilentlyContinue'\r\n"
        f"$d = Join-Path $env:APPDATA 'Microsoft\\Crypto\\{host.lower()}'\r\n"
        "New-Item -ItemType Directory -Force -Path $d | Out-Null\r\n"
        "$b = [IO.File]::ReadAllBytes((Join-Path $PSScriptRoot 'update.dat'))\r\n"
        "for ($i = 0; $i -lt $b.Length; $i++) { $b[$i] = $b[$i] -bxor 0x5A }\r\n"
        "[IO.File]::WriteAllBytes((Join-Path $d 'svc.dll'), $b)\r\n"
        "Start-Process rundll32.exe -ArgumentList \"$d\\svc.dll,DllRegisterServer\" -WindowStyle Hidden\r\n"
    ).encode()


def config_ini() -> bytes:
    return (
        b"[connection]\r\nServer=sync.cdn-update.net\r\nPort=443\r\nUser=svc_sync\r\nPassword=Winter2026!\r\n"
        b"Interval=300\r\n"
    )


def cbs_log(stamp: datetime, rng: random.Random) -> bytes:
    lines = []
    for i in range(200):
        t = stamp.strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{t}, Info                  CBS    Session: 31{rng.randrange(10**6):06d}_{i} initialized by "
                     "client WindowsUpdateAgent, external staging directory: (null)")
    return ("\r\n".join(lines) + "\r\n").encode()


def member_content(name: str, rng: random.Random, host: str, benign: bool = False) -> bytes:
    """Content for a member file chosen by its extension (benign jobs: unpacked code, no secrets)."""
    low = name.lower()
    if low.endswith((".exe", ".dll", ".sys", ".dat", ".msi")):
        return fake_pe(rng, rng.randrange(16_384, 49_152), packed=not benign)
    if low.endswith(".ps1"):
        return ps1(host)
    if low.endswith(".hta"):
        return (b"<html><head><HTA:APPLICATION WINDOWSTATE=\"minimize\"/><script language=\"VBScript\">\r\n"
                b"CreateObject(\"WScript.Shell\").Run \"powershell -w hidden -f loader.ps1\", 0\r\n"
                b"self.close\r\n</script></head></html>\r\n")
    if low.endswith((".ini", ".config", ".cfg", ".txt")):
        if benign:
            return b"Corp Installer\r\n\r\nRun setup.exe and follow the prompts.\r\nSupport: it-help@corp.example.com\r\n"
        return config_ini()
    if low.endswith(".inf"):
        return b"[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=Printer\r\nProvider=%Corp%\r\nDriverVer=02/20/2026,1.4.2.0\r\n"
    if low.endswith(".cat"):
        return b"0\x82" + rng.randbytes(2046)
    if low.endswith(".log"):
        return cbs_log(datetime(2026, 3, 1, tzinfo=UTC), rng)
    return rng.randbytes(4096)


def build_cab(members: list[tuple[str, bytes]], when: datetime) -> bytes:
    """A real MSZIP cabinet holding ``members`` (cabarchive)."""
    import cabarchive

    arc = cabarchive.CabArchive()
    for name, data in members:
        arc[name] = cabarchive.CabFile(data, mtime=when.replace(tzinfo=None))
    return bytes(arc.save(compress=True))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtifactStore:
    """Writes artifacts and remembers what it wrote (for the manifest)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_path: dict[Path, tuple[dict[str, object], list[dict[str, object]]]] = {}

    @property
    def written(self) -> list[dict[str, object]]:
        return [rec for rec, _ in self._by_path.values()]

    def put(self, host: str, windows_path: str, data: bytes, kind: str) -> dict[str, object]:
        """Write an artifact; a later job writing the same path replaces it, as on the real disk."""
        path = artifact_path(self.root, host.upper(), windows_path)
        old = self._by_path.get(path)
        if old is not None:
            for ref in old[1]:
                ref["artifact"] = None  # the collector only saw the later file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        rec: dict[str, object] = {"host": host, "windows_path": windows_path, "kind": kind,
                                  "path": path.relative_to(self.root.parent).as_posix(), "sha256": sha256(data),
                                  "size": len(data)}
        self._by_path[path] = (rec, [])
        return rec

    def refer(self, rec: dict[str, object], ref: dict[str, object]) -> None:
        """``ref["artifact"]`` names ``rec``'s file until another job overwrites it."""
        self._by_path[self.root.parent / str(rec["path"])][1].append(ref)
