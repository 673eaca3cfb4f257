from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cabhunt.render.html import render_html
from tests.investigate.investigated import investigated


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI for the HTML report test")
        pytest.skip("chromium not installed")
    return exe


def _dump_dom(page: Path, tmp_path: Path) -> str:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'ud'}",
           "--dump-dom", page.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _text(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", dom, flags=re.S)))


def test_report_renders_in_chromium_with_verdict_and_findings(tmp_path: Path) -> None:
    alert, _ = investigated()
    page = tmp_path / "report.html"
    page.write_text(render_html(alert), encoding="utf-8")
    dom = _dump_dom(page, tmp_path)
    assert 'id="verdict"' in dom
    text = _text(dom)
    assert "MALICIOUS" in text
    for f in alert.findings:
        assert f.id in text, f.id
    assert "Why:" in text and "Process tree" in text and "Timeline" in text and "Actions" in text


def test_hostile_content_is_inert(tmp_path: Path) -> None:
    alert, _ = investigated("smb_raw_ip")
    alert.process["command_line"] = '<img src=x onerror="document.title=1"><script>document.title="pwned"</script>'
    page = tmp_path / "r.html"
    html = render_html(alert)
    assert "<script>" not in html and "<img" not in html
    page.write_text(html, encoding="utf-8")
    dom = _dump_dom(page, tmp_path)
    assert "pwned" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)  # type: ignore[union-attr]
    assert "&lt;script&gt;" in dom


def test_page_is_self_contained() -> None:
    alert, _ = investigated()
    html = render_html(alert)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "<script" not in html
