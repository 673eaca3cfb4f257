"""What a member really is: content type from magic bytes, scripts, extension mismatch, entropy.

The formats that matter for ingress tool transfer (PE, ELF, cabinets, zip, 7z, rar, gzip, LNK,
OLE/MSI) are recognised by their own signatures first; anything else is asked of ``puremagic``.
Extensions are only claims, so both the claim and the content are reported and compared.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

PE_EXT = frozenset(["exe", "dll", "sys", "scr", "cpl", "ocx", "drv", "efi", "mui", "ax", "com", "pif", "acm", "tsp", "ime"])
SCRIPT_EXT = {
    "ps1": "powershell", "psm1": "powershell", "psd1": "powershell",
    "vbs": "vbscript", "vbe": "vbscript", "js": "jscript", "jse": "jscript",
    "hta": "hta", "bat": "batch", "cmd": "batch", "lnk": "shortcut", "wsf": "wsf", "wsh": "wsh",
    "sct": "scriptlet", "sh": "shell", "py": "python",
}
TEXT_EXT = frozenset(
    ["txt", "log", "ini", "inf", "cfg", "conf", "config", "xml", "json", "csv", "md", "htm", "html", "yml", "yaml", "properties", "env", "reg", "sql", "ps1", "psm1", "psd1", "vbs", "js", "bat", "cmd", "wsf", "hta", "sct", "sh", "py", "c", "h", "cpp", "rtf"]
)
ARCHIVE_TYPES = frozenset({"cab", "zip", "7z", "rar", "gzip", "bzip2", "xz", "tar"})
COMPRESSED_TYPES = ARCHIVE_TYPES | {"jpeg", "png", "gif", "pdf", "mp3", "mp4", "ole"}
# Content type -> extensions that legitimately carry it.
ALLOWED_EXT: dict[str, frozenset[str]] = {
    "pe": PE_EXT,
    "cab": frozenset({"cab", "msu", "ca_", "ppz", "snp", "xsn", "wsp", "msp"}),
    "zip": frozenset(["zip", "jar", "apk", "docx", "xlsx", "pptx", "docm", "xlsm", "pptm", "odt", "ods", "odp", "epub", "nupkg", "vsix", "appx", "msix", "whl", "xpi", "crx"]),
    "7z": frozenset({"7z"}),
    "rar": frozenset({"rar"}),
    "gzip": frozenset({"gz", "tgz"}),
    "pdf": frozenset({"pdf"}),
    "png": frozenset({"png"}),
    "jpeg": frozenset({"jpg", "jpeg", "jpe", "jfif"}),
    "gif": frozenset({"gif"}),
    "ole": frozenset(["msi", "msp", "doc", "xls", "ppt", "msg", "dot", "xlt", "pot", "mst"]),
    "lnk": frozenset({"lnk"}),
    "elf": frozenset({"so", "elf", "bin", "o"}),
}
KNOWN_EXT = frozenset().union(*ALLOWED_EXT.values()) | TEXT_EXT | {"bmp", "ico"}

MIN_CONFIDENCE = 0.3  # puremagic scores about 0.1 per matched byte
LNK_HEADER = bytes.fromhex("4c0000000114020000000000c000000000000046")
SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"MSCF", 0, "cab"),
    (b"PK\x03\x04", 0, "zip"),
    (b"PK\x05\x06", 0, "zip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7z"),
    (b"Rar!\x1a\x07", 0, "rar"),
    (b"\x1f\x8b", 0, "gzip"),
    (b"BZh", 0, "bzip2"),
    (b"\xfd7zXZ\x00", 0, "xz"),
    (b"\x7fELF", 0, "elf"),
    (b"%PDF-", 0, "pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"GIF8", 0, "gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "ole"),
    (LNK_HEADER, 0, "lnk"),
    (b"ustar", 257, "tar"),
]

SCRIPT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("powershell", re.compile(
        r"(?im)(invoke-(expression|webrequest|restmethod)|\biex\b\s*[(\$]|new-object\s+(system\.)?net\.webclient|"
        r"downloadstring\(|set-executionpolicy|-encodedcommand|\[convert\]::frombase64string|\$env:\w+|"
        r"^\s*param\s*\(|start-process\b|add-type\b)")),
    ("hta", re.compile(r"(?i)<hta:application")),
    ("wsf", re.compile(r"(?is)<job\b.*<script\b")),
    ("vbscript", re.compile(
        r"(?im)(createobject\s*\(|wscript\.(shell|createobject|echo|quit)|^\s*on\s+error\s+resume\s+next|"
        r"^\s*dim\s+\w+|^\s*(private\s+|public\s+)?sub\s+\w+|execute(global)?\s*\()")),
    ("jscript", re.compile(r"(?i)(new\s+activexobject\s*\(|wscript\.createobject\s*\(|\beval\s*\(\s*\w+)")),
    ("batch", re.compile(r"(?im)(^\s*@?echo\s+off\b|%~dp0|^\s*set\s+\w+=|^\s*goto\s+:?\w+\s*$|^\s*call\s+:\w+|"
                         r"^\s*if\s+(not\s+)?exist\s|\bcmd(\.exe)?\s+/[ck]\s)")),
    ("shell", re.compile(r"^#!\s*/(usr/)?bin/(env\s+)?(ba|z|da)?sh\b")),
    ("python", re.compile(r"^#!\s*/(usr/)?bin/(env\s+)?python")),
]


@dataclass
class ContentType:
    type: str  # short label: pe, cab, zip, text, ...
    mime: str | None
    description: str | None
    source: str  # "signature" | "puremagic" | "heuristic"


def extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[1].lower() if "." in base.strip(".") else ""


def is_pe(head: bytes) -> bool:
    if head[:2] != b"MZ" or len(head) < 0x40:
        return False
    lfanew = int.from_bytes(head[0x3C:0x40], "little")
    return lfanew + 4 <= len(head) and head[lfanew : lfanew + 4] == b"PE\0\0"


def text_of(head: bytes) -> str | None:
    """The head as text when it looks like text (UTF-8/UTF-16/Latin-1 without binary controls)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[2:].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be", "replace")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if not head or b"\0" in head:
        return None
    sample = head[:8192]
    controls = sum(1 for b in sample if b < 0x20 and b not in (9, 10, 12, 13, 27))
    if controls > len(sample) // 100:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # cut mid-character at the head boundary
            return head[: exc.start].decode("utf-8", "replace")
        return head.decode("latin-1")


