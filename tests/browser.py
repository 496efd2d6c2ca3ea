"""What the browser tests share: the embedded hub (`manage.py serve` on its own SQLite), started from a database
migrated once per run, and one headless Chromium for the whole run.

The fixtures (``browser``, ``embedded_hub``, ``embedded_databases``) live in tests/conftest.py; this module holds
what they are made of and the helpers the tests call (``log_in``, ``refresh_now``, ``LiveFeed``).
"""

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from werkzeug import Request, Response

from tests.servers.processes import embedded_env, free_port, manage, start_serve, stop

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
PASSWORD = "correct horse battery"
DATABASE = "chorus.sqlite3"  # the embedded hub's database file in its CHORUS_VAR_DIR


def require_chromium():
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing = "playwright"
    else:
        missing = None if CHROMIUM else "Debian chromium (apt-get install chromium)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need {missing}")
        pytest.skip(f"browser tests need {missing}")


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database (the hub runs it in WAL mode: the file alone may lag)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


class EmbeddedDatabases:
    """Migrated embedded-hub databases, made once per run and copied for each use.

    ``copy_to(var_dir)`` puts a freshly migrated database there; with ``seed`` (manage.py commands, each a tuple
    of arguments) the copy also holds what those commands wrote. A seeded database is made the first time its
    seed (and environment) is asked for, from the migrated one, and copied from then on: the commands must only
    depend on what they say (the feed servers' port is the same for the whole run).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._made: dict[tuple, Path] = {}

    def copy_to(self, var_dir: Path, *, seed: tuple[tuple[str, ...], ...] = (), environment: dict | None = None) -> None:
        var_dir.mkdir(parents=True, exist_ok=True)
        copy_database(self._template(tuple(seed), dict(environment or {})), var_dir / DATABASE)

    def _template(self, seed: tuple, environment: dict) -> Path:
        key = (seed, tuple(sorted(environment.items()))) if seed else ()
        if key not in self._made:
            migrated = self._template((), {}) if seed else None
            made = self.directory / f"template-{len(self._made)}"
            made.mkdir()
            if not seed:
                manage("migrate", "--noinput", env=embedded_env(made))
            else:
                copy_database(migrated, made / DATABASE)
                for command in seed:
                    manage(*command, env={**embedded_env(made), **environment})
            self._made[key] = made / DATABASE
        return self._made[key]


class Hub:
    """One embedded hub process on its own copy of a migrated database; ``base`` is its URL."""

    def __init__(self, var_dir: Path, *, port: int | None = None, environment: dict | None = None) -> None:
        self.var_dir = var_dir
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**embedded_env(var_dir), **(environment or {})}
        self.process = None

    def start(self) -> "Hub":
        self.process = start_serve(port=self.port, env=self.env, migrate=False)  # a copy of a migrated database
        return self

    def stop(self) -> str:
        return stop(self.process) if self.process else ""

    def restart(self, while_down=None) -> None:
        """Stop the hub, run ``while_down(env)`` (e.g. a poll by another process), start it again."""
        print(self.stop()[-2000:])
        if while_down:
            while_down(self.env)
        self.start()

    def sql(self, query: str, *params) -> list[tuple]:
        """Rows of a read-only query on the hub's database (what a second process of the hub would see)."""
        database = sqlite3.connect(f"file:{self.var_dir / DATABASE}?mode=ro", uri=True, timeout=10)
        try:
            return database.execute(query, params).fetchall()
        finally:
            database.close()


# Counts the page's open WebSockets in ``window.__openSockets`` (the page itself is unchanged): a socket is open
# once the hub accepted it, and the hub joins the socket to its groups before it accepts.
STREAM_PROBE = """
(() => {
  const Native = window.WebSocket;
  if (!Native) return;
  window.__openSockets = 0;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("open", () => { window.__openSockets += 1; });
      this.addEventListener("close", () => { window.__openSockets = Math.max(0, window.__openSockets - 1); });
    }
  };
})();
"""


