"""The npm packages the suite runs on Node (each pinned in a package.json + package-lock.json of its own folder
under tests/servers/, installed by `make system-deps`): where Node or a folder's packages are missing, the tests
that need them skip and say what to install, and fail under CI=true."""

import os
import shutil
from pathlib import Path

import pytest

SERVERS = Path(__file__).resolve().parent


def require_node_package(folder: str, package: str, *, needed_by: str) -> str:
    """The path of `node` when ``package`` is installed in tests/servers/``folder``; else skip (fail under CI)."""
    node = shutil.which("node")
    if node is None:
        missing = "Node.js (apt-get install nodejs)"
    elif not (SERVERS / folder / "node_modules" / package).is_dir():
        missing = f"the packages of tests/servers/{folder} (make system-deps, or npm ci in tests/servers/{folder})"
    else:
        return node
    if os.environ.get("CI") == "true":
        pytest.fail(f"{needed_by} need {missing}")
    pytest.skip(f"{needed_by} need {missing}")
