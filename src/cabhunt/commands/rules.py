"""``cabhunt rules list`` and ``cabhunt rules convert``: the shipped Sigma rules, for detection engineers.

``list`` shows every rule (the four playbook rules first) with ids, slugs, UUIDs and ATT&CK
techniques; ``convert`` turns them into SIEM queries through pySigma backends with our own field
mapping pipelines, warning on stderr (one line per rule) where a backend cannot express a rule or
where the query is only the broad prefilter of what cabhunt verifies.
Exit status: 0 done, 1 nothing could be converted, 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

rules_app = typer.Typer(help="List the shipped Sigma rules and convert them to SIEM queries.", no_args_is_help=True)


def _usage(message: str) -> typer.Exit:
    print(f"cabhunt: {message}", file=sys.stderr)
    return typer.Exit(code=2)


@rules_app.command("list")
def list_rules(
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Show the shipped rules."""
    fmt = fmt.strip().lower()
    if fmt not in ("table", "json"):
        raise _usage(f"--format must be table or json, not {fmt!r}")
    from cabhunt.rules.loader import load_correlations, load_rules

    rules = load_rules()
    correlations = load_correlations()
    if fmt == "json":
        print(json.dumps([r.summary() for r in rules] + [c.summary() for c in correlations], indent=2))
        return
    from rich.table import Table

    from cabhunt.render.console import make_console

    table = Table(title=f"cabhunt rules ({len(rules)})")
    for col in ("id", "name", "slug", "logsource", "level", "techniques", "uuid"):
        table.add_column(col, overflow="fold")
    for r in rules:
        table.add_row(
            r.rule_id if r.playbook else "(supporting)",
            r.name,
            r.slug,
            r.category or "",
            r.level or "",
            ", ".join(r.techniques),
            r.uuid,
        )
    for c in correlations:
        table.add_row(
            "(correlation)",
            c.name,
            c.slug,
            f"{c.type} {c.timespan_s}s: {' + '.join(c.rules)}",
            c.level or "",
            "",
            c.uuid,
        )
    make_console().print(table)


@rules_app.command("convert")
def convert_cmd(
    target: Annotated[
        str, typer.Option("--target", help="splunk, esql, eql, lucene, kusto, databricks or sqlite")
    ],
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", help="field names: sysmon, winlogbeat or ecs (default per target)")
    ] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="only this rule slug (repeatable)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Convert the rules to queries for a SIEM."""
    from cabhunt.rules.convert import PIPELINES, TARGETS, comment_prefix, convert
    from cabhunt.rules.loader import load_correlations, load_rules

    target = target.strip().lower()
    if target not in TARGETS:
        raise _usage(f"--target must be one of {', '.join(TARGETS)}, not {target!r}")
    if pipeline is not None and pipeline.strip().lower() not in PIPELINES:
        raise _usage(f"--pipeline must be one of {', '.join(PIPELINES)}, not {pipeline!r}")
    fmt = fmt.strip().lower()
    if fmt not in ("text", "json"):
        raise _usage(f"--format must be text or json, not {fmt!r}")
    slugs = list(rule) if rule else None
    if slugs:
        known = {r.slug for r in load_rules()} | {c.slug for c in load_correlations()}
        unknown = [s for s in slugs if s not in known]
        if unknown:
            raise _usage(f"unknown rule slug(s): {', '.join(unknown)} (see 'cabhunt rules list')")
    results = convert(target, pipeline.strip().lower() if pipeline else None, slugs)
    for c in results:
        for w in c.warnings:
            print(f"cabhunt: {c.slug}: {target}: {w}", file=sys.stderr)
        if c.error:
            print(f"cabhunt: {c.slug}: {target} cannot express this rule, skipped: {c.error}", file=sys.stderr)
    if fmt == "json":
        print(json.dumps([c.to_dict() for c in results], indent=2))
    else:
        prefix = comment_prefix(target)
        for c in results:
            if not c.queries:
                continue
            ids = c.rule_id if c.rule_id == c.uuid else f"{c.rule_id}, {c.uuid}"
            if prefix == "```":
                print(f"``` {c.slug}: {c.name} ({ids}) ```")
            elif prefix:
                print(f"{prefix} {c.slug}: {c.name} ({ids})")
            for q in c.queries:
                print(q)
            print()
    if results and all(c.error for c in results):
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(rules_app, name="rules")
