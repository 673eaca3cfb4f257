"""Throughput of the pure-Python LZX decoder (MB/s of output, one core) and peak RSS.

Cases:
  * every LZX folder of the shared fixture cabinets (large-files-cab.cab: real makecab LZX:21
    output, one 14.7 MB member, checked against expected.json);
  * the LZX:15 / LZX:21 folders inside that member (real makecab output; first frames only);
  * literal-heavy streams made with the test encoder from x86 code and Python source (closer to
    what an analyst meets in a dropped tool cabinet than makecab's highly repetitive fixtures),
    written as cabinets so ``cabextract -t`` can be timed on the same bytes when installed.

Run: PYTHONPATH=src:. CABHUNT_SHARED=/work/shared python bench/bench_lzx.py [--frames N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.cab.blocks import walk  # noqa: E402
from tests.cab.lzx_writer import encode, write_cab  # noqa: E402

from cabhunt.cab.lzx import LzxDecoder  # noqa: E402

SHARED = Path(os.environ.get("CABHUNT_SHARED", ROOT.parent / "shared"))
CAB_DIR = SHARED / "fixtures" / "cab"


def decode(blocks: list[tuple[bytes, int]], window_bits: int) -> tuple[bytes, float]:
    dec = LzxDecoder(window_bits)
    started = time.perf_counter()
    out = b"".join(dec.decompress(data, n) for data, n in blocks)
    return out, time.perf_counter() - started


def cabextract_seconds(path: Path) -> float | None:
    """Wall time of ``cabextract -t`` (None when not installed or when it reports an error)."""
    exe = shutil.which("cabextract")
    if exe is None:
        return None
    started = time.perf_counter()
    done = subprocess.run([exe, "-q", "-t", str(path)], capture_output=True, timeout=600, check=False)
    if done.returncode:
        print(f"cabextract -t failed on {path}: {done.stderr.decode(errors='replace').strip()}")
        return None
    return time.perf_counter() - started


def line(name: str, size: int, seconds: float, ref: float | None = None, note: str = "") -> None:
    rate = size / seconds / 1e6 if seconds else float("inf")
    extra = f"  cabextract -t {ref:.3f}s ({size / ref / 1e6:.0f} MB/s)" if ref else ""
    print(f"{name:<48} {size / 1e6:9.2f} MB {seconds:8.3f}s {rate:8.2f} MB/s{extra} {note}")


def fixture_cases(frames: int) -> None:
    expected = json.loads((CAB_DIR / "expected.json").read_text()) if (CAB_DIR / "expected.json").exists() else {}
    for path in sorted(CAB_DIR.rglob("*.cab")):
        rel = path.relative_to(CAB_DIR).as_posix()
        if "lzx-" in rel:  # deliberately broken streams
            continue
        try:
            folders, files = walk(path.read_bytes())
        except Exception:
            continue
        for index, folder in enumerate(folders):
            if folder.type_compress & 0xF != 3:
                continue
            bits = (folder.type_compress >> 8) & 0x1F
            out, secs = decode(folder.blocks, bits)
            members = {m["name"]: m["sha256"] for m in expected.get(rel, {}).get("members", [])}
            ok = all(
                hashlib.sha256(out[f.offset : f.offset + f.size]).hexdigest() == members.get(f.name)
                for f in files
                if f.folder == index
            )
            ref = cabextract_seconds(path) if len(out) > 1_000_000 else None
            line(f"{rel} #{index} LZX:{bits}", len(out), secs, ref, "sha256 ok" if ok else "SHA256 MISMATCH")
            if rel.endswith("large-files-cab.cab"):
                inner(out, frames)


def inner(member: bytes, frames: int) -> None:
    folders, _ = walk(member)
    for folder in folders:
        if folder.type_compress & 0xF == 3:
            bits = (folder.type_compress >> 8) & 0x1F
            out, secs = decode(folder.blocks[:frames], bits)
            line(f"  inner large-files.cab LZX:{bits} ({frames} frames)", len(out), secs)


def corpus() -> list[tuple[str, bytes]]:
    cases = []
    libc = Path("/usr/lib/x86_64-linux-gnu/libc.so.6")
    if libc.exists():
        cases.append(("x86-64 code (libc.so.6, 1 MiB)", libc.read_bytes()[: 1 << 20]))
    text = bytearray()
    for py in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        text += py.read_bytes()
        if len(text) >= 1 << 20:
            break
    cases.append(("Python source (stdlib, 1 MiB)", bytes(text[: 1 << 20])))
    # worst case for the decoder: no matches at all, one Huffman lookup per output byte
    cases.append(("random bytes (all literals, 512 KiB)", random.Random(1).randbytes(1 << 19)))
    return cases


def encoded_cases(tmp: Path) -> None:
    for name, raw in corpus():
        started = time.perf_counter()
        frames = encode(raw, 21, types=[2, 1], block_size=1 << 17, e8_size=len(raw))
        enc_secs = time.perf_counter() - started
        cab = tmp / "bench.cab"
        cab.write_bytes(write_cab("bench.bin", len(raw), frames, 21))
        out, secs = decode(frames, 21)
        assert out == raw
        ratio = sum(len(d) for d, _ in frames) / len(raw)
        line(f"{name} LZX:21", len(raw), secs, cabextract_seconds(cab), f"ratio {ratio:.2f}, encode {enc_secs:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames of each inner 2 GB folder to decode")
    args = parser.parse_args()
    if CAB_DIR.is_dir():
        fixture_cases(args.frames)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS after fixture decoding {rss:.0f} MiB")
    else:
        print(f"no shared fixtures at {CAB_DIR}; skipping fixture cases")
    with tempfile.TemporaryDirectory() as tmp:
        encoded_cases(Path(tmp))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MiB (includes the test encoder's match index)")


if __name__ == "__main__":
    main()
