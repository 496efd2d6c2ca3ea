"""Lighthouse (npm, pinned in tests/audits) on alice's timeline, with the Debian Chromium signed in as her (her
session cookie in its profile, so the live socket opens as in her browser): accessibility, best practices and
performance each at least 95, with Lighthouse's own mobile defaults (a phone-sized screen, a simulated slow
network and a CPU slowed four times).

One run. Performance is timed against the machine: other processes' load alone moved it from 99 to 79-85, so
the test is marked ``alone`` (``make test`` runs it after the rest, on one process). A
first run under 95 is followed by two performance-only runs, and the median of the three is what counts (what
Lighthouse's documentation advises against variance). Those two slow the CPU as Lighthouse's throttling
documentation says to on a host slower than the high-end desktop its 4x is calibrated for (benchmarkIndex
1500-2000): by 4x the host's share of 1500, as the first run measured it, so the page is judged on the mid-tier
phone Lighthouse emulates rather than on a slower one. On a host at least that fast they run at 4x."""

import contextlib
import json
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in
from tests.servers.processes import free_port, wait_for_port

LIGHTHOUSE = Path(__file__).resolve().parents[1] / "audits" / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("accessibility", "best-practices", "performance")
SLOWDOWN = 4  # Lighthouse's default CPU slowdown, calibrated for a high-end desktop
HIGH_END_DESKTOP = 1500  # the lower end of that class's benchmarkIndex (Lighthouse's docs/throttling.md)


@contextlib.contextmanager
def signed_in_chromium(chromium, *, cookies: list[dict], folder: Path):
    """A headless Chromium of its own (Lighthouse drives it through its debugging port) holding alice's session
    cookie, so the page and its live socket are signed in as in her browser; yields the port."""
    port = free_port()
    process = subprocess.Popen([CHROMIUM, "--headless=new", f"--remote-debugging-port={port}",
                                f"--user-data-dir={folder / 'profile'}", *CHROMIUM_ARGS, "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(port)
        remote = chromium.browser_type.connect_over_cdp(f"http://127.0.0.1:{port}")
        remote.contexts[0].add_cookies(cookies)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def lighthouse(url: str, *, port: int, categories: tuple[str, ...], folder: Path, slowdown: float = SLOWDOWN) -> dict:
    """One Lighthouse run's report. A run that lost its trace (``NO_NAVSTART`` and the like, seen when the
    machine is loaded) is run again once, as Lighthouse's own message asks."""
    report = folder / "lighthouse.json"
    for attempt in range(2):
        run = subprocess.run(
            ["node", str(LIGHTHOUSE), url, f"--port={port}", f"--output-path={report}", "--output=json", "--quiet",
             f"--only-categories={','.join(categories)}", f"--throttling.cpuSlowdownMultiplier={slowdown:.2f}"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(folder)}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if run.returncode == 0 or attempt or "Please run Lighthouse again" not in run.stderr:
            break
        print("Lighthouse asked to be run again:", run.stderr[-500:])
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(report.read_text())
    assert result["finalDisplayedUrl"] == url  # signed in: not sent to the sign-in page
    return result


def score(result: dict, category: str) -> int:
    return round(result["categories"][category]["score"] * 100)


@pytest.mark.alone
def test_the_timeline_scores_at_least_95_in_lighthouse(look_hub, browser, tmp_path):
    if not LIGHTHOUSE.exists() or not shutil.which("node"):
        pytest.skip("Lighthouse is not installed: make system-deps")
    context, _ = log_in(browser, look_hub.base)
    url = look_hub.base + "/"
    with signed_in_chromium(browser.chromium, cookies=context.cookies(), folder=tmp_path) as port:
        scores, failing = audit(url, port=port, folder=tmp_path)
    assert min(scores.values()) >= 95, (scores, failing)


def audit(url: str, *, port: int, folder: Path) -> tuple[dict, dict]:
    result = lighthouse(url, port=port, categories=CATEGORIES, folder=folder)
    scores = {name: score(result, name) for name in CATEGORIES}
    failing = {check["id"]: check.get("displayValue") or check["title"] for check in result["audits"].values()
               if check.get("score") is not None and check["score"] < 0.9 and check["scoreDisplayMode"] != "informative"}  # fmt: skip
    print(scores, failing)
    if scores["performance"] < 95:
        slowdown = calibrated_slowdown(result["environment"]["benchmarkIndex"])
        again = [score(lighthouse(url, port=port, categories=("performance",), folder=folder, slowdown=slowdown),
                       "performance") for _ in range(2)]  # fmt: skip
        print(f"performance again at a {slowdown:.2f}x CPU slowdown:", again)
        scores["performance"] = statistics.median([scores["performance"], *again])
    return scores, failing


def calibrated_slowdown(benchmark_index: float) -> float:
    """Lighthouse's 4x on a host at least as fast as a high-end desktop; on a slower one, less by its share."""
    return SLOWDOWN * min(1.0, benchmark_index / HIGH_END_DESKTOP)
