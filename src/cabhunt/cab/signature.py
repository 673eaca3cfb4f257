"""Authenticode signature of a cabinet: the header-reserve pointer and the signer's subject.

A signed cabinet carries ``{u32 0x00100000, u32 sigOffset, u32 sigLen, ...}`` at the start of
the header reserve and a PKCS#7 SignedData blob at ``sigOffset`` (= cbCabinet, i.e. after the
cabinet proper). Verifying the signature needs a crypto library; an analyst first needs to know
whether there is one and who it claims to be from, which a small DER walk can tell.
"""

from __future__ import annotations

import struct
from typing import Any

from cabhunt.cab.reader import Cabinet

SIG_MAGIC = 0x00100000
OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")
OID_COMMON_NAME = bytes.fromhex("550403")
OID_ORGANIZATION = bytes.fromhex("55040a")
STRING_TAGS = {0x0C, 0x13, 0x14, 0x16, 0x1E, 0x1C}
MAX_DEPTH = 64


class DerError(ValueError):
    """The blob is not the DER we expect."""


def _tlv(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at ``pos``."""
    if pos + 2 > end:
        raise DerError("truncated element")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("high tag numbers are not used here")
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise DerError("unsupported length")
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise DerError("element runs past its parent")
    return tag, pos, pos + length


def _children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    pos = start
    while pos < end:
        tag, cs, ce = _tlv(buf, pos, end)
        out.append((tag, cs, ce))
        pos = ce
        if len(out) > 10000:
            raise DerError("too many elements")
    return out


def _string(buf: bytes, tag: int, cs: int, ce: int) -> str:
    raw = buf[cs:ce]
    if tag == 0x1E:
        return raw.decode("utf-16-be", "replace")
    if tag == 0x1C:
        return raw.decode("utf-32-be", "replace")
    return raw.decode("utf-8", "replace")


def _name_attrs(buf: bytes, cs: int, ce: int) -> dict[str, str]:
    """CN and O of an X.501 Name."""
    found: dict[str, str] = {}
    for _t, rs, re_ in _children(buf, cs, ce):  # SET OF
        for _t2, as_, ae in _children(buf, rs, re_):  # AttributeTypeAndValue
            parts = _children(buf, as_, ae)
            if len(parts) != 2 or parts[0][0] != 0x06 or parts[1][0] not in STRING_TAGS:
                continue
            oid = buf[parts[0][1] : parts[0][2]]
            key = "cn" if oid == OID_COMMON_NAME else "o" if oid == OID_ORGANIZATION else None
            if key and key not in found:
                found[key] = _string(buf, *parts[1])
    return found


def _certificate(buf: bytes, cs: int, ce: int) -> dict[str, Any]:
    tbs = _children(buf, cs, ce)[0]
    fields = _children(buf, tbs[1], tbs[2])
    if fields and fields[0][0] == 0xA0:
        fields = fields[1:]
    serial, issuer, validity, subject = fields[0], fields[2], fields[3], fields[4]
    times = [buf[s:e].decode("ascii", "replace") for _t, s, e in _children(buf, validity[1], validity[2])]
    return {
        "serial": buf[serial[1] : serial[2]].hex(),
        "subject": _name_attrs(buf, subject[1], subject[2]),
        "issuer": _name_attrs(buf, issuer[1], issuer[2]),
        "not_before": times[0] if times else None,
        "not_after": times[1] if len(times) > 1 else None,
    }


def parse_pkcs7(blob: bytes) -> dict[str, Any]:
    """Certificates and signer of a PKCS#7 SignedData blob (no cryptographic verification).

    Raises only :class:`DerError`.
    """
    try:
        return _parse_pkcs7(blob)
    except IndexError as exc:
        raise DerError(f"structure ends early: {exc}") from exc


def _parse_pkcs7(blob: bytes) -> dict[str, Any]:
    tag, cs, ce = _tlv(blob, 0, len(blob))
    top = _children(blob, cs, ce)
    if tag != 0x30 or len(top) < 2 or top[0][0] != 0x06 or blob[top[0][1] : top[0][2]] != OID_SIGNED_DATA:
        raise DerError("not a PKCS#7 SignedData ContentInfo")
    signed = _children(blob, top[1][1], top[1][2])[0]
    parts = _children(blob, signed[1], signed[2])
    certs: list[dict[str, Any]] = []
    signer_serials: list[str] = []
    for ptag, ps, pe in parts[3:]:
        if ptag == 0xA0:
            for _t, s, e in _children(blob, ps, pe):
                try:
                    certs.append(_certificate(blob, s, e))
                except (DerError, IndexError):
                    continue
        elif ptag == 0x31:
            for _t, s, e in _children(blob, ps, pe):
                info = _children(blob, s, e)
                if len(info) > 1 and info[1][0] == 0x30:
                    sid = _children(blob, info[1][1], info[1][2])
                    if len(sid) == 2:
                        signer_serials.append(blob[sid[1][1] : sid[1][2]].hex())
    signer = next((c for c in certs if c["serial"] in signer_serials), None)
    return {"certificates": certs, "signer": signer}


def signature_info(cab: Cabinet) -> dict[str, Any]:
    """Whether the cabinet is Authenticode-signed, where the blob is, and the signer's subject."""
    res = cab.header.header_reserve
    info: dict[str, Any] = {"present": False, "offset": None, "length": None, "signer": None, "error": None}
    if len(res) < 12:
        return info
    magic, offset, length = struct.unpack_from("<III", res, 0)
    if magic != SIG_MAGIC:
        return info
    info.update(present=True, offset=offset, length=length)
    if offset != cab.header.cb_cabinet:
        info["error"] = f"signature offset {offset} is not the cabinet end {cab.header.cb_cabinet}"
    start = cab.base + offset
    if length == 0 or start + length > cab.file_size:
        info["error"] = f"signature blob of {length} bytes at {offset} is outside the file"
        return info
    blob = cab.slice(start, length)
    try:
        parsed = parse_pkcs7(blob)
    except DerError as exc:
        info["error"] = f"signature blob is not parseable PKCS#7: {exc}"
        return info
    signer = parsed["signer"]
    info["signer"] = signer
    info["certificates"] = [
        {"subject": c["subject"], "issuer": c["issuer"], "not_before": c["not_before"], "not_after": c["not_after"]}
        for c in parsed["certificates"]
    ]
    info["signer_cn"] = signer["subject"].get("cn") if signer else None
    return info
