"""The shipped rules compiled once: identity plus the IR of :mod:`cabhunt.rules.ir`, cached.

Importing pySigma and parsing every rule costs a few hundred milliseconds, more than detection's
queries over a 100,000-event hunt. The compiled form is plain data, so it is kept in memory for
the process and in a JSON file under the user cache directory (``$CABHUNT_CACHE_DIR``, else
``$XDG_CACHE_HOME/cabhunt``, else ``~/.cache/cabhunt``). The file is named by a digest of
everything the compiled form depends on -- the rule and pipeline YAML, the compiler sources,
the events schema and the installed pySigma -- so an edited rule or an upgrade is recompiled
on the next run, never served stale. A cache that cannot be read or written is ignored: the
rules are compiled from YAML as if there were none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cabhunt.rules.loader import PIPELINE_DIR, RULES_DIR, RuleIdentity, rule_files

if TYPE_CHECKING:
    import ibis.expr.types as ir

FORMAT = 2
STALE_AFTER_S = 86400.0
PIPELINE = "cabhunt"
_SOURCES = ("compiler.py", "ir.py", "cache.py", "loader.py")

_memo: dict[str, dict[str, CompiledRule]] = {}


@dataclass(frozen=True)
class CompiledRule(RuleIdentity):
    """What detection needs of a shipped rule: the alert identity and the compiled detection."""

    slug: str
    name: str
    playbook_id: str | None
    uuid: str
    path: Path
    conditions: tuple[Any, ...]  # IR nodes; empty when the rule cannot be compiled
    error: str | None = None  # why it cannot (a RuleCompileError message)

    def condition(self, table: ir.Table, builder: Any = None) -> ir.BooleanValue:
        """The match as a WHERE clause wants it (NULL counts as no match; see :func:`ir.condition`)."""
        from cabhunt.rules.compiler import RuleCompileError
        from cabhunt.rules.ir import condition

        if self.error is not None or not self.conditions:
            raise RuleCompileError(self.error or f"{self.slug}: no detection")
        return condition(table, self.conditions, builder)

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "playbook_id": self.playbook_id,
            "uuid": self.uuid,
            "path": self.path.relative_to(RULES_DIR).as_posix(),
            "conditions": list(self.conditions),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> CompiledRule:
        pid = doc["playbook_id"]
        err = doc["error"]
        return cls(
            slug=str(doc["slug"]),
            name=str(doc["name"]),
            playbook_id=str(pid) if pid is not None else None,
            uuid=str(doc["uuid"]),
            path=RULES_DIR / str(doc["path"]),
            conditions=tuple(_checked(n) for n in doc["conditions"]),
            error=str(err) if err is not None else None,
        )


def compiled_rules() -> dict[str, CompiledRule]:
    """Every shipped rule by slug, playbook rules first (the order of :func:`load_rules`)."""
    key = cache_key()
    if key in _memo:
        return _memo[key]
    rules = _read(key)
    if rules is None:
        rules = _compile_all()
        _write(key, rules)
    _memo.clear()
    _memo[key] = rules
    return rules


def cache_key(files: list[Path] | None = None) -> str:
    """Digest of every input of the compiled form (cheap: a few small files and stat calls)."""
    h = hashlib.sha256(f"cabhunt-rules-{FORMAT}\0".encode())
    for path in files if files is not None else rule_files():
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    h.update((PIPELINE_DIR / f"{PIPELINE}.yml").read_bytes() + b"\0")
    here = Path(__file__).resolve().parent
    for name in _SOURCES:
        h.update((here / name).read_bytes() + b"\0")
    from cabhunt.schema import EVENT_COLUMNS

    h.update(json.dumps(EVENT_COLUMNS, sort_keys=True).encode() + b"\0")
    h.update(_sigma_fingerprint().encode())
    return h.hexdigest()


def cache_dir() -> Path:
    explicit = os.environ.get("CABHUNT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "cabhunt"


def _sigma_fingerprint() -> str:
    """The installed pySigma, without importing it (its import is what the cache avoids)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("sigma")
    except (ImportError, ValueError):
        return "no-sigma"
    if spec is None:
        return "no-sigma"
    parts: list[str] = []
    for location in spec.submodule_search_locations or []:
        pkg = Path(location)
        with contextlib.suppress(OSError):
            parts.extend(sorted(n for n in os.listdir(pkg.parent) if n.lower().startswith("pysigma-")))
        for name in ("rule.py", "types.py", "modifiers.py", "conditions.py", "rule"):
            with contextlib.suppress(OSError):
                st = (pkg / name).stat()
                parts.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
    return "|".join(parts)


