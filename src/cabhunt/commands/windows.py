"""``cabhunt cmdline`` and ``cabhunt ddf inspect``: the Windows semantics, for an analyst.

``cmdline`` shows how makecab/diantz reads one command line (argv, switches, every source,
cabinet and directive file resolved and classified); ``ddf inspect`` interprets directive files
without touching anything they name. JSON output is documented in docs/windows-json.md.
Exit status: 0 done (even when the input has issues), 1 an input file could not be read,
2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from cabhunt.windows.hosts import NetworkConfig
    from cabhunt.windows.job import JobAnalysis

CMDLINE_SCHEMA = "cabhunt.cmdline/1"
DDF_SCHEMA = "cabhunt.ddf/1"

FormatOpt = Annotated[str, typer.Option("--format", help="table or json")]
MapOpt = Annotated[
    list[str] | None, typer.Option("--map", help="mapped drive, X:=\\\\host\\share (repeatable)")
]
NetOpt = Annotated[Path | None, typer.Option("--net", help="YAML {internal_domains, internal_cidrs}")]


def _usage(message: str) -> typer.Exit:
    print(f"cabhunt: {message}", file=sys.stderr)
    return typer.Exit(code=2)


def _check_format(fmt: str) -> str:
    value = fmt.strip().lower()
    if value not in ("table", "json"):
        raise _usage(f"--format must be table or json, not {fmt!r}")
    return value


def parse_drive_maps(values: list[str]) -> dict[str, str]:
    """``X:=\\\\host\\share`` (also ``X=…``) → {"X:": "\\\\host\\share"}; ValueError when malformed."""
    out: dict[str, str] = {}
    for item in values:
        letter, eq, target = item.partition("=")
        letter = letter.strip().rstrip(":")
        if not eq or len(letter) != 1 or not letter.isalpha() or not target.strip():
            raise ValueError(f"--map expects X:=\\\\host\\share, got {item!r}")
        out[letter.upper() + ":"] = target.strip()
    return out


def parse_defines(values: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for item in values:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise ValueError(f"--define expects VAR=VALUE, got {item!r}")
        out.append((name.strip(), value))
    return out


def _net(path: Path | None) -> NetworkConfig | None:
    if path is None:
        return None
    from cabhunt.errors import InputError
    from cabhunt.windows.hosts import NetworkConfig

    try:
        return NetworkConfig.from_file(path)
    except InputError as exc:
        from cabhunt.errors import report

        report(path, str(exc))
        raise typer.Exit(code=1) from exc


def _console() -> Console:
    from cabhunt.render.console import make_console

    return make_console(highlight=False, soft_wrap=False)


def _printable(text: str) -> str:
    """Escape control characters so analysed content cannot drive the analyst's terminal."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") for c in text
    )


def _row(table: Any, *values: object) -> None:
    """Add a row of plain text: paths may contain ``[...]`` that rich would read as markup."""
    from rich.text import Text

    table.add_row(*(Text(_printable(str(v))) for v in values))


def _flag(value: bool) -> str:
    return "yes" if value else ""


def _print_paths(console: Console, title: str, paths: list[Any]) -> None:
    from rich.table import Table

    if not paths:
        return
    table = Table(title=title, title_justify="left", show_lines=False)
    for col in ("written", "resolved", "kind", "host", "port", "scope", "ip", "flags", "via"):
        table.add_column(col, overflow="fold")
    for p in paths:
        flags = [
            name
            for name, on in (
                ("webdav", p.webdav),
                ("ssl", p.ssl),
                ("ip-literal", p.ip_literal),
                ("nonstd-port", p.nonstandard_port),
                (f"ads:{p.stream}", p.ads),
                ("user-writable", p.user_writable),
                ("device", p.device),
                (f"mapped {p.mapped_drive}", p.mapped_drive is not None),
            )
            if on
        ]
        _row(
            table,
            p.written,
            p.resolved or "",
            p.kind,
            p.host or "",
            "" if p.port is None else str(p.port),
            p.scope,
            p.ip or "",
            ", ".join(flags),
            p.via or "",
        )
    console.print(table)


