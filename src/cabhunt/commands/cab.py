"""`cabhunt cab inspect|extract`: what is inside a cabinet, and getting it out safely."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmgt]?)i?b?\s*$", re.I)
UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes from ``123``, ``64K``, ``512M``, ``2G`` (binary units)."""
    m = SIZE_RE.match(text)
    if not m:
        raise typer.BadParameter(f"not a size: {text!r} (use e.g. 1048576, 512M, 2G)")
    return int(m.group(1)) * UNITS[m.group(2).lower()]


def _limits(max_total: str | None, max_ratio: int | None, max_member: str | None) -> Any:
    from cabhunt.cab.limits import Limits

    base = Limits()
    return Limits(
        max_total=parse_size(max_total) if max_total else base.max_total,
        max_ratio=max_ratio if max_ratio is not None else base.max_ratio,
        max_member=parse_size(max_member) if max_member else base.max_member,
    )


def _walk(paths: list[Path], search: bool) -> list[tuple[Path, bool]]:
    """Files to analyse; (path, explicit). Directory entries are kept only if they look like cabinets."""
    out: list[tuple[Path, bool]] = []
    for p in paths:
        if p.is_dir():
            for child in sorted(x for x in p.rglob("*") if x.is_file() and not x.is_symlink()):
                if search:
                    out.append((child, False))
                    continue
                try:
                    with child.open("rb") as fh:
                        if fh.read(4) == b"MSCF":
                            out.append((child, False))
                except OSError:
                    continue
        else:
            out.append((p, True))
    return out


def _print_table(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from cabhunt.render.console import make_console

    console = make_console()
    cab = doc.get("cabinet") or {}
    header = cab.get("header", {})
    sig = cab.get("signature") or {}
    traits = cab.get("traits") or {}
    console.print(
        f"[bold]{doc['path']}[/bold]  {doc['size']} bytes  sha256 {doc['sha256']}\n"
        f"  folders {header.get('folders')}  files {header.get('files')}  setID {header.get('set_id')}  "
        f"signed {'yes (' + str(sig.get('signer_cn')) + ')' if sig.get('present') else 'no'}  "
        f"makecab-like {traits.get('makecab_like')}"
    )
    table = Table(show_lines=False)
    for col in ("name", "size", "date", "type", "entropy", "sha256", "notes"):
        table.add_column(col, overflow="fold", no_wrap=col in ("size", "date", "entropy"))
    for m in doc["members"]:
        notes = [n for n in (
            m.get("status") if m.get("status") != "ok" else None,
            "hidden" if m.get("hidden") else None,
            m.get("extension_mismatch"),
            (m.get("script") or {}).get("kind"),
            "secrets" if m.get("secrets") else None,
        ) if n]
        ent = m.get("entropy")
        table.add_row(m["name"], str(m["size"]), (m.get("date") or "-").replace("T", " "), m.get("type") or "-",
                      f"{ent:.2f}" if isinstance(ent, float) else "-", (m.get("sha256") or "-")[:16],
                      ", ".join(notes))
    console.print(table)
    for f in doc["findings"]:
        console.print(f"  [yellow]{f['id']}[/yellow] {f['title']}" + (f" — {f['member']}" if f.get("member") else ""))
        for ev in f["evidence"][:5]:
            console.print(f"      {ev}", markup=False)
    for e in doc["errors"]:
        console.print(f"  [red]error[/red] {e}", markup=False)


def inspect(
    files: Annotated[list[Path], typer.Argument(help="Cabinets (or directories of them) to analyse.")],
    fmt: Annotated[str, typer.Option("--format", help="table | json (a JSON array, one document per file) | jsonl (one document per line)")] = "table",
    search: Annotated[bool, typer.Option("--search", help="Find cabinets embedded at any offset (SFX, appended, concatenated).")] = False,
    max_total: Annotated[str | None, typer.Option(help="Cap on decoded bytes per file (default 2G).")] = None,
    max_ratio: Annotated[int | None, typer.Option(help="Cap on decoded/input bytes (default 1000).")] = None,
    max_member: Annotated[str | None, typer.Option(help="Members declaring more are not decoded (default 1G).")] = None,
) -> None:
    """Structure, members (hashes, real type, entropy, PE facts, scripts, secrets) and findings.

    Output: --format json prints one JSON array holding one document per file; jsonl prints one document per line; table is for people.

    A file that is not a cabinet is reported on stderr in one line; the exit status is 1 only when no file could be analysed.
    """
    from cabhunt.cab.analyze import analyze_file
    from cabhunt.cab.errors import CabError
    from cabhunt.errors import Problems

    if fmt not in ("table", "json", "jsonl"):
        raise typer.BadParameter(f"unknown format {fmt!r}", param_hint="--format")
    limits = _limits(max_total, max_ratio, max_member)
    problems = Problems()
    docs: list[dict[str, Any]] = []
    for path, explicit in _walk(files, search):
        try:
            doc = analyze_file(path, limits=limits, search=search)
        except CabError as exc:
            if explicit or not search:
                problems.add(path, f"not analysed: {exc}")
            continue
        except OSError as exc:
            problems.add(path, f"cannot read: {exc}")
            continue
        except Exception as exc:  # a bug must cost one file, not the run (and never a traceback)
            problems.add(path, f"internal error while analysing: {type(exc).__name__}: {exc}")
            continue
        docs.append(doc)
        if fmt == "jsonl":
            sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        elif fmt == "table":
            _print_table(doc)
    if fmt == "json":
        sys.stdout.write(json.dumps(docs, ensure_ascii=False, indent=2) + "\n")
    if not docs:
        raise typer.Exit(1)


def extract_cmd(
    file: Annotated[Path, typer.Argument(help="The cabinet to extract (the rest of its set is found beside it).")],
    to: Annotated[Path, typer.Option("--to", help="Output directory (created; must not contain symlinks).")],
    max_total: Annotated[str | None, typer.Option(help="Cap on bytes written/decoded (default 2G).")] = None,
    max_ratio: Annotated[int | None, typer.Option(help="Cap on decoded/input bytes (default 1000).")] = None,
    max_member: Annotated[str | None, typer.Option(help="Members declaring more are refused before decoding (default 1G).")] = None,
    search: Annotated[bool, typer.Option("--search", help="Extract cabinets embedded at any offset.")] = False,
) -> None:
    """Extract safely: sanitised names, nothing outside --to, capped output; prints a JSON report.

    The report lists what was written, renamed (original and written name, and why) and refused (with the reason). Existing files are never overwritten.

    Exit 0 when the extraction ran (refused members are listed in the report), 1 when the file is not a cabinet or the output directory is unsafe.
    """
    from cabhunt.cab.errors import CabError
    from cabhunt.cab.extract import extract
    from cabhunt.errors import report

    limits = _limits(max_total, max_ratio, max_member)
    try:
        result = extract(file, to, limits=limits, search=search)
    except CabError as exc:
        report(file, f"not extracted: {exc}")
        raise typer.Exit(1) from None
    except OSError as exc:
        report(file, f"not extracted: {exc}")
        raise typer.Exit(1) from None
    except Exception as exc:  # internal failure: one line, exit 1, never a traceback
        report(file, f"internal error while extracting: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def register(app: typer.Typer) -> None:
    """Attach the ``cab`` sub-app (inspect, extract) to the main app."""
    sub = typer.Typer(name="cab", help="Forensic cabinet reader: inspect members, extract safely.",
                      no_args_is_help=True)
    sub.command("inspect")(inspect)
    sub.command("extract")(extract_cmd)
    app.add_typer(sub, name="cab")