def _compile_all() -> dict[str, CompiledRule]:
    from cabhunt.rules.compiler import RuleCompileError, sigma_conditions
    from cabhunt.rules.loader import load_pipeline, load_rules

    out: dict[str, CompiledRule] = {}
    for rule in load_rules():
        conditions: tuple[Any, ...] = ()
        error = None
        try:
            conditions = tuple(sigma_conditions(rule.sigma, rule.slug, load_pipeline(PIPELINE)))
        except RuleCompileError as exc:
            error = str(exc)
        out[rule.slug] = CompiledRule(
            slug=rule.slug,
            name=rule.name,
            playbook_id=rule.playbook_id,
            uuid=rule.uuid,
            path=rule.path,
            conditions=conditions,
            error=error,
        )
    return out


def _read(key: str) -> dict[str, CompiledRule] | None:
    doc = read_cached("rules", key)
    try:
        rules = [CompiledRule.from_json(d) for d in doc["rules"]] if doc is not None else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return {r.slug: r for r in rules} if rules is not None else None


def _write(key: str, rules: dict[str, CompiledRule]) -> None:
    write_cached("rules", key, {"rules": [r.to_json() for r in rules.values()]})


def read_cached(kind: str, key: str) -> dict[str, Any] | None:
    """The cached document of ``kind`` under ``key``; None when absent, unreadable, another key's,
    or a file someone else could have written (it may hold SQL that will be run): not the
    user's own, or writable by group or others."""
    path = cache_dir() / f"{kind}-{key[:32]}.json"
    try:
        st = path.stat()
        if (hasattr(os, "getuid") and st.st_uid != os.getuid()) or st.st_mode & 0o022:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("key") == key else None


def write_cached(kind: str, key: str, doc: dict[str, Any]) -> None:
    """Write atomically (a reader never sees half a file); files of ``kind`` under other keys
    unused for a day go. A cache that cannot be written is left alone."""
    target = cache_dir() / f"{kind}-{key[:32]}.json"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({**doc, "key": key})
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        now = time.time()
        for old in target.parent.glob(f"{kind}-*.json"):
            # Another install (or checkout) may use its own key right now: only old files go.
            with contextlib.suppress(OSError):
                if old != target and now - old.stat().st_mtime > STALE_AFTER_S:
                    old.unlink()
    except OSError:
        return


_KINDS = {"or", "and", "not", "isnull", "notnull", "never", "eq", "str", "anyof", "re", "cidr"}


def _checked(node: Any) -> tuple[Any, ...]:
    """A cached IR node, structurally validated (a damaged file must not become a wrong query)."""
    if not isinstance(node, list | tuple) or not node or node[0] not in _KINDS:
        raise ValueError(f"bad rule node {node!r}")
    kind = node[0]
    if kind in ("or", "and"):
        if len(node) != 2 or not isinstance(node[1], list | tuple) or not node[1]:
            raise ValueError(f"bad {kind} node")
        return (kind, [_checked(n) for n in node[1]])
    if kind == "not":
        if len(node) != 2:
            raise ValueError("bad not node")
        return ("not", _checked(node[1]))
    if not isinstance(node[1], str):
        raise ValueError("bad field")
    arity = {"isnull": 2, "notnull": 2, "never": 2, "eq": 4, "str": 5, "anyof": 4, "re": 5, "cidr": 4}[kind]
    if len(node) != arity:
        raise ValueError(f"bad {kind} node")
    out = tuple(node)
    if kind == "cidr":
        if not isinstance(node[2], list | tuple) or not node[2] or not all(isinstance(s, str) for s in node[2]):
            raise ValueError("bad cidr prefixes")
        out = (kind, node[1], list(node[2]), bool(node[3]))
    if kind == "anyof":
        tests = node[2]
        if not isinstance(tests, list | tuple) or not tests or not all(_is_test(t) for t in tests):
            raise ValueError("bad anyof tests")
        out = (kind, node[1], [list(t) for t in tests], bool(node[3]))
    if kind == "str" and not _is_test([node[2], node[3]]):
        raise ValueError("bad string test")
    return out


def _is_test(t: Any) -> bool:
    return (
        isinstance(t, list | tuple)
        and len(t) == 2
        and t[0] in ("eq", "contains", "startswith", "endswith")
        and isinstance(t[1], str)
    )
