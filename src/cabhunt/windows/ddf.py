"""DDF (Diamond Directive File) interpreter: which files a makecab ``/F`` job reads and writes.

LOLBAS lists ``makecab /F x.ddf`` as a way to bypass command-line detection: the remote sources
live in the DDF (``.Set SourceDir=\\\\host\\share`` or a UNC copy line), not on the command line.
This module follows the MakeCAB directive grammar closely enough to answer "what does this job
read, and into which cabinet does each file go" — without touching the file system. Several
``/F`` files are one stream (variables carry over), ``/D`` values are applied first.

Never raises on any input: encoding problems, junk bytes, over-long lines, undefined variables
and grammar errors are :class:`DdfIssue` records, and processing continues.

Inferred (not documented) behaviour, chosen and kept consistent:
* ``;`` comments are removed before ``%var%`` substitution; substitution happens before tokenising.
* a cabinet's name and directory are fixed when its first file is added; ``.New Cabinet`` /
  ``.New Disk`` on an empty cabinet do not skip a number (no empty cabinets are written).
* size-based splitting (MaxDiskSize, MaxCabinetSize) needs file sizes we do not have: the result
  says ``may_span`` and count-based thresholds are applied exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cabhunt.windows.paths import basename, join, resolve_path

MAX_LINE = 256  # makecab rejects longer lines
MAX_LINE_PROCESSED = 4096  # longer lines are cut (and reported) before parsing
MAX_LINES = 200_000  # lines processed over the whole stream
MAX_BYTES = 16 * 1024 * 1024  # bytes decoded per file
MAX_ISSUES = 1000

STANDARD_DEFAULTS: dict[str, str] = {
    "Cabinet": "ON",
    "CabinetFileCountThreshold": "0",
    "CabinetNameTemplate": "*.cab",
    "ChecksumWidth": "8",
    "ClusterSize": "512",
    "Compress": "ON",
    "CompressedFileExtensionChar": "_",
    "CompressionLevel": "2",
    "CompressionMemory": "21",
    "CompressionType": "MSZIP",
    "DestinationDir": "",
    "DiskDirectoryTemplate": "disk*",
    "DiskLabelTemplate": "Disk *",
    "DoNotCopyFiles": "OFF",
    "FolderFileCountThreshold": "0",
    "FolderSizeThreshold": "0",
    "GenerateInf": "ON",
    "InfCommentString": ";",
    "InfDateFormat": "mm/dd/yy",
    "InfFileName": "setup.inf",
    "MaxCabinetSize": "0",
    "MaxDiskFileCount": "0",
    "MaxDiskSize": "1.44M",
    "MaxErrors": "20",
    "ReservePerCabinetSize": "0",
    "ReservePerDataBlockSize": "0",
    "ReservePerFolderSize": "0",
    "RptFileName": "setup.rpt",
    "SourceDir": "",
    "UniqueFiles": "ON",
}
_STANDARD_LOWER = {k.lower(): k for k in STANDARD_DEFAULTS}
_INDEXED = re.compile(
    r"^(cabinetname|diskdirectory|disklabel|maxdisksize|maxdiskfilecount|infdiskheader|infdisklineformat"
    r"|infcabinetheader|infcabinetlineformat|inffileheader|inffilelineformat|inffooter|infheader)\d+$"
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Batch syntax (not English prose) after a ";": the cmd.exe half of a .bat/DDF polyglot.
_BATCH = re.compile(
    r"^\s*@\s*(echo|goto|exit|call|set|setlocal|rem|if|for|cmd|start|powershell)\b"
    r"|^\s*@?\s*(makecab|diantz)(\.exe)?\s+.*[/-][fF]\b"
    r"|%~[a-z]*[0-9]|%[0-9]\b"
    r"|^\s*goto\s+:?\w+\s*$|^\s*:[A-Za-z_]\w*\s*$"
    r"|^\s*exit\s+/b\b"
    r"|^\s*set\s+(/[ap]\s+)?\"?\w+="
    r"|^\s*(setlocal|endlocal)\b"
    r"|^\s*(cmd|powershell|pwsh)(\.exe)?\s+[/-]"
    r"|^\s*(copy|move|del|xcopy|expand|extrac32|certutil|bitsadmin|rundll32|regsvr32|mshta|wscript|cscript|start)(\.exe)?\s+\S*[\\/%\"]"
    r"|&\s*(exit|goto|makecab|diantz|del|start|call)\b",
    re.IGNORECASE,
)


def is_standard_variable(name: str) -> bool:
    """Standard MakeCAB variables (also indexed ``CabinetName1`` and ``InfXxx`` parameter defaults)."""
    low = name.lower()
    return low in _STANDARD_LOWER or bool(_INDEXED.match(low)) or low.startswith("inf")


@dataclass(frozen=True)
class DdfIssue:
    kind: str
    file: str
    line: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.file, "line": self.line, "message": self.message}


@dataclass
class DdfCabinet:
    """A cabinet the job writes: number, disk, name, output directory."""

    number: int
    disk: int
    name: str
    directory: str
    path: str  # directory\name as makecab forms it
    resolved: str | None  # against the working directory
    files: int = 0
    file: str = ""  # DDF and line of its first file
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "disk": self.disk,
            "name": self.name,
            "directory": self.directory,
            "path": self.path,
            "resolved": self.resolved,
            "files": self.files,
            "file": self.file,
            "line": self.line,
        }


@dataclass
class DdfFile:
    """One file-copy line: a file the job reads, and where it lands."""

    source: str  # as written (after %var% substitution)
    source_path: str  # SourceDir applied
    resolved: str | None  # against the working directory
    name: str  # name inside the cabinet (DestinationDir prefix)
    cabinet: int | None  # cabinet number; None with Cabinet=OFF
    cabinet_name: str | None
    cabinet_dir: str | None
    cabinet_path: str | None
    cabinet_resolved: str | None
    folder: int
    disk: int
    file: str
    line: int
    source_dir: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_path": self.source_path,
            "resolved": self.resolved,
            "name": self.name,
            "cabinet": self.cabinet,
            "cabinet_name": self.cabinet_name,
            "cabinet_dir": self.cabinet_dir,
            "cabinet_path": self.cabinet_path,
            "cabinet_resolved": self.cabinet_resolved,
            "folder": self.folder,
            "disk": self.disk,
            "file": self.file,
            "line": self.line,
            "source_dir": self.source_dir,
            "params": dict(self.params),
        }


@dataclass
class DdfReference:
    """A file-reference line (relational INF mode): names a laid-out file, reads nothing."""

    name: str
    file: str
    line: int
    params: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "line": self.line, "params": dict(self.params)}


@dataclass
class DdfResult:
    files: list[DdfFile] = field(default_factory=list)
    references: list[DdfReference] = field(default_factory=list)
    cabinets: list[DdfCabinet] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    issues: list[DdfIssue] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    explicit: bool = False
    polyglot: bool = False
    may_span: bool = False
    lines: int = 0
    truncated: bool = False
    inf_lines: int = 0
    source_dirs: list[str] = field(default_factory=list)
    inf_file: str | None = None  # where setup.inf goes (resolved when possible); None for "nul"
    rpt_file: str | None = None  # where setup.rpt goes; None for "nul"

    def variable(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.variables.items():
            if k.lower() == low:
                return v
        return None

    def issue_kinds(self) -> list[str]:
        return sorted({i.kind for i in self.issues})

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "files": [f.to_dict() for f in self.files],
            "references": [r.to_dict() for r in self.references],
            "cabinets": [c.to_dict() for c in self.cabinets],
            "variables": dict(self.variables),
            "source_dirs": list(self.source_dirs),
            "explicit": self.explicit,
            "polyglot": self.polyglot,
            "may_span": self.may_span,
            "lines": self.lines,
            "truncated": self.truncated,
            "inf_lines": self.inf_lines,
            "inf_file": self.inf_file,
            "rpt_file": self.rpt_file,
            "issues": [i.to_dict() for i in self.issues],
        }


# --------------------------------------------------------------------------- lexing


def decode_ddf(content: bytes | str) -> tuple[str, list[tuple[str, str]]]:
    """Text of a DDF plus (kind, message) notes about its encoding; never raises."""
    notes: list[tuple[str, str]] = []
    if isinstance(content, str):
        text = content
        if text.startswith("\ufeff"):
            notes.append(("bom", "byte-order mark at start (makecab reads it as part of the first line)"))
            text = text[1:]
    else:
        data = bytes(content)
        if len(data) > MAX_BYTES:
            notes.append(("huge_file", f"{len(data)} bytes; only the first {MAX_BYTES} are read"))
            data = data[:MAX_BYTES]
        if data.startswith(b"\xef\xbb\xbf"):
            notes.append(("bom", "UTF-8 byte-order mark (makecab reads it as part of the first line)"))
            text = data[3:].decode("utf-8", errors="replace")
        elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
            notes.append(("bom", "UTF-16 text: makecab only reads ANSI, decoded here for inspection"))
            text = data.decode("utf-16", errors="replace")
        else:
            try:
                text = data.decode("ascii")
            except UnicodeDecodeError:
                try:
                    text = data.decode("utf-8")
                    notes.append(("non_ascii", "non-ASCII text (valid UTF-8); makecab reads bytes as ANSI"))
                except UnicodeDecodeError:
                    text = data.decode("latin-1")
                    notes.append(("non_ascii", "non-ASCII bytes, decoded as Latin-1"))
    if isinstance(content, str) and any(ord(c) > 127 for c in text):
        notes.append(("non_ascii", "non-ASCII characters"))
    return text, notes


def strip_comment(line: str) -> tuple[str, str | None]:
    """Split at the first ``;`` outside double quotes: (code, comment or None)."""
    in_quotes = False
    for i, c in enumerate(line):
        if c == '"':
            in_quotes = not in_quotes
        elif c == ";" and not in_quotes:
            return line[:i], line[i + 1 :]
    return line, None


def tokenize(text: str) -> tuple[list[str], bool]:
    """Blank-separated tokens; ``"…"`` groups, ``""`` inside quotes is ``"``. Returns (tokens, unterminated)."""
    tokens, _, unterminated = tokenize_quoted(text)
    return tokens, unterminated