class Browser:
    """The run's Chromium as a test sees it: contexts opened through it are closed after the test, so no page of
    one test keeps a socket or a poll going into the next one. Their pages count their open sockets
    (``wait_for_stream``)."""

    def __init__(self, chromium) -> None:
        self.chromium = chromium
        self.contexts = []

    def new_context(self, **options):
        context = self.chromium.new_context(**options)
        context.add_init_script(STREAM_PROBE)
        self.contexts.append(context)
        return context

    def close_contexts(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


class LiveFeed:
    """An RSS feed whose items the test can add to while the hub polls it."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, str]] = [("1", "first post", "", "")]

    def add(self, guid: str, title: str, *, author_uri: str = "", link: str = "") -> None:
        """A new item on top; ``author_uri``: its author (Atom ``author/uri``), what "Block <author>" blocks;
        ``link``: the original's address."""
        self.items.insert(0, (guid, title, author_uri, link))

    def __call__(self, request: Request) -> Response:
        body = "".join(
            f"<item><guid>{guid}</guid><title>{title}</title><description>{title}</description>"
            + (f"<link>{link}</link>" if link else "")
            + f"<pubDate>Mon, 23 Nov 2026 {10 + n // 60:02d}:{n % 60:02d}:00 GMT</pubDate>"
            + (f"<atom:author><atom:uri>{author_uri}</atom:uri></atom:author>" if author_uri else "")
            + "</item>"
            for n, (guid, title, author_uri, link) in enumerate(reversed(self.items))
        )
        xml = ('<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
               f"<title>Live feed</title>{body}</channel></rss>")  # fmt: skip
        return Response(xml, content_type="application/rss+xml")


def create_user(username: str) -> tuple[str, ...]:
    """A seed command: ``username`` with ``PASSWORD`` (and an address at example.org)."""
    return ("shell", "-c", "from django.contrib.auth.models import User;"
            f"User.objects.create_user('{username}', '{username}@example.org', '{PASSWORD}')")  # fmt: skip


def follow(username: str, address: str) -> tuple[str, ...]:
    """A seed command: ``username`` (created, with ``PASSWORD``) follows ``address``."""
    return ("shell", "-c", (
        "from django.contrib.auth.models import User; from aggregator.following.subscriptions import subscribe;"
        f"subscribe(user=User.objects.create_user('{username}', '{username}@example.org', '{PASSWORD}'),"
        f" address='{address}')"
    ))  # fmt: skip


def log_in(browser, base: str, *, username: str = "alice", init_script: str = "", streamed: bool = True,
           **context_options):  # fmt: skip
    """A new browser context (``context_options``: Playwright's, e.g. ``java_script_enabled=False``) where alice
    (or ``username``, with ``PASSWORD``) is logged in and on her timeline, its live stream open unless
    ``streamed`` is false. ``init_script`` runs in each of its pages before theirs."""
    context = browser.new_context(**context_options)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.goto(base + "/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    if streamed and context_options.get("java_script_enabled", True):
        wait_for_stream(page)
    return context, page


def wait_for_stream(page) -> None:
    """Until the page's live stream (/ws/stream/) is open: from then on the hub sends it what happens."""
    wait_for_js(page, "window.__openSockets > 0")


def wait_for_js(page, expression: str, *, timeout: int = 10_000) -> None:
    """Until ``expression`` is true in ``page``: Playwright's ``wait_for_function``, under our CSP.

    ``wait_for_function`` evaluates its predicate again on each check, which a policy without 'unsafe-eval'
    refuses; here the predicate is compiled once, as part of the evaluation itself, and checked in the page.
    """
    page.evaluate(f"""() => new Promise((resolve, reject) => {{
      const ends = performance.now() + {timeout};
      const check = () => {{
        if ({expression}) resolve(true);
        else if (performance.now() > ends) reject(new Error("timed out waiting for: " + {json.dumps(expression)}));
        else setTimeout(check, 20);
      }};
      check();
    }})""")


def refresh_now(context, base: str) -> None:
    """Press "Refresh now" on the source page, in another tab: the poll runs in the hub.

    The tab stays open: closing it while the POST is in flight hung ``page.close()`` (Chromium 156)."""
    other = context.new_page()
    other.goto(base + "/subscriptions/")
    other.click("a:has-text('Live feed')")
    other.click("button:has-text('Refresh now')")
    other.wait_for_selector("text=Refreshed.")  # the poll ran and the hub answered
