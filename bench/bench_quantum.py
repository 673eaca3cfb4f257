"""Throughput of the pure-Python Quantum decoder (MB/s of output) and peak RSS.

Inputs: every Quantum folder of the shared fixtures (few and small: the largest is the 512 KiB
all-zero CVE-2010-2801 sample), plus larger synthetic folders made with the test-only encoder
(source text, an executable, random bytes) because no Quantum compressor is packaged. When
``cabextract`` is installed the same cabinets are timed with ``cabextract -t`` for comparison.

Run from the repository root:
    PYTHONPATH=src CABHUNT_SHARED=/work/shared python bench/bench_quantum.py [--size BYTES] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from tests.cab.blocks import walk  # noqa: E402
from tests.cab.qtm_reference import build_cab, encode_folder  # noqa: E402

from cabhunt.cab.quantum import QuantumDecoder  # noqa: E402

SHARED = Path(os.environ.get("CABHUNT_SHARED", REPO.parent / "shared"))
Blocks = list[tuple[bytes, int]]


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    """CPU seconds of this process and its children per run (the machine is shared: wall time is noisy)."""
    out = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.process_time()
        fn()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        out.append(time.process_time() - t + child)
    return out


def _best(fn: Callable[[], object], repeat: int) -> float:
    return min(_times(fn, repeat))


def _decode(bits: int, blocks: Blocks) -> bytes:
    dec = QuantumDecoder(bits)
    return b"".join(dec.decompress(d, n) for d, n in blocks)


def _cabextract(path: Path, repeat: int) -> float | None:
    exe = shutil.which("cabextract")
    if exe is None:
        return None

    def run() -> None:
        subprocess.run([exe, "-q", "-t", str(path)], capture_output=True, check=False)

    return _best(run, repeat)


def _fixture_folders() -> list[tuple[str, Path, int, Blocks]]:
    out = []
    root = SHARED / "fixtures" / "cab"
    for path in sorted(root.rglob("*.cab")) if root.exists() else []:
        try:
            folders, _ = walk(path.read_bytes())
        except Exception:
            continue
        for folder in folders:
            if folder.type_compress & 0xF == 2:
                bits = (folder.type_compress >> 8) & 0x1F
                try:
                    _decode(bits, folder.blocks)
                except Exception:
                    continue  # hostile samples: nothing to time
                out.append((path.relative_to(root).as_posix(), path, bits, folder.blocks))
    return out


def _synthetic(size: int) -> list[tuple[str, bytes]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = b"".join(p.read_bytes() for p in sorted(stdlib.glob("*.py")))[:size]
    binary = b""
    lib = Path(str(sysconfig.get_config_var("LIBDIR"))) / str(sysconfig.get_config_var("LDLIBRARY"))
    for cand in (lib, Path(sys.executable).resolve()):
        if cand.is_file():
            with cand.open("rb") as fh:
                fh.seek(cand.stat().st_size // 4)
                binary = fh.read(size)
            if len(binary) == size:
                break
    rng = random.Random(1)
    noise = bytes(rng.randrange(256) for _ in range(size // 4))
    return [("python source", text), ("shared library", binary), ("random", noise)]


def _decode_child(job: Path) -> None:
    """Time the decodes in a fresh process so its peak RSS is the decoder's, not the encoder's."""
    cases = pickle.loads(job.read_bytes())
    results = []
    for name, bits, blocks, repeat in cases:
        out = _decode(bits, blocks)  # warm-up, and the size check
        assert len(out) == sum(n for _, n in blocks)
        results.append((name, _times(lambda b=bits, bl=blocks: _decode(b, bl), repeat)))  # type: ignore[misc]
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"results": results, "peak_kib": _peak_rss_kib(), "maxrss_kib": maxrss}))


def _peak_rss_kib() -> int:
    """Peak RSS of this process. ru_maxrss can carry the parent's high-water mark over fork/exec
    on Linux, so prefer the kernel's per-address-space VmHWM when it is there."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1 << 20, help="bytes per synthetic corpus")
    ap.add_argument("--repeat", type=int, default=3, help="timing runs, best kept")
    ap.add_argument("--window", type=int, default=21)
    ap.add_argument("--decode-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.decode_child:
        _decode_child(args.decode_child)
        return

    rows: list[tuple[str, int, int, list[tuple[bytes, int]], Path | None]] = []
    cases = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_qtm_"))
    try:
        for name, path, bits, blocks in _fixture_folders():
            rows.append((name, bits, sum(n for _, n in blocks), blocks, path))
        for n, (name, data) in enumerate(_synthetic(args.size)):
            blocks = encode_folder(data, args.window)
            assert _decode(args.window, blocks) == data
            cab = tmp / f"synthetic{n}.cab"
            cab.write_bytes(build_cab(blocks, args.window))
            rows.append((f"synthetic {name} (window {args.window})", args.window, len(data), blocks, cab))
        for name, bits, _, blocks, _ in rows:
            cases.append((name, bits, blocks, args.repeat))
        job = tmp / "job.pickle"
        job.write_bytes(pickle.dumps(cases))
        child = subprocess.run(
            [sys.executable, __file__, "--decode-child", str(job)], capture_output=True, text=True, check=True
        )
        report = json.loads(child.stdout)
        times = dict(report["results"])

        print("MB/s = output bytes per CPU second: best and slowest of --repeat runs")
        print(
            f"{'input':44} {'out bytes':>10} {'in bytes':>9} {'py MB/s':>8} {'slowest':>8} "
            f"{'cabextract MB/s':>15}"
        )
        synth_out = 0
        synth_t = 0.0
        for name, _, size, blocks, path in rows:
            t = min(times[name])
            slow = max(times[name])
            c = _cabextract(path, args.repeat) if path else None
            if name.startswith("synthetic"):
                synth_out += size
                synth_t += t
            print(
                f"{name:44} {size:>10} {sum(len(d) for d, _ in blocks):>9} {size / t / 1e6:>8.2f} "
                f"{size / slow / 1e6:>8.2f} {(f'{size / c / 1e6:.1f}' if c else '-'):>15}"
            )
        if synth_t:
            print(f"synthetic overall: {synth_out / synth_t / 1e6:.2f} MB/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"peak RSS of the decoding process: {report['peak_kib'] / 1024:.1f} MiB (VmHWM; getrusage "
        f"ru_maxrss {report['maxrss_kib'] / 1024:.1f} MiB, which may include the parent's high-water mark)"
    )
    if shutil.which("cabextract") is None:
        print("cabextract not installed: comparison skipped")
    else:
        print("cabextract figures include its process start-up, so small inputs understate it")


if __name__ == "__main__":
    main()
