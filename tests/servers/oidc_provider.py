"""Runs the real OpenID Connect provider of tests/servers/oidc/ (npm oidc-provider on Node) on loopback for a test.

`make test` installs its packages (`npm ci` in tests/servers/oidc); where Node or the packages are missing the tests say so
and skip, and fail under CI=true.
"""

import json
import os
import subprocess
from pathlib import Path

from .node_packages import require_node_package
from .processes import free_port, spawn, stop, wait_for_port

OIDC_DIR = Path(__file__).resolve().parent / "oidc"


def require_oidc_provider() -> str:
    """The path of `node`, or skip (fail under CI) when the provider cannot run here."""
    return require_node_package("oidc", "oidc-provider", needed_by="the OpenID Connect provider tests")


class OIDCProvider:
    """One oidc-provider process. ``accounts`` maps a login to its claims; ``clients`` are the relying
    parties it knows (client_id, client_secret, redirect_uris)."""

    def __init__(self, *, clients: list[dict], accounts: dict[str, dict], port: int | None = None) -> None:
        self.node = require_oidc_provider()
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.clients = clients
        self.accounts = accounts
        self.process: subprocess.Popen | None = None

    def start(self) -> "OIDCProvider":
        env = dict(os.environ, OIDC_PORT=str(self.port), OIDC_CLIENTS=json.dumps(self.clients),
                   OIDC_ACCOUNTS=json.dumps(self.accounts))  # fmt: skip
        self.process = spawn([self.node, "provider.js"], cwd=OIDC_DIR, env=env)
        wait_for_port(self.port, timeout=20)
        return self

    def stop(self) -> str:
        output = stop(self.process) if self.process else ""
        self.process = None
        return output


def client(*, client_id: str, secret: str, redirect_uri: str) -> dict:
    return {"client_id": client_id, "client_secret": secret, "redirect_uris": [redirect_uri]}
