"""axe-core (npm, pinned in tests/audits) on every page, in both themes: no serious or critical violation.

axe is put into each page by evaluating its source (no script tag: the pages' Content-Security-Policy stays on).
"""

import json
from pathlib import Path

import pytest

from tests.browser import log_in
from tests.look.conftest import DESKTOP, PHONES

AXE = Path(__file__).resolve().parents[1] / "audits" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: make system-deps")
    return AXE.read_text()


@pytest.mark.parametrize("theme, viewport", [("light", DESKTOP), ("dark", DESKTOP), ("light", PHONES[0])])
def test_no_page_has_a_serious_accessibility_violation(walk, axe_source, theme, viewport):
    found = {}
    for name, page in walk(theme=theme, viewport=viewport):
        page.wait_for_load_state("load")
        page.evaluate(axe_source + "\n;0")
        if violations := page.evaluate(RUN_AXE):
            found[name] = violations
    assert found == {}, json.dumps(found, indent=1)


def test_the_page_has_a_skip_link_and_landmarks(look_hub, browser):
    context, page = log_in(browser, look_hub.base)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # a visible focus
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    landmarks = page.evaluate("[...document.querySelectorAll('header.topbar, nav[aria-label], main, aside')]"
                              ".map((el) => el.tagName.toLowerCase())")  # fmt: skip
    assert {"header", "nav", "main", "aside"} <= set(landmarks)
