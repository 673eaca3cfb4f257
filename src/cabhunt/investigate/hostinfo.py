"""Host classification for investigation: ``cabhunt.windows.classify_host`` when available.

The fallback only distinguishes what the address itself says (IP literal, private/loopback
ranges, single-label or well-known internal suffixes) so steps keep working on partial installs.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

INTERNAL_SUFFIXES = (".local", ".lan", ".corp", ".internal", ".intranet", ".home.arpa", ".localdomain", ".ad")


# Organisation-internal ranges (RFC 1918, CGNAT, ULA); documentation ranges count as external.
INTERNAL_NETS = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                        "100.64.0.0/10", "fc00::/7"))


@dataclass(frozen=True)
class Host:
    name: str
    scope: str  # loopback | internal | external | unknown
    ip_literal: bool


def _ipv6_literal(host: str) -> str | None:
    m = re.fullmatch(r"([0-9a-f-]+)(s[0-9a-z]+)?\.ipv6-literal\.net", host, re.I)
    return m.group(1).replace("-", ":") if m else None


def classify(host: str | None, net: Any = None) -> Host:
    h = (host or "").strip().strip("[]")
    if not h:
        return Host("", "unknown", False)
    try:
        from cabhunt.windows import classify_host

        info = classify_host(h, net)
        return Host(h, str(getattr(info, "scope", "unknown") or "unknown"), bool(getattr(info, "ip_literal", False)))
    except ImportError:
        pass
    except Exception:  # a classification problem must not stop the investigation
        pass
    literal = _ipv6_literal(h) or h.split("@", 1)[0]
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        lh = literal.lower().rstrip(".")
        if lh in ("localhost",):
            return Host(h, "loopback", False)
        if "." not in lh or lh.endswith(INTERNAL_SUFFIXES):
            return Host(h, "internal", False)
        return Host(h, "unknown", False)
    if ip.is_loopback:
        return Host(h, "loopback", True)
    if any(ip in n for n in INTERNAL_NETS if n.version == ip.version) or ip.is_link_local:
        return Host(h, "internal", True)
    return Host(h, "external", True)


def is_ip(value: str | None) -> bool:
    try:
        ipaddress.ip_address((value or "").strip("[]"))
        return True
    except ValueError:
        return False
