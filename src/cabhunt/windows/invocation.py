"""The makecab / diantz command-line grammar: what a given argv asks the program to do.

``MAKECAB [/V[n]] [/D var=value ...] [/L dir] source [destination]`` or
``MAKECAB [/V[n]] [/D var=value ...] /F directive_file [...]`` — switches with ``/`` or ``-`` in
any case, interleaved with positionals. Attackers write odd command lines, so nothing here
raises: whatever makecab would reject is kept in ``Invocation.errors`` and the parse goes on,
keeping every path it saw (a rejected job may still be retried, and intent is evidence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cabhunt.windows.argv import split_command_line
from cabhunt.windows.paths import basename, join

Mode = Literal["single", "ddf", "help", "none"]
_MAKERS = {"makecab.exe": "makecab", "diantz.exe": "diantz", "makecab": "makecab", "diantz": "diantz"}


def _exe_name(path: str | None) -> str | None:
    if not path:
        return None
    name = basename(str(path).strip().strip('"')).strip().lower()
    return name or None


def cab_maker(image: str | None, original_file_name: str | None) -> str | None:
    """``"makecab"`` / ``"diantz"`` when the image name or the PE OriginalFileName says so, else ``None``.

    The image name wins when it is one of the two (rules are named per binary); otherwise the
    OriginalFileName identifies a renamed copy.
    """
    by_image = _MAKERS.get(_exe_name(image) or "")
    if by_image:
        return by_image
    return _MAKERS.get(_exe_name(original_file_name) or "")


def is_renamed(image: str | None, original_file_name: str | None) -> bool:
    """True when the image basename differs from the OriginalFileName of a cabinet maker.

    makecab.exe and diantz.exe are the same program, so one name for the other is not renaming.
    """
    img = _exe_name(image)
    ofn = _exe_name(original_file_name)
    if not img or not ofn or ofn not in _MAKERS:
        return False
    if not ofn.endswith(".exe"):
        ofn += ".exe"
    if img == ofn:
        return False
    return not (img in ("makecab.exe", "diantz.exe") and ofn in ("makecab.exe", "diantz.exe"))


def default_destination(source: str, ext_char: str = "_") -> str:
    """makecab's default cabinet name: last extension char replaced (``x.txt`` → ``x.tx_``).

    Extensions shorter than three characters get the char appended (``foo.b`` → ``foo.b_``),
    a name without extension gets ``._`` (``foo`` → ``foo._``).
    """
    ch = (ext_char or "_")[0]
    name = basename(source)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name + "." + ch
    if len(ext) >= 3:
        return stem + "." + ext[:-1] + ch
    return stem + "." + ext + ch


@dataclass
class Invocation:
    """One makecab/diantz job as its arguments describe it (paths as written)."""

    command_line: str
    argv: list[str]
    program: str | None  # argv[0]
    maker: str | None  # "makecab" | "diantz" | None (not a cabinet maker as far as we can tell)
    image: str | None = None
    original_file_name: str | None = None
    renamed: bool = False
    mode: Mode = "none"
    verbosity: int | None = None
    defines: list[tuple[str, str]] = field(default_factory=list)
    location: str | None = None  # /L dir
    directive_files: list[str] = field(default_factory=list)
    source: str | None = None
    destination: str | None = None  # as written; None when defaulted
    cabinet: str | None = None  # the cabinet single-file mode writes (destination or default, under /L)
    destination_defaulted: bool = False
    member: str | None = None  # name stored in the single-file cabinet: the source's base name
    extra_positionals: list[str] = field(default_factory=list)
    help: bool = False
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alternate: Invocation | None = None  # the parse under CommandLineToArgvW quoting, when argv differs

    def define(self, name: str) -> str | None:
        """Last ``/D`` value for a variable (names are case-insensitive)."""
        value: str | None = None
        for k, v in self.defines:
            if k.lower() == name.lower():
                value = v
        return value

    def to_dict(self) -> dict[str, Any]:
        return {
            "command_line": self.command_line,
            "argv": list(self.argv),
            "program": self.program,
            "maker": self.maker,
            "image": self.image,
            "original_file_name": self.original_file_name,
            "renamed": self.renamed,
            "mode": self.mode,
            "verbosity": self.verbosity,
            "defines": [{"name": k, "value": v} for k, v in self.defines],
            "location": self.location,
            "directive_files": list(self.directive_files),
            "source": self.source,
            "destination": self.destination,
            "cabinet": self.cabinet,
            "destination_defaulted": self.destination_defaulted,
            "member": self.member,
            "extra_positionals": list(self.extra_positionals),
            "help": self.help,
            "errors": list(self.errors),
            "notes": list(self.notes),
            "alternate": self.alternate.to_dict() if self.alternate is not None else None,
        }


# Switch introducers: "/" and "-", plus the dash lookalikes that ANSI best-fit conversion turns
# into "-" on some code pages (the set Sigma's "windash" modifier covers).
_SWITCH_CHARS = "/-\u2013\u2014\u2015"


def best_fit_fold(text: str) -> str:
    """Fold full-width ASCII forms (U+FF01..U+FF5E) to ASCII.

    makecab receives its arguments through the ANSI code page (inferred); Windows' best-fit
    conversion maps full-width quotes, slashes and letters to their ASCII twins, so ``＂`` can
    end a quoted argument for makecab while a log viewer sees an ordinary character.
    """
    if not any("\uff01" <= c <= "\uff5e" for c in text):
        return text
    return "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in text)


def _is_switch(arg: str) -> bool:
    if len(arg) < 2 or arg[0] not in _SWITCH_CHARS:
        return False
    # "//host/share/f" is a path (forward-slash UNC), not a switch named "/"
    return not (arg[0] == "/" and arg[1] == "/")


def parse_invocation(
    command_line: str, image: str | None = None, original_file_name: str | None = None
) -> Invocation:
    """Parse a makecab/diantz command line; never raises (problems go to ``errors``)."""
    try:
        return _parse(command_line, image, original_file_name)
    except Exception as exc:  # defensive: a parser bug must not hide the event
        return Invocation(
            command_line=str(command_line),
            argv=[],
            program=None,
            maker=cab_maker(image, original_file_name),
            image=image,
            original_file_name=original_file_name,
            errors=[f"internal parser error: {type(exc).__name__}"],
        )


def _parse(command_line: str, image: str | None, original_file_name: str | None) -> Invocation:
    text = "" if command_line is None else str(command_line)
    folded = best_fit_fold(text)
    inv = _parse_argv(text, folded, split_command_line(folded), image, original_file_name)
    shell32 = split_command_line(folded, "shell32")
    if shell32 != inv.argv:
        inv.alternate = _parse_argv(text, folded, shell32, image, original_file_name)
        inv.notes.append("CommandLineToArgvW / pre-2008 runtime quoting splits this line differently (see alternate)")
    return inv


def _parse_argv(text: str, folded: str, argv: list[str], image: str | None, original_file_name: str | None) -> Invocation:
    program = argv[0] if argv else None
    maker = cab_maker(image, original_file_name) or (cab_maker(program, None) if not image else None)
    inv = Invocation(
        command_line=text,
        argv=argv,
        program=program,
        maker=maker,
        image=image,
        original_file_name=original_file_name,
        renamed=is_renamed(image, original_file_name),
    )
    if folded != text:
        inv.notes.append("full-width characters folded to ASCII (ANSI best-fit), as makecab would see them")
    positionals: list[str] = []
    args = argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not _is_switch(arg):
            positionals.append(arg)
            continue
        letter = arg[1].upper()
        attached = arg[2:]
        if letter == "?":
            inv.help = True
            continue
        if letter == "V":
            if not attached:
                inv.verbosity = 1
            elif attached.isdigit() and attached.isascii():
                inv.verbosity = int(attached)
                if len(attached) > 1 or inv.verbosity > 3:
                    inv.errors.append(f"verbosity out of range: {arg}")
            else:
                inv.errors.append(f"bad verbosity switch: {arg}")
            continue
        if letter in ("D", "F", "L"):
            if attached[:1] in (":", "="):
                attached = attached[1:]  # tolerate /F:file and /L=dir spellings
            if attached:
                value = attached
            elif i < len(args):
                value = args[i]
                i += 1
            else:
                inv.errors.append(f"{arg} needs a value")
                continue
            if letter == "D":
                name, eq, val = value.partition("=")
                if not eq or not name.strip():
                    inv.errors.append(f"/D value is not var=value: {value!r}")
                    continue
                inv.defines.append((name.strip(), val))
            elif letter == "F":
                inv.directive_files.append(value)
            else:
                if inv.location is not None:
                    inv.errors.append("/L given more than once; the last one is used")
                inv.location = value
            continue
        inv.errors.append(f"unknown switch: {arg}")
    if inv.help:
        inv.mode = "help"
    if inv.directive_files:
        inv.mode = "ddf" if not inv.help else inv.mode
        if positionals:
            inv.errors.append("source/destination given together with /F")
    elif positionals:
        inv.mode = "single" if not inv.help else inv.mode
    elif not inv.help:
        inv.errors.append("no source file and no /F directive file")
    if positionals:
        inv.source = positionals[0]
        inv.member = basename(inv.source) or None
        if len(positionals) > 1:
            inv.destination = positionals[1]
        if len(positionals) > 2:
            inv.extra_positionals = positionals[2:]
            inv.errors.append(f"too many file names: {' '.join(positionals[2:])}")
        ext_char = inv.define("CompressedFileExtensionChar") or "_"
        if inv.destination is not None:
            cabinet = inv.destination
        else:
            cabinet = default_destination(inv.source, ext_char)
            inv.destination_defaulted = True
        inv.cabinet = join(inv.location, cabinet) if inv.location else cabinet
    return inv
