"""Host classification and NetworkConfig."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.errors import InputError
from cabhunt.windows.hosts import NetworkConfig, classify_host, decode_ipv6_literal_net, parse_ip


@pytest.mark.parametrize(
    ("host", "scope", "ip"),
    [
        ("127.0.0.1", "loopback", "127.0.0.1"),
        ("localhost", "loopback", None),
        ("::1", "loopback", "::1"),
        ("10.1.2.3", "internal", "10.1.2.3"),
        ("172.31.0.1", "internal", "172.31.0.1"),
        ("192.168.56.10", "internal", "192.168.56.10"),
        ("100.64.1.1", "internal", "100.64.1.1"),
        ("169.254.10.10", "internal", "169.254.10.10"),
        ("fd00::1", "internal", "fd00::1"),
        ("fe80::1", "internal", "fe80::1"),
        ("8.8.8.8", "external", "8.8.8.8"),
        ("203.0.113.5", "external", "203.0.113.5"),  # documentation range stands for public
        ("2001-db8--1.ipv6-literal.net", "external", "2001:db8::1"),
        ("[2606:4700::1111]", "external", "2606:4700::1111"),
        ("224.0.0.1", "unknown", "224.0.0.1"),
        ("0.0.0.0", "unknown", "0.0.0.0"),
        ("127.1", "loopback", "127.0.0.1"),  # inet_aton short form
        ("2130706433", "loopback", "127.0.0.1"),
        ("0x7f.0.0.1", "loopback", "127.0.0.1"),
        ("FILESERVER", "internal", None),
        ("files.trycloudflare.com", "external", None),
        ("printer.local", "internal", None),
        ("fs01.corp.example.com", "unknown", None),
        ("", "unknown", None),
        ("bad host!", "unknown", None),
    ],
)
def test_classify_host(host: str, scope: str, ip: str | None) -> None:
    info = classify_host(host)
    assert info.scope == scope
    assert info.ip == ip
    assert info.ip_literal == (ip is not None)


def test_documentation_flag() -> None:
    assert classify_host("198.51.100.7").documentation
    assert not classify_host("8.8.8.8").documentation


def test_ipv6_literal_net_zone() -> None:
    assert decode_ipv6_literal_net("fe80--1s4.ipv6-literal.net") == "fe80::1%4"
    assert decode_ipv6_literal_net("2001-db8--1.IPV6-LITERAL.NET") == "2001:db8::1"
    assert decode_ipv6_literal_net("nothex.ipv6-literal.net") is None
    assert decode_ipv6_literal_net("example.com") is None
    assert parse_ip("999.1.1.1") is None


def test_network_config_domains_and_cidrs() -> None:
    net = NetworkConfig(internal_domains=("corp.example.com", " .Lab.Example.ORG. "), internal_cidrs=("203.0.113.0/24", "garbage"))
    assert classify_host("fs01.corp.example.com", net).scope == "internal"
    assert classify_host("corp.example.com", net).scope == "internal"
    assert classify_host("x.lab.example.org", net).scope == "internal"
    assert classify_host("evilcorp.example.com", net).scope == "external"  # suffix match is by label
    assert classify_host("203.0.113.9", net).scope == "internal"
    assert classify_host("SERVER", NetworkConfig(single_label_internal=False)).scope == "unknown"


def test_network_config_from_file(tmp_path: Path) -> None:
    f = tmp_path / "net.yaml"
    f.write_text("internal_domains: [corp.example.com]\ninternal_cidrs:\n  - 198.51.100.0/24\n", encoding="utf-8")
    net = NetworkConfig.from_file(f)
    assert net.internal_domains == ("corp.example.com",)
    assert classify_host("198.51.100.1", net).scope == "internal"
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert NetworkConfig.from_file(empty) == NetworkConfig()
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(InputError):
        NetworkConfig.from_file(bad)
    with pytest.raises(InputError):
        NetworkConfig.from_file(tmp_path / "missing.yaml")


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_total(host: str) -> None:
    info = classify_host(host)
    assert info.scope in ("loopback", "internal", "external", "unknown")


def test_internationalised_names() -> None:
    info = classify_host("bücher.example")
    assert info.host == "xn--bcher-kva.example"
    net = NetworkConfig(internal_domains=("Bücher.example",))
    assert classify_host("fs.bücher.example", net).scope == "internal"
    assert classify_host("\u2603" * 80).scope == "unknown"