def tokenize_quoted(text: str) -> tuple[list[str], list[bool], bool]:
    """Like :func:`tokenize`, also saying which tokens contained quotes (never a switch then)."""
    tokens: list[str] = []
    quoted: list[bool] = []
    cur: list[str] = []
    have = False
    in_quotes = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if in_quotes:
            if c == '"':
                if i + 1 < n and text[i + 1] == '"':
                    cur.append('"')
                    i += 2
                    continue
                in_quotes = False
            else:
                cur.append(c)
        elif c == '"':
            in_quotes = True
            have = True
        elif c in " \t":
            if have or cur:
                tokens.append("".join(cur))
                quoted.append(have)
                cur = []
                have = False
        else:
            cur.append(c)
        i += 1
    if have or cur:
        tokens.append("".join(cur))
        quoted.append(have)
    return tokens, quoted, in_quotes


# --------------------------------------------------------------------------- interpreter


class _Vars:
    """Case-insensitive variable table with the standard defaults."""

    def __init__(self) -> None:
        self._d: dict[str, tuple[str, str]] = {k.lower(): (k, v) for k, v in STANDARD_DEFAULTS.items()}

    def get(self, name: str) -> str | None:
        item = self._d.get(name.lower())
        return item[1] if item else None

    def has(self, name: str) -> bool:
        return name.lower() in self._d

    def set(self, name: str, value: str) -> None:
        low = name.lower()
        canonical = self._d[low][0] if low in self._d else _STANDARD_LOWER.get(low, name)
        self._d[low] = (canonical, value)

    def delete(self, name: str) -> bool:
        return self._d.pop(name.lower(), None) is not None

    def as_dict(self) -> dict[str, str]:
        return dict(self._d.values())

    def number(self, name: str) -> int:
        value = (self.get(name) or "").strip()
        try:
            return int(value, 0) if value.lower().startswith("0x") else int(value)
        except ValueError:
            return 0

    def on(self, name: str) -> bool:
        return (self.get(name) or "").strip().lower() in ("on", "yes", "true", "1")