def _print_job(console: Console, job: JobAnalysis) -> None:
    from rich.table import Table

    inv = job.invocation
    summary = Table(title="makecab / diantz invocation", title_justify="left", show_header=False)
    summary.add_column("field", style="bold")
    summary.add_column("value", overflow="fold")
    _row(summary, "maker", inv.maker or "not a cabinet maker")
    if inv.image or inv.original_file_name:
        _row(summary, "image", f"{inv.image or '?'} (OriginalFileName {inv.original_file_name or '?'})")
    _row(summary, "renamed", _flag(inv.renamed) or "no")
    _row(summary, "mode", inv.mode)
    for i, arg in enumerate(inv.argv):
        _row(summary, f"argv[{i}]", arg)
    if inv.verbosity is not None:
        _row(summary, "verbosity", str(inv.verbosity))
    for name, value in inv.defines:
        _row(summary, "/D", f"{name}={value}")
    if inv.location is not None:
        _row(summary, "/L", inv.location)
    if inv.cabinet is not None:
        _row(summary, "cabinet", inv.cabinet + ("  (default name)" if inv.destination_defaulted else ""))
    _row(summary, "working directory", job.cwd or "unknown")
    verdict = "FLAGGED: " if job.flagged else "not flagged"
    reasons = []
    if job.remote_sources:
        reasons.append("remote source")
    if job.remote_directive_files:
        reasons.append("remote directive file")
    if job.source_dir is not None and job.source_dir.remote:
        reasons.append("remote SourceDir")
    if job.ads_cabinet:
        reasons.append("cabinet in an alternate data stream")
    _row(summary, "verdict", verdict + ", ".join(reasons))
    for err in inv.errors:
        _row(summary, "usage error", err)
    for note in inv.notes:
        _row(summary, "note", note)
    if job.ddf_unknown:
        _row(summary, "DDF content unknown", ", ".join(job.ddf_unknown))
    for note in job.notes:
        _row(summary, "note", note)
    console.print(summary)
    _print_paths(console, "Sources", job.sources)
    _print_paths(console, "Cabinets", job.cabinets)
    _print_paths(console, "Directive files", job.directive_files)
    if job.source_dir is not None:
        _print_paths(console, "SourceDir (/D)", [job.source_dir])
    if job.ddf is not None:
        _print_issues(console, job.ddf)


def _print_issues(console: Console, ddf: Any) -> None:
    from rich.table import Table

    if not ddf.issues:
        return
    table = Table(title="DDF issues", title_justify="left")
    for col in ("kind", "file", "line", "message"):
        table.add_column(col, overflow="fold")
    for issue in ddf.issues:
        _row(table, issue.kind, issue.file, "" if issue.line is None else str(issue.line), issue.message)
    console.print(table)


def _ddf_loader(paths: list[Path]) -> tuple[Any, list[str]]:
    """Loader serving ``--ddf`` files for the /F names with the same base name."""
    from cabhunt.windows.paths import basename

    contents: dict[str, bytes] = {}
    failed: list[str] = []
    for path in paths:
        try:
            contents[path.name.lower()] = path.read_bytes()
        except OSError as exc:
            from cabhunt.errors import report

            report(path, f"cannot read: {exc.strerror or exc}")
            failed.append(str(path))

    def load(windows_path: str) -> bytes | None:
        return contents.get(basename(windows_path).lower())

    return load, failed


