"""Secrets left in configuration members: passwords, connection strings, private keys, AWS keys.

Only the member, the line number and a redacted preview are reported; a secret's value never
leaves this module whole (the first two characters and the length are enough to recognise it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_HITS = 50
MAX_SCAN = 4 << 20
PREVIEW = 120

PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("private_key", re.compile(r"-----BEGIN ((?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----"), 0),
    ("aws_access_key_id", re.compile(r"\b((?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16})\b"), 1),
    ("aws_secret_access_key", re.compile(r"(?i)aws_?secret_?(?:access_?)?key\W{0,4}([A-Za-z0-9/+=]{40})\b"), 1),
    ("connection_string_password", re.compile(
        r"(?i)(?:server|data source|host|dsn)\s*=[^;\"'\n]*;[^\n]*?\b(?:password|pwd)\s*=\s*([^;\"'\n<]+)"), 1),
    ("password", re.compile(
        r"(?i)\b(?:pass(?:word|wd)?|pwd|passphrase)\b[\"']?\s*(?:[:=]|value\s*=)\s*[\"']?([^\s\"'<>;,]{3,})"), 1),
    ("api_token", re.compile(
        r"(?i)\b(?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token)\b[\"']?\s*[:=]\s*"
        r"[\"']?([A-Za-z0-9_\-./+=]{16,})"), 1),
]
PLACEHOLDERS = re.compile(r"^(\$\{.*\}|%.*%|\$\(.*\)|<.*>|\*+|x+|changeme|password|none|null|true|false|\{\d+\})$", re.I)


@dataclass
class SecretHit:
    kind: str
    line: int
    preview: str

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "line": self.line, "preview": self.preview}


def redact(value: str) -> str:
    keep = value[:2] if len(value) > 6 else ""
    return f"{keep}***({len(value)} chars)"


KEYWORDS = ("pass", "pwd", "secret", "token", "api_key", "apikey", "api-key", "private key",
            "akia", "asia", "agpa", "aida", "aroa")


def _candidate_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines holding a keyword: a str.find pass before the regexes."""
    low = text.lower()
    positions: list[int] = []
    for kw in KEYWORDS:
        pos = low.find(kw)
        while pos >= 0 and len(positions) < MAX_HITS * 20:
            positions.append(pos)
            pos = low.find(kw, pos + len(kw))
    out: list[tuple[int, str]] = []
    last_end = -1
    number = 1
    counted = 0
    for at in sorted(positions):
        if at < last_end:
            continue
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        number += text.count("\n", counted, start)
        counted = start
        out.append((number, text[start:end].rstrip("\r")))
        last_end = end
    return out


def scan_text(text: str) -> list[SecretHit]:
    """Every secret-looking value, with its line and that line's preview with *all* values redacted."""
    hits: list[SecretHit] = []
    for number, line in _candidate_lines(text[:MAX_SCAN]):
        if len(hits) >= MAX_HITS:
            break
        found: list[tuple[int, int, str, str]] = []  # start, end, kind, replacement
        for kind, pattern, group in PATTERNS:
            for m in pattern.finditer(line):
                value = m.group(group)
                if group and PLACEHOLDERS.match(value.strip()):
                    continue
                start, end = m.span(group)
                found.append((start, end, kind, redact(value) if group else value))
        if not found:
            continue
        found.sort()
        preview, pos, kinds = [], 0, []
        for start, end, kind, replacement in found:
            if start < pos:
                continue  # the same value matched by two patterns
            preview.append(line[pos:start] + replacement)
            pos = end
            kinds.append(kind)
        preview.append(line[pos:])
        text_preview = "".join(preview).strip()[:PREVIEW]
        for kind in dict.fromkeys(kinds):
            hits.append(SecretHit(kind, number, text_preview))
    return hits[:MAX_HITS]