class _Interpreter:
    def __init__(self, cwd: str | None) -> None:
        self.cwd = cwd
        self.vars = _Vars()
        self.result = DdfResult()
        self.cab_no = 1
        self.disk_no = 1
        self.folder_no = 1
        self.cab_files = 0
        self.disk_files = 0
        self.folder_files = 0
        self.relational = False
        self.in_inf: tuple[str, int] | None = None
        self.names: set[str] = set()
        self.cabinets: dict[int, DdfCabinet] = {}
        self.suppressed = 0

    # ---- reporting
    def issue(self, kind: str, file: str, line: int | None, message: str) -> None:
        if len(self.result.issues) >= MAX_ISSUES:
            self.suppressed += 1
            return
        self.result.issues.append(DdfIssue(kind, file, line, message))

    # ---- substitution
    def substitute(self, text: str, file: str, line: int) -> str:
        if "%" not in text:
            return text
        out: list[str] = []
        i = 0
        n = len(text)
        while i < n:
            c = text[i]
            if c != "%":
                out.append(c)
                i += 1
                continue
            j = text.find("%", i + 1)
            if j < 0:
                self.issue("syntax", file, line, "unmatched % (write %% for a literal percent sign)")
                out.append(text[i:])
                break
            name = text[i + 1 : j]
            if not name:
                out.append("%")
            elif self.vars.has(name):
                out.append(self.vars.get(name) or "")
            else:
                self.issue("undefined_variable", file, line, f"%{name}% is not defined")
                out.append(text[i : j + 1])
            i = j + 1
        return "".join(out)

    # ---- variables
    def _name_value(self, args: list[str], file: str, line: int, what: str) -> tuple[str, str] | None:
        if not args:
            self.issue("syntax", file, line, f"{what} needs var=value")
            return None
        joined = args[0]
        rest = args[1:]
        if "=" not in joined:
            if rest and rest[0].startswith("="):
                joined += rest[0]
                rest = rest[1:]
                if joined.endswith("=") and rest:
                    joined += rest[0]
                    rest = rest[1:]
            elif what == ".Define" and not rest:
                joined += "="
            else:
                self.issue("syntax", file, line, f"{what} {' '.join(args)}: expected var=value")
                return None
        elif joined.endswith("=") and rest and joined.count("=") == 1:
            joined += rest[0]
            rest = rest[1:]
        name, _, value = joined.partition("=")
        name = name.strip()
        if not _NAME.match(name):
            self.issue("syntax", file, line, f"bad variable name {name!r}")
            return None
        if rest:
            self.issue("syntax", file, line, f"{what} {name}: extra text ignored: {' '.join(rest)}")
        return name, value

    def set_var(self, name: str, value: str, file: str, line: int | None, *, check: bool = True) -> None:
        if check and self.result.explicit and not self.vars.has(name) and not is_standard_variable(name):
            self.issue("explicit_undefined", file, line, f".Set {name} before .Define under .Option Explicit")
        self.vars.set(name, value)
        if name.lower() == "generateinf" and not self.vars.on("GenerateInf"):
            self.relational = True

    # ---- cabinets
    def _template(self, template: str, number: int) -> str:
        return template.replace("*", str(number))

    def _current_cabinet(self, file: str, line: int) -> DdfCabinet:
        cab = self.cabinets.get(self.cab_no)
        if cab is None:
            name = self.vars.get(f"CabinetName{self.cab_no}") or self._template(
                self.vars.get("CabinetNameTemplate") or "*.cab", self.cab_no
            )
            directory = self.vars.get(f"DiskDirectory{self.disk_no}")
            if directory is None:
                directory = self._template(self.vars.get("DiskDirectoryTemplate") or "", self.disk_no)
            path = join(directory, name) if directory and directory != "." else name
            resolved, _, _ = resolve_path(path, self.cwd)
            cab = DdfCabinet(self.cab_no, self.disk_no, name, directory, path, resolved, 0, file, line)
            self.cabinets[self.cab_no] = cab
            self.result.cabinets.append(cab)
        return cab

    def new(self, what: str, file: str, line: int) -> None:
        kind = what.lower()
        if kind == "folder":
            if self.folder_files:
                self.folder_no += 1
                self.folder_files = 0
        elif kind == "cabinet":
            self._next_cabinet()
        elif kind == "disk":
            self._next_disk()
        else:
            self.issue("syntax", file, line, f".New {what}: expected Cabinet, Folder or Disk")

    def _next_cabinet(self) -> None:
        if self.cab_files:
            self.cab_no += 1
            self.cab_files = 0
            self.folder_no += 1
            self.folder_files = 0

    def _next_disk(self) -> None:
        if self.disk_files:
            self.disk_no += 1
            self.disk_files = 0
            self._next_cabinet()

    # ---- lines
    def directive(self, tokens: list[str], file: str, line: int) -> None:
        cmd = tokens[0][1:].lower()
        args = tokens[1:]
        if cmd == "set":
            nv = self._name_value(args, file, line, ".Set")
            if nv:
                self.set_var(nv[0], nv[1], file, line)
        elif cmd == "define":
            nv = self._name_value(args, file, line, ".Define")
            if nv:
                if is_standard_variable(nv[0]):
                    self.issue("syntax", file, line, f".Define of standard variable {nv[0]}")
                self.vars.set(nv[0], nv[1])
        elif cmd == "delete":
            if not args:
                self.issue("syntax", file, line, ".Delete needs a variable name")
            elif is_standard_variable(args[0]):
                self.issue("syntax", file, line, f".Delete of standard variable {args[0]}")
            elif not self.vars.delete(args[0]):
                self.issue("undefined_variable", file, line, f".Delete {args[0]}: not defined")
        elif cmd == "option":
            if args and args[0].lower() == "explicit":
                self.result.explicit = True
            else:
                self.issue("syntax", file, line, f".Option {' '.join(args)}: only Explicit is known")
        elif cmd == "new":
            self.new(args[0] if args else "", file, line)
        elif cmd == "dump":
            pass  # prints the variable table; no effect on the layout
        elif cmd == "infbegin":
            section = args[0] if args else ""
            if section.lower() not in ("disk", "cabinet", "folder"):
                self.issue("syntax", file, line, f".InfBegin {section}: expected Disk, Cabinet or Folder")
            self.in_inf = (file, line)
        elif cmd == "infend":
            self.issue("syntax", file, line, ".InfEnd without .InfBegin")
        elif cmd in ("infwrite", "infwritecabinet", "infwritedisk"):
            self.result.inf_lines += 1
        else:
            self.issue("unknown_directive", file, line, f"unknown directive {tokens[0]}")

    def file_line(self, tokens: list[str], quoted: list[bool], file: str, line: int) -> None:
        src = tokens[0]
        dest: str | None = None
        params: dict[str, str] = {}
        for tok, was_quoted in zip(tokens[1:], quoted[1:], strict=False):
            if tok.startswith("/") and not tok.startswith("//") and not was_quoted:
                key, eq, value = tok[1:].partition("=")
                if not key or not eq:
                    self.issue("syntax", file, line, f"bad parameter {tok!r} (expected /name=value)")
                    continue
                params[key.lower()] = value
            elif dest is None and not params:
                dest = tok
            else:
                self.issue("syntax", file, line, f"unexpected text {tok!r} on file line")
        if self.relational and self.vars.on("GenerateInf"):
            self.result.references.append(DdfReference(src, file, line, params))
            return
        source_dir = self.vars.get("SourceDir") or ""
        source_path = join(source_dir, src) if source_dir else src
        resolved, _, _ = resolve_path(source_path, self.cwd)
        if source_dir and source_path != src and source_dir not in self.result.source_dirs:
            self.result.source_dirs.append(source_dir)  # only when it prefixed a relative source
        name = dest if dest else basename(src)
        dest_dir = self.vars.get("DestinationDir") or ""
        if dest_dir:
            name = dest_dir.rstrip("\\/") + "\\" + name
        unique = params.get("unique", "yes" if self.vars.on("UniqueFiles") else "no").lower() not in ("no", "off")
        if unique and name.lower() in self.names:
            self.issue("duplicate_name", file, line, f"{name} is already in the cabinet set (UniqueFiles)")
        self.names.add(name.lower())
        cab: DdfCabinet | None = None
        if self.vars.on("Cabinet"):
            limit = self.vars.number("CabinetFileCountThreshold")
            if limit > 0 and self.cab_files >= limit:
                self._next_cabinet()
            disk_limit = self.vars.number("MaxDiskFileCount")
            if disk_limit > 0 and self.disk_files >= disk_limit:
                self._next_disk()
            folder_limit = self.vars.number("FolderFileCountThreshold")
            if folder_limit > 0 and self.folder_files >= folder_limit:
                self.new("folder", file, line)
            cab = self._current_cabinet(file, line)
            cab.files += 1
            self.cab_files += 1
            self.disk_files += 1
            self.folder_files += 1
            if self._size_limited():
                self.result.may_span = True
        self.result.files.append(
            DdfFile(
                source=src,
                source_path=source_path,
                resolved=resolved,
                name=name,
                cabinet=cab.number if cab else None,
                cabinet_name=cab.name if cab else None,
                cabinet_dir=cab.directory if cab else None,
                cabinet_path=cab.path if cab else None,
                cabinet_resolved=cab.resolved if cab else None,
                folder=self.folder_no,
                disk=self.disk_no,
                file=file,
                line=line,
                source_dir=source_dir,
                params=params,
            )
        )

    def _size_limited(self) -> bool:
        disk = self.vars.get(f"MaxDiskSize{self.disk_no}") or self.vars.get("MaxDiskSize") or "0"
        return disk.strip() not in ("0", "") or self.vars.number("MaxCabinetSize") > 0

    def run(self, texts: Sequence[tuple[str, bytes | str]], defines: Sequence[tuple[str, str]]) -> DdfResult:
        for name, value in defines:
            n = str(name).strip()
            if _NAME.match(n):
                self.set_var(n, str(value), "<command line>", None, check=False)
            else:
                self.issue("syntax", "<command line>", None, f"/D {name}={value}: bad variable name")
        total = 0
        for name, content in texts:
            fname = str(name)
            self.result.inputs.append(fname)
            text, notes = decode_ddf(content)
            for kind, message in notes:
                self.issue(kind, fname, None if kind != "bom" else 1, message)
            if fname.lower().endswith((".bat", ".cmd")):
                self._polyglot(fname, None, f"directive file has a batch extension ({basename(fname)})")
            binary_reported = False
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            for lineno, raw in enumerate(lines, 1):
                if total >= MAX_LINES:
                    self.result.truncated = True
                    self.issue("huge_file", fname, lineno, f"stopped after {MAX_LINES} lines")
                    break
                total += 1
                line = raw[:-1] if raw.endswith("\r") else raw
                if "\0" in line:
                    line = line.split("\0", 1)[0]
                    if not binary_reported:
                        self.issue("binary", fname, lineno, "NUL byte: makecab stops reading the line there")
                        binary_reported = True
                line = line.rstrip("\x1a")
                if not binary_reported and any(ord(c) < 32 and c != "\t" for c in line):
                    self.issue("binary", fname, lineno, "control characters: binary or junk content")
                    binary_reported = True
                if len(line) > MAX_LINE:
                    self.issue("line_too_long", fname, lineno, f"{len(line)} characters (makecab allows {MAX_LINE})")
                    line = line[:MAX_LINE_PROCESSED]
                self.line(line, fname, lineno)
            if self.result.truncated:
                break
        if self.in_inf is not None:
            self.issue("syntax", self.in_inf[0], self.in_inf[1], ".InfBegin without .InfEnd")
        if self.result.may_span:
            self.issue(
                "may_span",
                self.result.inputs[-1] if self.result.inputs else "<none>",
                None,
                "disk/cabinet size limits are in force: more cabinets may be written than listed (file sizes unknown)",
            )
        if self.suppressed:
            self.result.issues.append(
                DdfIssue("too_many_issues", self.result.inputs[-1] if self.result.inputs else "", None, f"{self.suppressed} more issues not listed")
            )
        self.result.lines = total
        self.result.variables = self.vars.as_dict()
        self.result.inf_file = self._output("InfFileName")
        self.result.rpt_file = self._output("RptFileName")
        return self.result

    def _output(self, var: str) -> str | None:
        value = (self.vars.get(var) or "").strip()
        if not value or value.lower() in ("nul", "nul:"):
            return None
        resolved, _, _ = resolve_path(value, self.cwd)
        return resolved or value

    def _polyglot(self, file: str, line: int | None, message: str) -> None:
        if not any(i.kind == "polyglot" and i.file == file for i in self.result.issues):
            self.issue("polyglot", file, line, message)
        self.result.polyglot = True

    def line(self, line: str, file: str, lineno: int) -> None:
        if self.in_inf is not None:
            if line.strip().lower().startswith(".infend"):
                self.in_inf = None
            else:
                self.result.inf_lines += 1
            return
        code, comment = strip_comment(line)
        if comment is not None and not code.strip() and _BATCH.search(comment):
            self._polyglot(file, lineno, f"comment line looks like batch code: ;{comment.strip()[:60]}")
        code = self.substitute(code, file, lineno)
        tokens, quoted, unterminated = tokenize_quoted(code)
        if unterminated:
            self.issue("syntax", file, lineno, "unterminated quote")
        if not tokens:
            return
        if not quoted[0] and tokens[0].startswith(".") and len(tokens[0]) > 1 and tokens[0][1].isalpha():
            self.directive(tokens, file, lineno)
        else:
            self.file_line(tokens, quoted, file, lineno)


def interpret_ddf(
    texts: Sequence[tuple[str, bytes | str]], defines: Sequence[tuple[str, str]] = (), cwd: str | None = None
) -> DdfResult:
    """Interpret one or more DDFs as a single stream (``/D`` values first); never raises."""
    try:
        return _Interpreter(cwd).run(texts, defines)
    except Exception as exc:  # defensive: an interpreter bug must not hide the job
        result = DdfResult(inputs=[str(n) for n, _ in texts])
        result.issues.append(DdfIssue("internal_error", result.inputs[0] if result.inputs else "", None, f"{type(exc).__name__}: {exc}"))
        return result
