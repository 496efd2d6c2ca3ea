"""Lighthouse (npm, pinned in tests/audits) on alice's timeline, with the Debian Chromium: accessibility, best
practices and performance each at least 95, with Lighthouse's own mobile defaults (a phone-sized screen, a
simulated slow network and a CPU slowed four times).

One run. Performance is timed on a shared machine, where other processes' load alone moved it from 99 to 85: a
first run under 95 is followed by two performance-only runs, and the median of the three is what counts (what
Lighthouse's documentation advises against variance)."""

import json
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, log_in

LIGHTHOUSE = Path(__file__).resolve().parents[1] / "audits" / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("accessibility", "best-practices", "performance")


def lighthouse(url: str, *, cookie: str, categories: tuple[str, ...], folder: Path) -> dict:
    report = folder / "lighthouse.json"
    run = subprocess.run(
        ["node", str(LIGHTHOUSE), url, f"--output-path={report}", "--output=json", "--quiet",
         f"--only-categories={','.join(categories)}", f"--extra-headers={json.dumps({'Cookie': cookie})}",
         "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-background-networking --no-first-run"],
        env={"CHROME_PATH": CHROMIUM, "PATH": "/usr/bin:/bin", "HOME": str(folder)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(report.read_text())
    assert result["finalDisplayedUrl"] == url  # signed in: not sent to the sign-in page
    return result


def score(result: dict, category: str) -> int:
    return round(result["categories"][category]["score"] * 100)


def test_the_timeline_scores_at_least_95_in_lighthouse(look_hub, browser, tmp_path):
    if not LIGHTHOUSE.exists() or not shutil.which("node"):
        pytest.skip("Lighthouse is not installed: make system-deps")
    context, _ = log_in(browser, look_hub.base)
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies() if c["name"] == "sessionid")
    url = look_hub.base + "/"
    result = lighthouse(url, cookie=cookie, categories=CATEGORIES, folder=tmp_path)
    scores = {name: score(result, name) for name in CATEGORIES}
    failing = {audit["id"]: audit.get("displayValue") or audit["title"] for audit in result["audits"].values()
               if audit.get("score") is not None and audit["score"] < 0.9 and audit["scoreDisplayMode"] != "informative"}  # fmt: skip
    print(scores, failing)
    if scores["performance"] < 95:
        again = [score(lighthouse(url, cookie=cookie, categories=("performance",), folder=tmp_path), "performance")
                 for _ in range(2)]  # fmt: skip
        print("performance again:", again)
        scores["performance"] = statistics.median([scores["performance"], *again])
    assert min(scores.values()) >= 95, (scores, failing)
