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
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


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
        table.add_row(
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
    summary.add_row("maker", inv.maker or "not a cabinet maker")
    if inv.image or inv.original_file_name:
        summary.add_row("image", f"{inv.image or '?'} (OriginalFileName {inv.original_file_name or '?'})")
    summary.add_row("renamed", _flag(inv.renamed) or "no")
    summary.add_row("mode", inv.mode)
    summary.add_row("argv", "  ".join(repr(a) for a in inv.argv))
    if inv.verbosity is not None:
        summary.add_row("verbosity", str(inv.verbosity))
    for name, value in inv.defines:
        summary.add_row("/D", f"{name}={value}")
    if inv.location is not None:
        summary.add_row("/L", inv.location)
    if inv.cabinet is not None:
        summary.add_row("cabinet", inv.cabinet + ("  (default name)" if inv.destination_defaulted else ""))
    summary.add_row("working directory", job.cwd or "unknown")
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
    summary.add_row("verdict", verdict + ", ".join(reasons))
    for err in inv.errors:
        summary.add_row("usage error", err)
    for note in inv.notes:
        summary.add_row("note", note)
    if job.ddf_unknown:
        summary.add_row("DDF content unknown", ", ".join(job.ddf_unknown))
    for note in job.notes:
        summary.add_row("note", note)
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
        table.add_row(issue.kind, issue.file, "" if issue.line is None else str(issue.line), issue.message)
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
    cwd: Annotated[str | None, typer.Option("--cwd", help="process working directory (Sysmon CurrentDirectory)")] = None,
    image: Annotated[str | None, typer.Option("--image", help="process image path")] = None,
    original_file_name: Annotated[str | None, typer.Option("--original-file-name", help="PE OriginalFileName")] = None,
    drive_map: Annotated[list[str] | None, typer.Option("--map", help="mapped drive, X:=\\\\host\\share (repeatable)")] = None,
    ddf: Annotated[list[Path] | None, typer.Option("--ddf", help="content for the /F file with this base name (repeatable)")] = None,
    net_config: Annotated[Path | None, typer.Option("--net", help="YAML {internal_domains, internal_cidrs}")] = None,
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
        command_line, image=image, original_file_name=original_file_name, cwd=cwd, drive_map=maps, net=net, ddf_loader=loader
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
    define: Annotated[list[str] | None, typer.Option("--define", "-D", help="VAR=VALUE, applied first (repeatable)")] = None,
    cwd: Annotated[str | None, typer.Option("--cwd", help="Windows working directory to resolve relative paths")] = None,
    net_config: Annotated[Path | None, typer.Option("--net", help="YAML {internal_domains, internal_cidrs}")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Interpret DDF directive files: every source, its name in the cabinet, the cabinets, issues."""
    from cabhunt.errors import report
    from cabhunt.windows.ddf import interpret_ddf
    from cabhunt.windows.paths import classify_path

    out_format = _check_format(fmt)
    try:
        defines = parse_defines(define or [])
    except ValueError as exc:
        raise _usage(str(exc)) from exc
    net = _net(net_config)
    texts: list[tuple[str, bytes | str]] = []
    failed = 0
    for path in files:
        try:
            if path.is_dir():
                raise IsADirectoryError(21, "is a directory")
            texts.append((str(path), path.read_bytes()))
        except OSError as exc:
            report(path, f"cannot read: {exc.strerror or exc}")
            failed += 1
    if not texts:
        raise typer.Exit(code=1)
    result = interpret_ddf(texts, defines, cwd)
    sources = [classify_path(f.source_path, cwd, None, net).with_via(f.file) for f in result.files]
    if out_format == "json":
        doc = {"schema": DDF_SCHEMA, **result.to_dict(), "sources": [s.to_dict() for s in sources]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_ddf(_console(), result, sources)
    if failed:
        raise typer.Exit(code=1)


def _print_ddf(console: Console, result: Any, sources: list[Any]) -> None:
    from rich.table import Table

    head = Table(title="DDF interpretation", title_justify="left", show_header=False)
    head.add_column("field", style="bold")
    head.add_column("value", overflow="fold")
    head.add_row("inputs", ", ".join(result.inputs))
    head.add_row("lines", str(result.lines) + (" (truncated)" if result.truncated else ""))
    head.add_row("files", str(len(result.files)))
    head.add_row("remote sources", str(sum(1 for s in sources if s.remote)))
    head.add_row("cabinets", ", ".join(c.path for c in result.cabinets) or "none")
    head.add_row("option explicit", _flag(result.explicit) or "no")
    if result.polyglot:
        head.add_row("polyglot", "yes: the file is also batch code")
    if result.source_dirs:
        head.add_row("SourceDir values", ", ".join(result.source_dirs))
    console.print(head)
    if result.files:
        table = Table(title="Files", title_justify="left")
        for col in ("line", "source", "resolved", "kind", "host", "name in cabinet", "cabinet"):
            table.add_column(col, overflow="fold")
        for f, s in zip(result.files, sources, strict=False):
            table.add_row(
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
        for col in ("#", "disk", "path", "resolved", "files"):
            table.add_column(col, overflow="fold")
        for c in result.cabinets:
            table.add_row(str(c.number), str(c.disk), c.path, c.resolved or "", str(c.files))
        console.print(table)
    changed = {k: v for k, v in result.variables.items() if _non_default(k, v)}
    if changed:
        table = Table(title="Variables (changed from default)", title_justify="left")
        table.add_column("name")
        table.add_column("value", overflow="fold")
        for k, v in changed.items():
            table.add_row(k, v)
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
