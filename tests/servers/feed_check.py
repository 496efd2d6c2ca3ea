"""The second parser of the hub's published feeds: npm feedparser (tests/servers/feedcheck/check.js) in strict XML
mode, on the feed's bytes. ``read_feed`` returns what it understood: ``errors``, ``warnings``, ``meta``, ``items``."""

import json
import subprocess

from .node_packages import SERVERS, require_node_package


def read_feed(body: bytes, *, url: str = "") -> dict:
    node = require_node_package("feedcheck", "feedparser", needed_by="the second-parser feed tests")
    result = subprocess.run([node, "check.js", url], input=body, capture_output=True, cwd=SERVERS / "feedcheck",
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return json.loads(result.stdout)
