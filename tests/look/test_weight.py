"""The timeline page stays lean: the stylesheets and scripts it loads weigh at most 60 KB compressed together."""

import gzip
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
BUDGET = 60 * 1024


def test_the_timelines_css_and_javascript_fit_in_60_kb_compressed(client, alice):
    client.force_login(alice)
    page = client.get("/").content.decode()
    files = re.findall(r'<(?:script src|link rel="stylesheet" href)="/static/([^"]+)"', page)
    assert "chorus.css" in files and "look.js" in files
    weight = sum(len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in files)
    assert weight <= BUDGET, f"{weight} bytes compressed: {files}"
