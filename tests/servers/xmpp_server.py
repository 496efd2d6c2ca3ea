"""A throwaway Prosody (Debian package) for tests and benchmarks: loopback only, plaintext, in-memory PubSub.

``ProsodyServer(directory).start()`` writes its own config, runs ``prosody -F`` and waits for the port;
``register(user, password)`` creates an account. See ../shared/notes/xmpp.md for why each setting is there.
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from .processes import free_port, output_of, spawn, stop

DOMAIN = "chorus.test"
PUBSUB_DOMAIN = f"pubsub.{DOMAIN}"
PASSWORD = "xmpp secret"  # of the test accounts (the suite's ``prosody`` fixture registers them with it)

_CONFIG = """
run_as_root = true
admins = {{ "alice@{domain}" }}  -- may create nodes on the PubSub service
daemonize = false
pidfile = "{data}/prosody.pid"
data_path = "{data}"
certificates = "{data}/certs"
log = {{ {{ levels = {{ min = "warn" }}, to = "console" }} }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ }}
component_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
modules_disabled = {{ "s2s" }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
allow_registration = true
min_seconds_between_registrations = 0
limits = {{ c2s = {{ rate = "10mb/s" }} }}
network_settings = {{ nagle = false }}
storage = {{ pep_data = "memory"; pubsub_data = "memory" }}
modules_enabled = {{ "roster", "saslauth", "disco", "register", "pep", "ping", "presence", "message", "iq" }}
pep_max_items = 256

VirtualHost "{domain}"
Component "{pubsub_domain}" "pubsub"
    pubsub_max_items = 256
"""


def prosody_available() -> bool:
    return shutil.which("prosody") is not None and shutil.which("prosodyctl") is not None


class ProsodyServer:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.port = free_port()
        self.config = self.directory / "prosody.cfg.lua"
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 20.0) -> "ProsodyServer":
        data = self.directory / "data"
        (data / "certs").mkdir(parents=True, exist_ok=True)
        self.config.write_text(_CONFIG.format(data=data, port=self.port, domain=DOMAIN, pubsub_domain=PUBSUB_DOMAIN))
        self.process = spawn(["prosody", "--config", str(self.config), "-F"], env=dict(os.environ), cwd=self.directory)
        deadline = time.monotonic() + timeout  # a misconfigured Prosody hangs instead of exiting
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prosody exited: {output_of(self.process)}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"prosody did not listen on {self.port} within {timeout} s")

    def register(self, user: str, password: str) -> str:
        """Create ``user@DOMAIN`` (idempotent) and return the JID."""
        subprocess.run(
            ["prosodyctl", "--config", str(self.config), "register", user, DOMAIN, password],
            check=True, capture_output=True, timeout=30, env={**os.environ, "HOME": str(self.directory)},
        )  # fmt: skip
        return f"{user}@{DOMAIN}"

    def stop(self) -> None:
        if self.process:
            stop(self.process)


def running_prosody(directory: Path, *, users: list[str], password: str):
    """A started server with these accounts, for a session fixture (``yield from``); skips when Prosody is not
    installed (fails under ``CI=true``)."""
    import pytest

    if not prosody_available():
        if os.environ.get("CI") == "true":
            pytest.fail("prosody is missing: `make test` installs it (apt-get install prosody lua-unbound)")
        pytest.skip("prosody is not installed (apt-get install prosody lua-unbound)")
    server = ProsodyServer(directory).start()
    for user in users:
        server.register(user, password)
    yield server
    server.stop()


def hub_settings(settings, server: ProsodyServer, password: str) -> str:
    """Point Django's ``settings`` (pytest-django's fixture) at ``hub@DOMAIN`` on ``server``; returns the JID."""
    settings.CHORUS_XMPP_JID, settings.CHORUS_XMPP_PASSWORD = f"hub@{DOMAIN}", password
    settings.CHORUS_XMPP_HOST, settings.CHORUS_XMPP_PORT, settings.CHORUS_XMPP_TLS = "127.0.0.1", server.port, False
    return settings.CHORUS_XMPP_JID