def sniff(head: bytes, name: str = "") -> ContentType:
    if not head:
        return ContentType("empty", None, "empty file", "heuristic")
    if is_pe(head):
        return ContentType("pe", "application/vnd.microsoft.portable-executable", "PE executable", "signature")
    if head[:2] == b"MZ":
        return ContentType("mz", "application/x-dosexec", "MZ executable (no PE header in view)", "signature")
    for sig, off, label in SIGNATURES:
        if head[off : off + len(sig)] == sig:
            return ContentType(label, None, None, "signature")
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        return ContentType("macho", "application/x-mach-binary", "Mach-O executable", "signature")
    if text_of(head) is not None:
        return ContentType("text", "text/plain", "text", "heuristic")
    try:
        import puremagic

        matches = puremagic.magic_string(head[:65536], name or None)
    except Exception:
        matches = []
    matches = [m for m in matches if m.confidence >= MIN_CONFIDENCE]  # 1-2 byte magics match random data
    if matches:
        best = matches[0]
        return ContentType(best.extension.lstrip(".").lower() or "data", best.mime_type or None, best.name, "puremagic")
    return ContentType("data", "application/octet-stream", "unrecognised binary data", "heuristic")


def script_kind(name: str, head: bytes, ctype: ContentType) -> tuple[str | None, str | None]:
    """(kind, how) for scripts and shortcuts: by extension and by sniffing the text."""
    ext = extension(name)
    if ctype.type == "lnk":
        return "shortcut", "content"
    if ext in SCRIPT_EXT and ctype.type in ("text", "empty"):
        return SCRIPT_EXT[ext], "extension"
    text = text_of(head) if ctype.type == "text" else None
    if text:
        for kind, pattern in SCRIPT_PATTERNS:
            if pattern.search(text[:65536]):
                return kind, "content"
    if ext in SCRIPT_EXT and ext != "lnk":
        return SCRIPT_EXT[ext], "extension"
    return None, None


def extension_mismatch(name: str, ctype: ContentType) -> str | None:
    """Why the extension and the content disagree, or ``None``."""
    ext = extension(name)
    kind = ctype.type
    if kind in ("empty", "data"):
        return None
    if kind in ("pe", "mz"):
        return None if ext in PE_EXT else f"executable content behind .{ext or '(none)'}"
    if ext not in KNOWN_EXT:
        return None
    if kind == "text":
        return None if ext in TEXT_EXT else f"text content behind .{ext}"
    allowed = ALLOWED_EXT.get(kind)
    if allowed is None:
        return None
    if ext in allowed:
        return None
    return f"{kind} content behind .{ext}"


class EntropyCounter:
    """Byte histogram accumulated chunk by chunk (numpy bincount), for Shannon entropy."""

    def __init__(self) -> None:
        self.counts = np.zeros(256, dtype=np.int64)
        self.total = 0

    def update(self, data: bytes) -> None:
        if data:
            self.counts += np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
            self.total += len(data)

    def entropy(self) -> float:
        if not self.total:
            return 0.0
        p = self.counts[self.counts > 0] / self.total
        return float(-(p * np.log2(p)).sum())


def entropy(data: bytes) -> float:
    counter = EntropyCounter()
    counter.update(data)
    return counter.entropy()


def round_entropy(value: float) -> float:
    return math.floor(value * 10000 + 0.5) / 10000
