"""Squid's native access.log line: ``time elapsed client code/status bytes method URL user hier type``."""

from __future__ import annotations

from cabhunt.simulate.entities import Net


def render(rec: Net) -> bytes:
    ts, elapsed, client, code, size, method, url, user, hier, mime = rec.fields
    return f"{ts // 1000}.{ts % 1000:03d} {elapsed:>6} {client} {code} {size} {method} {url} {user} {hier} {mime}".encode()
