"""PE facts of an executable member via ``pefile``: machine, build time, imphash, sections, signed.

"Signed" here means the security directory is present (an Authenticode blob is attached); it
is not a verification. ``pefile`` is imported on first use only (start-up time).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

SECURITY_DIR = 4
COM_DESCRIPTOR_DIR = 14
MAX_SECTIONS = 96


def pe_facts(data: bytes, truncated: bool = False) -> dict[str, Any]:
    """A JSON-ready summary; on a malformed PE, what could be read plus ``error``."""
    try:
        import pefile
    except ImportError:  # pragma: no cover - pefile is a declared dependency
        return {"error": "pefile is not installed"}
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except Exception as exc:  # pefile raises PEFormatError and assorted others on hostile input
        return {"error": f"not a parseable PE: {exc}"}
    facts: dict[str, Any] = {"truncated": truncated}
    try:
        fh = pe.FILE_HEADER
        oh = pe.OPTIONAL_HEADER
        facts["machine"] = pefile.MACHINE_TYPE.get(fh.Machine, hex(fh.Machine))
        stamp = fh.TimeDateStamp
        facts["timestamp"] = _dt.datetime.fromtimestamp(stamp, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        facts["timestamp_raw"] = stamp
        facts["dll"] = bool(fh.Characteristics & 0x2000)
        facts["subsystem"] = pefile.SUBSYSTEM_TYPE.get(oh.Subsystem, oh.Subsystem)
        dirs = oh.DATA_DIRECTORY
        sec = dirs[SECURITY_DIR] if len(dirs) > SECURITY_DIR else None
        facts["signed"] = bool(sec and sec.VirtualAddress and sec.Size)
        com = dirs[COM_DESCRIPTOR_DIR] if len(dirs) > COM_DESCRIPTOR_DIR else None
        facts["dotnet"] = bool(com and com.VirtualAddress and com.Size)
        facts["sections"] = [
            {
                "name": s.Name.rstrip(b"\0").decode("latin-1"),
                "virtual_size": s.Misc_VirtualSize,
                "raw_size": s.SizeOfRawData,
                "entropy": round(s.get_entropy(), 4),
                "executable": bool(s.Characteristics & 0x20000000),
                "writable": bool(s.Characteristics & 0x80000000),
            }
            for s in pe.sections[:MAX_SECTIONS]
        ]
        try:
            pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]])
            facts["imphash"] = pe.get_imphash() or None
            facts["imports"] = sum(len(e.imports) for e in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []))
        except Exception as exc:
            facts["imphash"] = None
            facts["imports_error"] = str(exc)
    except Exception as exc:
        facts["error"] = f"PE header incomplete: {exc}"
    finally:
        pe.close()
    return facts
