"""Client apps on a big timeline: a Mastodon home page and a Google Reader id list, beside our own timeline API.

    .venv/bin/python bench/apps.py [--iterations 200] [--reload]

Data: bench/timeline.py's loader (1,000 sources, 1,000,000 posts, the reader ``bench-heavy`` following all of
them, ``bench-light`` following 100), in this script's own database ``chorus_bench_apps``, kept between runs
while the row counts match. Every case is one whole request through Django in process (``django.test.Client``:
middleware, authentication, view, JSON), authenticated as its client would be:
- baseline, our timeline API: ``GET /api/v1/timeline?limit=40`` with an API token;
- Mastodon: ``GET /api/v1/timelines/home?limit=40`` with an OAuth access token (django-oauth-toolkit);
- Google Reader: ``GET .../stream/items/ids?s=user/-/state/com.google/reading-list&n=1000`` after ClientLogin
  with an app password.
The cases take turns, one request each per round, so a change in the machine's load falls on all of them alike.
Wall time per request (p50/p95), the time spent in SQL (execute_wrapper) and the statements per request. Goal:
each app case's p95 at most 2x the baseline's p95, in the same run.
"""

import argparse
import secrets
import time
from datetime import timedelta

from _setup import QueryTimer, banner, percentile, setup_django, verdict
from timeline import ensure_data

PAGE = 40
IDS = 1000
GOAL_RATIO = 2.0
GREADER = "/api/greader"
READING_LIST = "user/-/state/com.google/reading-list"


def oauth_token(user) -> str:
    """An access token of a registered app, as the code flow would leave it (read scope)."""
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_application_model

    app, _ = get_application_model().objects.get_or_create(
        name="bench/apps.py", defaults={"client_type": "confidential", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                        "authorization_grant_type": "authorization-code"})  # fmt: skip
    raw = secrets.token_urlsafe(32)
    get_access_token_model().objects.create(user=user, application=app, token=raw, scope="read",
                                            expires=timezone.now() + timedelta(days=1))  # fmt: skip
    return raw


def greader_auth(client, user) -> str:
    from accounts.app_passwords import issue_app_password

    password = issue_app_password(user=user, name="bench/apps.py")
    response = client.post(f"{GREADER}/accounts/ClientLogin", {"Email": user.get_username(), "Passwd": password})
    assert response.status_code == 200, response.content[:200]
    return dict(line.split("=", 1) for line in response.content.decode().splitlines())["Auth"]


def request_case(name: str, client, path: str, headers: dict, *, check) -> dict:
    """One case: ``call`` makes its request (checked once here: a full answer), timings gather in the dict."""

    def call():
        response = client.get(path, **headers)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        return response

    check(call())
    return {"name": name, "call": call, "wall": [], "db": [], "queries": 0}


def measure_in_turns(cases: list[dict], *, iterations: int, warmup: int = 20) -> None:
    from django.db import connection

    for _ in range(warmup):
        for case in cases:
            case["call"]()
    for _ in range(iterations):
        for case in cases:
            timer = QueryTimer()
            with connection.execute_wrapper(timer):
                started = time.perf_counter()
                case["call"]()
                case["wall"].append((time.perf_counter() - started) * 1000)
            case["db"].append(timer.seconds * 1000)
            case["queries"] = len(timer.queries)


def report(cases: list[dict]) -> None:
    print(f"   {'case':<58} {'p50 ms':>8} {'p95 ms':>8} {'sql p50':>8} {'queries':>8}")
    for case in cases:
        print(f"   {case['name']:<58} {percentile(case['wall'], 50):8.2f} {percentile(case['wall'], 95):8.2f} "
              f"{percentile(case['db'], 50):8.2f} {case['queries']:8d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--reload", action="store_true", help="reload the data even if it is there")
    args = parser.parse_args()

    database_url = setup_django(default_db="chorus_bench_apps")
    banner("bench/apps.py: Mastodon and Google Reader apps on a 1,000-source, 1,000,000-post timeline", database_url)
    heavy, _ = ensure_data(reload=args.reload)

    from django.test import Client

    from accounts.tokens import issue_token

    client = Client(HTTP_HOST="localhost")
    ours = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=heavy, name='bench/apps.py')}"}
    mastodon = {"HTTP_AUTHORIZATION": f"Bearer {oauth_token(heavy)}"}
    greader = {"HTTP_AUTHORIZATION": f"GoogleLogin auth={greader_auth(client, heavy)}"}

    def page_of(size):
        def check(response):
            body = response.json()
            assert len(body["items"] if isinstance(body, dict) else body) == size, "a full page"

        return check

    def ids_of(size):
        def check(response):
            assert len(response.json()["itemRefs"]) == size, "a full id list"

        return check

    baseline = request_case(f"ours: GET /api/v1/timeline?limit={PAGE}", client, f"/api/v1/timeline?limit={PAGE}",
                            ours, check=page_of(PAGE))  # fmt: skip
    apps = [
        request_case(f"Mastodon: GET /api/v1/timelines/home?limit={PAGE}", client,
                     f"/api/v1/timelines/home?limit={PAGE}", mastodon, check=page_of(PAGE)),
        request_case(f"Google Reader: stream/items/ids n={IDS}", client,
                     f"{GREADER}/reader/api/0/stream/items/ids?output=json&s={READING_LIST}&n={IDS}", greader,
                     check=ids_of(IDS)),
    ]  # fmt: skip
    measure_in_turns([baseline, *apps], iterations=args.iterations)
    report([baseline, *apps])
    ours_p95 = percentile(baseline["wall"], 95)
    for case in apps:
        ratio = percentile(case["wall"], 95) / ours_p95
        print(f"   goal: {case['name']}: p95 {ratio:.2f}x ours (<= {GOAL_RATIO}x) {verdict(ratio <= GOAL_RATIO)}")


if __name__ == "__main__":
    main()
