"""Host classification: is a UNC / WebDAV / URL host loopback, internal or external?

Scope drives scoring (``source.external``, ``net.external``) and the playbooks' "internal vs
external; prioritise raw IPs" step. Decisions, so that every consumer agrees:

* loopback: 127.0.0.0/8, ::1, ``localhost``, the IPv4-mapped loopback.
* internal: RFC 1918, RFC 6598 (100.64.0.0/10), RFC 4193 (fc00::/7), link-local
  (169.254.0.0/16, fe80::/10), 198.18.0.0/15 (benchmarking), single-label (NetBIOS) names,
  names under an internal domain suffix, and the operator's ``internal_cidrs``.
* documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are not
  routable, but examples, lab data and simulations use them to *stand for public addresses*,
  so they are classified **external** (``HostInfo.documentation`` says so).
* a fully qualified name that matches no internal suffix is ``unknown`` unless the operator
  configured internal domains (then anything else is ``external``) or it belongs to a public
  tunnelling/hosting service that attackers use for WebDAV (always ``external``).
* unspecified, multicast, reserved addresses and empty or malformed names: ``unknown``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cabhunt.model import Scope

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_INTERNAL_NETS: tuple[IpNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "198.18.0.0/15",
        "fc00::/7",
        "fe80::/10",
    )
)
_DOCUMENTATION_NETS: tuple[IpNetwork, ...] = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
DEFAULT_INTERNAL_SUFFIXES: tuple[str, ...] = ("local", "localdomain", "internal", "lan", "home.arpa", "intranet")
# Public services that hand out attacker-controlled WebDAV/HTTP endpoints.
PUBLIC_HOSTING_SUFFIXES: tuple[str, ...] = (
    "trycloudflare.com",
    "ngrok.io",
    "ngrok.app",
    "ngrok-free.app",
    "ngrok-free.dev",
    "serveo.net",
    "loca.lt",
    "localhost.run",
    "pinggy.io",
    "duckdns.org",
    "workers.dev",
    "pages.dev",
    "github.io",
    "githubusercontent.com",
    "dropboxusercontent.com",
    "webdav.yandex.ru",
    "4shared.com",
)

_LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,62})$", re.IGNORECASE)


@dataclass(frozen=True)
class NetworkConfig:
    """Operator knowledge of the estate: which names and networks are internal."""

    internal_domains: tuple[str, ...] = ()
    internal_cidrs: tuple[str, ...] = ()
    single_label_internal: bool = True
    _networks: tuple[IpNetwork, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        nets: list[IpNetwork] = []
        for cidr in self.internal_cidrs:
            try:
                nets.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
            except ValueError:
                continue  # a bad CIDR in a config file must not stop classification
        domains = tuple(_ascii_name(str(d).strip().strip(".").lower()) for d in self.internal_domains if str(d).strip(" ."))
        object.__setattr__(self, "_networks", tuple(nets))
        object.__setattr__(self, "internal_domains", domains)
        object.__setattr__(self, "internal_cidrs", tuple(str(c) for c in self.internal_cidrs))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> NetworkConfig:
        """Build from ``{internal_domains: [...], internal_cidrs: [...]}`` (missing keys = none)."""
        data = data or {}
        return cls(
            internal_domains=tuple(_as_strings(data.get("internal_domains"))),
            internal_cidrs=tuple(_as_strings(data.get("internal_cidrs"))),
            single_label_internal=bool(data.get("single_label_internal", True)),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> NetworkConfig:
        """Read the YAML file; raises ``InputError`` when it cannot be read or is not a mapping."""
        import yaml

        from cabhunt.errors import InputError

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InputError(f"cannot read network config: {exc}") from exc
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise InputError("network config must be a mapping with internal_domains / internal_cidrs")
        return cls.from_mapping(data)

    @property
    def networks(self) -> tuple[IpNetwork, ...]:
        return self._networks


def _ascii_name(name: str) -> str:
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def _as_strings(value: object) -> Iterable[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None]
    return [str(value)]


@dataclass(frozen=True)
class HostInfo:
    """What we know about a host name as written in a path or URL."""

    host: str  # as written (lower-cased, brackets and trailing dot removed)
    ip: str | None = None  # the address when the host is an IP literal (any spelling)
    ip_literal: bool = False
    scope: Scope = "unknown"
    documentation: bool = False  # address in a documentation range (classified external)
    single_label: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "ip": self.ip,
            "ip_literal": self.ip_literal,
            "scope": self.scope,
            "documentation": self.documentation,
            "single_label": self.single_label,
        }


def _parse_ipv4_loose(text: str) -> ipaddress.IPv4Address | None:
    """inet_aton-style IPv4 (``127.1``, ``0x7f.0.0.1``, ``2130706433``): Windows resolvers accept them."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if not part:
            return None
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:], 16) if len(part) > 2 else 0)
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            elif part.isdigit() and part.isascii():
                values.append(int(part))
            else:
                return None
        except ValueError:
            return None
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = 0
    for v in head:
        number = (number << 8) | v
    number = (number << (8 * (4 - len(head)))) | last
    try:
        return ipaddress.IPv4Address(number)
    except ValueError:
        return None


