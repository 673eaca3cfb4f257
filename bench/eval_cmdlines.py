"""How many labelled makecab/diantz command lines each detection approach flags, per label.

Approaches: the public Sigma conditions re-implemented from their published logic (see
shared/reference/public-rules.md) versus cabhunt's parser (`analyze_job(...).flagged`: a cabinet
maker whose sources, directive files or SourceDir are remote, or whose cabinet is an ADS).

    PYTHONPATH=src python bench/eval_cmdlines.py [tests/windows/data/cmdlines.yaml] [--misses] [--repeat N]

It also prints analyze_job throughput over the set (repeated N times, default 20), DDF
interpreter throughput on a generated 50,000-line DDF, and the peak RSS of the process.
"""

from __future__ import annotations

import re
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from cabhunt.windows import analyze_job, interpret_ddf, split_command_line
from cabhunt.windows.paths import basename

DATA = Path(__file__).resolve().parents[1] / "tests" / "windows" / "data" / "cmdlines.yaml"
LABELS = ("malicious", "suspicious", "benign")

Entry = dict[str, Any]


def _contains_all(text: str, needles: list[str]) -> bool:
    low = text.lower()
    return all(n.lower() in low for n in needles)


def _image(entry: Entry) -> str:
    """The Sysmon Image field: given, or the System32 copy that argv[0] names."""
    if entry.get("image"):
        return str(entry["image"])
    argv = split_command_line(entry["cmdline"])
    name = basename(argv[0]) if argv else ""
    if name and "." not in name:
        name += ".exe"
    if argv and re.match(r"^[A-Za-z]:\\", argv[0]):
        return argv[0]
    return "C:\\Windows\\System32\\" + name


def sigma_diantz_remote_cab(e: Entry) -> bool:
    """SigmaHQ proc_creation_win_lolbin_diantz_remote_cab (185d7418)."""
    return _contains_all(e["cmdline"], ["diantz.exe", " \\\\", ".cab"])


def sigma_diantz_ads(e: Entry) -> bool:
    """SigmaHQ proc_creation_win_lolbin_diantz_ads (6b369ced)."""
    return _contains_all(e["cmdline"], ["diantz.exe", ".cab"]) and re.search(r":[^\\]", e["cmdline"]) is not None


def sigma_ads_makecab(e: Entry) -> bool:
    """SigmaHQ proc_creation_win_susp_alternate_data_streams (7f43c430), makecab branch."""
    return "txt:" in e["cmdline"].lower() and _contains_all(e["cmdline"], ["makecab ", ".cab"])


def sigma_public(e: Entry) -> bool:
    """Any merged SigmaHQ rule above."""
    return sigma_diantz_remote_cab(e) or sigma_diantz_ads(e) or sigma_ads_makecab(e)


_PR1243 = re.compile(r".*( \\\\)|(\S+:[^\\\s]+).*")


def sigma_pr1243(e: Entry) -> bool:
    """Closed PR #1243: Image endswith expand/extrac32/makecab AND the space-UNC-or-ADS regex."""
    image = _image(e).lower()
    if not image.endswith(("\\expand.exe", "\\extrac32.exe", "\\makecab.exe")):
        return False
    return _PR1243.search(e["cmdline"]) is not None


_PR6092 = re.compile(r"\\[^\\ ]+:[^\\/ ]")


def sigma_pr6092(e: Entry) -> bool:
    """Open PR #6092 makecab ADS: (Image endswith makecab.exe OR OFN makecab.exe) AND regex."""
    image = _image(e).lower()
    ofn = str(e.get("original_file_name") or "").lower()
    if not (image.endswith("\\makecab.exe") or ofn == "makecab.exe"):
        return False
    return _PR6092.search(e["cmdline"]) is not None


def cabhunt(e: Entry) -> bool:
    job = analyze_job(
        e["cmdline"],
        image=e.get("image"),
        original_file_name=e.get("original_file_name"),
        cwd=e.get("cwd"),
        drive_map=e.get("drive_map"),
    )
    return job.flagged


APPROACHES: dict[str, Callable[[Entry], bool]] = {
    "sigma diantz_remote_cab": sigma_diantz_remote_cab,
    "sigma diantz_ads": sigma_diantz_ads,
    "sigma ads (makecab branch)": sigma_ads_makecab,
    "sigma merged rules (any)": sigma_public,
    "sigma PR #1243 (historic best)": sigma_pr1243,
    "sigma PR #6092 (open, ADS)": sigma_pr6092,
    "cabhunt parser": cabhunt,
}


def load(path: Path) -> list[Entry]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(doc["lines"])


def evaluate(entries: list[Entry]) -> dict[str, dict[str, int]]:
    """{approach: {label: flagged count}}."""
    return {name: {lab: sum(1 for e in entries if e["label"] == lab and fn(e)) for lab in LABELS} for name, fn in APPROACHES.items()}


def main(argv: list[str]) -> int:
    positional = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] != "--repeat")]
    path = Path(positional[0]) if positional else DATA
    entries = load(path)
    totals = {lab: sum(1 for e in entries if e["label"] == lab) for lab in LABELS}
    start = time.perf_counter()
    results = evaluate(entries)
    elapsed = time.perf_counter() - start
    width = max(len(n) for n in APPROACHES) + 2
    header = "".join(f"{lab + ' (' + str(totals[lab]) + ')':>18}" for lab in LABELS)
    print(f"{len(entries)} labelled command lines from {path}")
    print(f"{'approach':<{width}}{header}")
    for name, counts in results.items():
        print(f"{name:<{width}}" + "".join(f"{counts[lab]:>18}" for lab in LABELS))
    print(f"(flagged lines per label; {elapsed * 1000:.1f} ms for all approaches)")
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 20
    start = time.perf_counter()
    for _ in range(repeat):
        for e in entries:
            cabhunt(e)
    jobs = repeat * len(entries)
    print(f"analyze_job: {jobs / (time.perf_counter() - start):,.0f} jobs/s ({jobs} jobs)")
    ddf = "".join(f".Set SourceDir=\\\\srv{i % 7}\\share\n" if i % 500 == 0 else f"dir\\file{i}.dll /unique=no\n" for i in range(50_000))
    start = time.perf_counter()
    result = interpret_ddf([("bench.ddf", ddf.encode("ascii"))], cwd="C:\\build")
    elapsed = time.perf_counter() - start
    print(f"interpret_ddf: {result.lines / elapsed:,.0f} lines/s ({result.lines} lines, {len(result.files)} files)")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS: {peak_kib / 1024:.1f} MiB")
    if "--misses" in argv:
        for e in entries:
            flagged = cabhunt(e)
            if (e["label"] == "malicious") != flagged and e["label"] != "suspicious":
                print(f"cabhunt {'missed' if not flagged else 'false positive'}: {e['cmdline']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