def cmdline(
    command_line: Annotated[str, typer.Argument(help="the process command line, quoted as one argument")],
    cwd: Annotated[
        str | None, typer.Option("--cwd", help="process working directory (Sysmon CurrentDirectory)")
    ] = None,
    image: Annotated[str | None, typer.Option("--image", help="process image path")] = None,
    original_file_name: Annotated[
        str | None, typer.Option("--original-file-name", help="PE OriginalFileName")
    ] = None,
    drive_map: MapOpt = None,
    ddf: Annotated[
        list[Path] | None,
        typer.Option("--ddf", help="content for the /F file with this base name (repeatable)"),
    ] = None,
    net_config: NetOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Show how makecab/diantz reads COMMAND_LINE: argv, switches, sources, cabinets, DDFs."""
    from cabhunt.windows.job import analyze_job

    out_format = _check_format(fmt)
    try:
        maps = parse_drive_maps(drive_map or [])
    except ValueError as exc:
        raise _usage(str(exc)) from exc
    net = _net(net_config)
    loader, failed = _ddf_loader(list(ddf or [])) if ddf else (None, [])
    job = analyze_job(
        command_line,
        image=image,
        original_file_name=original_file_name,
        cwd=cwd,
        drive_map=maps,
        net=net,
        ddf_loader=loader,
    )
    if out_format == "json":
        doc = {"schema": CMDLINE_SCHEMA, **job.to_dict()}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_job(_console(), job)
    if failed:
        raise typer.Exit(code=1)


def ddf_inspect(
    files: Annotated[list[Path], typer.Argument(help="directive files, interpreted as one stream")],
    define: Annotated[
        list[str] | None, typer.Option("--define", "-D", help="VAR=VALUE, applied first (repeatable)")
    ] = None,
    cwd: Annotated[
        str | None, typer.Option("--cwd", help="Windows working directory to resolve relative paths")
    ] = None,
    drive_map: MapOpt = None,
    net_config: NetOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Interpret DDF directive files: every source, its name in the cabinet, the cabinets, issues."""
    from cabhunt.errors import report
    from cabhunt.windows.ddf import interpret_ddf
    from cabhunt.windows.paths import classify_path

    out_format = _check_format(fmt)
    try:
        defines = parse_defines(define or [])
        maps = parse_drive_maps(drive_map or [])
    except ValueError as exc:
        raise _usage(str(exc)) from exc
    net = _net(net_config)
    texts: list[tuple[str, bytes | str]] = []
    failed = 0
    for path in _expand(files):
        try:
            texts.append((str(path), path.read_bytes()))
        except OSError as exc:
            report(path, f"cannot read: {exc.strerror or exc}")
            failed += 1
    if not texts:
        raise typer.Exit(code=1)
    result = interpret_ddf(texts, defines, cwd)
    sources = [classify_path(f.source_path, cwd, maps, net).with_via(f.file) for f in result.files]
    places = [classify_path(c.path, cwd, maps, net).with_via("ddf") for c in result.cabinets]
    if out_format == "json":
        doc = {
            "schema": DDF_SCHEMA,
            **result.to_dict(),
            "sources": [s.to_dict() for s in sources],
            "cabinet_locations": [p.to_dict() for p in places],
        }
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_ddf(_console(), result, sources, places)
    if failed:
        raise typer.Exit(code=1)


def _expand(paths: list[Path]) -> list[Path]:
    """Directories are walked (files in path order, one stream); other paths are kept as given."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        else:
            out.append(path)
    return out


def _print_ddf(console: Console, result: Any, sources: list[Any], places: list[Any]) -> None:
    from rich.table import Table

    head = Table(title="DDF interpretation", title_justify="left", show_header=False)
    head.add_column("field", style="bold")
    head.add_column("value", overflow="fold")
    _row(head, "inputs", ", ".join(result.inputs))
    _row(head, "lines", str(result.lines) + (" (truncated)" if result.truncated else ""))
    _row(head, "files", str(len(result.files)))
    _row(head, "remote sources", str(sum(1 for s in sources if s.remote)))
    _row(head, "cabinets", ", ".join(c.path for c in result.cabinets) or "none")
    _row(head, "option explicit", _flag(result.explicit) or "no")
    if result.polyglot:
        _row(head, "polyglot", "yes: the file is also batch code")
    if result.source_dirs:
        _row(head, "SourceDir values", ", ".join(result.source_dirs))
    console.print(head)
    if result.files:
        table = Table(title="Files", title_justify="left")
        for col in ("line", "source", "resolved", "kind", "host", "name in cabinet", "cabinet"):
            table.add_column(col, overflow="fold")
        for f, s in zip(result.files, sources, strict=False):
            _row(
                table,
                f"{Path(f.file).name}:{f.line}",
                f.source_path,
                f.resolved or "",
                s.kind,
                s.host or "",
                f.name,
                f.cabinet_path or "(no cabinet)",
            )
        console.print(table)
    if result.cabinets:
        table = Table(title="Cabinets", title_justify="left")
        for col in ("#", "disk", "path", "resolved", "kind", "files", "flags"):
            table.add_column(col, overflow="fold")
        for c, p in zip(result.cabinets, places, strict=False):
            flags = [n for n, on in (("user-writable", p.user_writable), (f"ads:{p.stream}", p.ads)) if on]
            _row(table, str(c.number), str(c.disk), c.path, p.resolved or "", p.kind, str(c.files), ", ".join(flags))
        console.print(table)
    changed = {k: v for k, v in result.variables.items() if _non_default(k, v)}
    if changed:
        table = Table(title="Variables (changed from default)", title_justify="left")
        table.add_column("name")
        table.add_column("value", overflow="fold")
        for k, v in changed.items():
            _row(table, k, v)
        console.print(table)
    _print_issues(console, result)


def _non_default(name: str, value: str) -> bool:
    from cabhunt.windows.ddf import STANDARD_DEFAULTS

    return STANDARD_DEFAULTS.get(name) != value


def register(app: typer.Typer) -> None:
    """Attach ``cmdline`` and the ``ddf`` group (``ddf inspect``) to the main app."""
    app.command("cmdline")(cmdline)
    ddf_app = typer.Typer(help="Directive (DDF) files.", no_args_is_help=True)
    ddf_app.command("inspect")(ddf_inspect)
    app.add_typer(ddf_app, name="ddf")
