"""Builders for network-sensor records (Zeek logs and the Squid access log), fields in log order.

Two Zeek sensors watch the network: ``zeek-core`` (internal segments: SMB, DNS, client to proxy)
and ``zeek-edge`` (the internet uplink). The Squid proxy is transparent, so clients' own
connections name the real destination and the proxy logs the client address.
"""

from __future__ import annotations

import base64
import ipaddress
import random
from functools import lru_cache

from cabhunt.simulate.entities import Net
from cabhunt.simulate.fleet import CORE_SENSOR, EDGE_SENSOR

_ALNUM = str.maketrans({"+": "x", "/": "Q"})  # Zeek uids are base62; fold base64's two extra symbols

CONN_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
               "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
               "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents")
CONN_TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
              "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]")
DNS_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "rtt",
              "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name", "AA", "TC", "RD",
              "RA", "Z", "answers", "TTLs", "rejected")
DNS_TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "count", "interval", "string", "count",
             "string", "count", "string", "count", "string", "bool", "bool", "bool", "bool", "count",
             "vector[string]", "vector[interval]", "bool")
HTTP_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth", "method", "host",
               "uri", "referrer", "version", "user_agent", "origin", "request_body_len", "response_body_len",
               "status_code", "status_msg", "info_code", "info_msg", "tags", "username", "password", "proxied",
               "orig_fuids", "orig_filenames", "orig_mime_types", "resp_fuids", "resp_filenames",
               "resp_mime_types")
HTTP_TYPES = ("time", "string", "addr", "port", "addr", "port", "count", "string", "string", "string", "string",
              "string", "string", "string", "count", "count", "count", "string", "count", "string", "set[enum]",
              "string", "string", "set[string]", "vector[string]", "vector[string]", "vector[string]",
              "vector[string]", "vector[string]", "vector[string]")
SSL_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "cipher", "curve",
              "server_name", "resumed", "last_alert", "next_protocol", "established", "ssl_history",
              "cert_chain_fps", "client_cert_chain_fps", "sni_matches_cert")
SSL_TYPES = ("time", "string", "addr", "port", "addr", "port", "string", "string", "string", "string", "bool",
             "string", "string", "bool", "string", "vector[string]", "vector[string]", "bool")
SMB_MAPPING_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "path", "service",
                      "native_file_system", "share_type")
SMB_MAPPING_TYPES = ("time", "string", "addr", "port", "addr", "port", "string", "string", "string", "string")
SMB_FILES_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "fuid", "action", "path",
                    "name", "size", "prev_name", "times.modified", "times.accessed", "times.created",
                    "times.changed", "data_offset_req", "data_len_req", "data_len_rsp")
SMB_FILES_TYPES = ("time", "string", "addr", "port", "addr", "port", "string", "enum", "string", "string",
                   "count", "string", "time", "time", "time", "time", "count", "count", "count")

ZEEK_SCHEMAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conn": (CONN_FIELDS, CONN_TYPES),
    "dns": (DNS_FIELDS, DNS_TYPES),
    "http": (HTTP_FIELDS, HTTP_TYPES),
    "ssl": (SSL_FIELDS, SSL_TYPES),
    "smb_mapping": (SMB_MAPPING_FIELDS, SMB_MAPPING_TYPES),
    "smb_files": (SMB_FILES_FIELDS, SMB_FILES_TYPES),
}


_INTERNAL = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                     "127.0.0.0/8", "169.254.0.0/16",
                                                     "fc00::/7", "fe80::/10", "::1/128"))


@lru_cache(maxsize=65536)
def is_internal(ip: str) -> bool:
    """RFC 1918, loopback and link-local addresses (the simulated company's view of "internal")."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in _INTERNAL)


def sensor_for(a: str, b: str) -> str:
    return CORE_SENSOR if is_internal(a) and is_internal(b) else EDGE_SENSOR


def zeek_uid(rng: random.Random, lead: str = "C") -> str:
    return lead + base64.b64encode(rng.randbytes(13)).decode()[:17].translate(_ALNUM)


def conn(ts: int, uid: str, oh: str, op: int, rh: str, rp: int, proto: str, service: str | None,
         duration: float, ob: int, rb: int, state: str = "SF", history: str = "ShADadFf") -> Net:
    opk = max(1, ob // 1200 + 3)
    rpk = max(1, rb // 1400 + 2)
    return Net(ts, "conn", sensor_for(oh, rh), (
        ts, uid, oh, op, rh, rp, proto, service, round(duration, 6), ob, rb, state, is_internal(oh),
        is_internal(rh), 0, history, opk, ob + 40 * opk, rpk, rb + 40 * rpk, None))


def dns(ts: int, uid: str, oh: str, op: int, server: str, query: str, answers: list[str], ttls: list[float],
        trans_id: int, qtype: tuple[int, str] = (1, "A"), rcode: tuple[int, str] = (0, "NOERROR")) -> Net:
    return Net(ts, "dns", sensor_for(oh, server), (
        ts, uid, oh, op, server, 53, "udp", trans_id, 0.001 + (trans_id % 40) / 1000, query, 1, "C_INTERNET",
        qtype[0], qtype[1], rcode[0], rcode[1], False, False, True, True, 0, answers or None, ttls or None,
        False))


def http(ts: int, uid: str, oh: str, op: int, rh: str, rp: int, method: str, host: str, uri: str, ua: str,
         status: int, status_msg: str, resp_len: int, mime: str | None = None, req_len: int = 0,
         depth: int = 1, fuid: str | None = None) -> Net:
    return Net(ts, "http", sensor_for(oh, rh), (
        ts, uid, oh, op, rh, rp, depth, method, host, uri, None, "1.1", ua, None, req_len, resp_len, status,
        status_msg, None, None, None, None, None, None, None, None, None,
        [fuid] if fuid else None, None, [mime] if mime else None))


def ssl(ts: int, uid: str, oh: str, op: int, rh: str, rp: int, server_name: str | None,
        version: str = "TLSv13") -> Net:
    return Net(ts, "ssl", sensor_for(oh, rh), (
        ts, uid, oh, op, rh, rp, version, "TLS_AES_256_GCM_SHA384" if version == "TLSv13"
        else "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "x25519", server_name, False, None,
        "h2" if server_name else None, True, "CsiI" if version == "TLSv13" else "CsxirIJ", None, None,
        None))


def smb_mapping(ts: int, uid: str, oh: str, op: int, rh: str, path: str, share_type: str = "DISK") -> Net:
    return Net(ts, "smb_mapping", sensor_for(oh, rh), (
        ts, uid, oh, op, rh, 445, path, "A:" if share_type == "DISK" else "IPC", "NTFS" if share_type == "DISK"
        else None, share_type))


def smb_files(ts: int, uid: str, oh: str, op: int, rh: str, fuid: str, action: str, path: str, name: str,
              size: int, mtime_ms: int) -> Net:
    mt = mtime_ms
    return Net(ts, "smb_files", sensor_for(oh, rh), (
        ts, uid, oh, op, rh, 445, fuid, action, path, name, size, None, mt, mt, mt, mt, 0,
        size if action == "SMB::FILE_READ" else 0, size if action == "SMB::FILE_READ" else 0))


def squid(ts: int, elapsed_ms: int, client: str, code: str, status: int, size: int, method: str, url: str,
          peer: str, mime: str = "-") -> Net:
    return Net(ts, "squid", "proxy", (ts, elapsed_ms, client, f"{code}/{status}", size, method, url, "-",
                                      f"HIER_DIRECT/{peer}" if peer != "-" else "HIER_NONE/-", mime))