def decode_ipv6_literal_net(host: str) -> str | None:
    """``2001-db8--1.ipv6-literal.net`` → ``2001:db8::1`` (``s`` marks the zone: ``fe80--1s4`` → ``fe80::1%4``)."""
    lower = host.lower().rstrip(".")
    suffix = ".ipv6-literal.net"
    if not lower.endswith(suffix):
        return None
    body = lower[: -len(suffix)]
    if not body:
        return None
    if "s" in body:
        addr_part, _, zone = body.partition("s")
        text = addr_part.replace("-", ":") + "%" + zone
    else:
        text = body.replace("-", ":")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return None
    return text


def parse_ip(host: str) -> IpAddress | None:
    """The address a host string denotes when it is any IP literal form, else ``None``."""
    text = host.strip().strip("[]")
    if not text:
        return None
    decoded = decode_ipv6_literal_net(text)
    if decoded is not None:
        text = decoded
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if ":" in text:
        return None
    return _parse_ipv4_loose(text)


def scope_of_ip(ip: IpAddress, net: NetworkConfig | None = None) -> tuple[Scope, bool]:
    """(scope, in a documentation range) for an address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback", False
    cfg = net or NetworkConfig()
    for network in cfg.networks:
        if ip.version == network.version and ip in network:
            return "internal", False
    for network in _DOCUMENTATION_NETS:
        if ip.version == network.version and ip in network:
            return "external", True
    for network in _INTERNAL_NETS:
        if ip.version == network.version and ip in network:
            return "internal", False
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "unknown", False
    if ip.is_global:
        return "external", False
    return "internal", False  # other special-purpose, non-routable ranges


def _suffix_match(name: str, suffixes: Iterable[str]) -> bool:
    return any(name == s or name.endswith("." + s) for s in suffixes if s)


def classify_host(host: str, net: NetworkConfig | None = None) -> HostInfo:
    """Classify a host name or address; total: never raises, ``unknown`` when it cannot tell."""
    try:
        return _classify_host(host, net)
    except Exception:  # pragma: no cover - defensive: classification must be total
        return HostInfo(host=str(host))


def _classify_host(host: str, net: NetworkConfig | None) -> HostInfo:
    cfg = net or NetworkConfig()
    name = str(host).strip().strip("[]").rstrip(".").lower()
    if not name:
        return HostInfo(host=name)
    ip = parse_ip(name)
    if ip is not None:
        scope, doc = scope_of_ip(ip, cfg)
        return HostInfo(host=name, ip=str(ip), ip_literal=True, scope=scope, documentation=doc)
    if name in ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"):
        return HostInfo(host=name, scope="loopback", single_label="." not in name)
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")  # internationalised names: compare as punycode
        except UnicodeError:
            return HostInfo(host=name, single_label="." not in name)
    labels = name.split(".")
    if not all(_LABEL_RE.match(label) for label in labels):
        return HostInfo(host=name, single_label=len(labels) == 1)
    if len(labels) == 1:
        return HostInfo(host=name, scope="internal" if cfg.single_label_internal else "unknown", single_label=True)
    if _suffix_match(name, cfg.internal_domains):
        return HostInfo(host=name, scope="internal")
    if _suffix_match(name, PUBLIC_HOSTING_SUFFIXES):
        return HostInfo(host=name, scope="external")
    if _suffix_match(name, DEFAULT_INTERNAL_SUFFIXES):
        return HostInfo(host=name, scope="internal")
    return HostInfo(host=name, scope="external" if cfg.internal_domains else "unknown")
