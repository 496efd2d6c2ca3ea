"""OpenID Connect providers from the environment, for ``settings.SOCIALACCOUNT_PROVIDERS``.

``CHORUS_OIDC_PROVIDERS`` is a JSON list; each item names one issuer::

    [{"id": "work", "name": "Work account", "issuer": "https://id.example.org",
      "client_id": "chorus", "secret": "..."}]

Optional keys: ``pkce`` (default true), ``token_auth_method`` (``client_secret_post`` or
``client_secret_basic``; default: what the issuer's discovery document offers), ``scope`` (list; default
``openid profile email``) and ``trust_email`` (default true: a login whose email the provider marks verified
may land in the account that has the same address verified; false: never).

Imported by settings.py, so it must not import Django models. A bad value stops start-up with a message.
"""

import json
import re
from urllib.parse import urlsplit

from aggregator.env import SettingError

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_REQUIRED = ("id", "name", "issuer", "client_id", "secret")
_OPTIONAL = {"pkce", "token_auth_method", "scope", "trust_email"}
_AUTH_METHODS = {"client_secret_post", "client_secret_basic"}


def oidc_apps_from_env(raw: str, *, variable: str = "CHORUS_OIDC_PROVIDERS") -> list[dict]:
    """The allauth ``openid_connect`` APPS list for the JSON in ``raw`` (empty when ``raw`` is blank)."""
    if not raw.strip():
        return []
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as error:
        raise SettingError(f"{variable} is not valid JSON: {error}") from None
    if not isinstance(items, list):
        raise SettingError(f"{variable} must be a JSON list of providers")
    apps = [_app(item, where=f"{variable}[{n}]") for n, item in enumerate(items)]
    ids = [app["provider_id"] for app in apps]
    if len(set(ids)) != len(ids):
        raise SettingError(f"{variable}: provider ids must be unique, got {ids}")
    return apps


def _app(item: object, *, where: str) -> dict:
    if not isinstance(item, dict):
        raise SettingError(f"{where} must be an object")
    missing = [key for key in _REQUIRED if not isinstance(item.get(key), str) or not item[key].strip()]
    if missing:
        raise SettingError(f"{where} needs non-empty strings for {', '.join(missing)}")
    unknown = set(item) - set(_REQUIRED) - _OPTIONAL
    if unknown:
        raise SettingError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    if not _ID.fullmatch(item["id"]):
        raise SettingError(f"{where}: id {item['id']!r} must be lower-case letters, digits, '-' or '_' (it is in URLs)")
    issuer = item["issuer"].strip().rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError(f"{where}: issuer must be an http(s) URL, got {item['issuer']!r}")
    settings = {"server_url": issuer, "oauth_pkce_enabled": _flag(item, "pkce", where=where)}
    settings["email_authentication"] = _flag(item, "trust_email", where=where)
    if "token_auth_method" in item:
        if item["token_auth_method"] not in _AUTH_METHODS:
            raise SettingError(f"{where}: token_auth_method must be one of {sorted(_AUTH_METHODS)}")
        settings["token_auth_method"] = item["token_auth_method"]
    if "scope" in item:
        scope = item["scope"]
        if not isinstance(scope, list) or "openid" not in scope or not all(isinstance(s, str) for s in scope):
            raise SettingError(f"{where}: scope must be a list of strings that includes 'openid'")
        settings["scope"] = scope
    return {
        "provider_id": item["id"],
        "name": item["name"].strip()[:40],
        "client_id": item["client_id"],
        "secret": item["secret"],
        "settings": settings,
    }


def _flag(item: dict, key: str, *, where: str) -> bool:
    value = item.get(key, True)
    if not isinstance(value, bool):
        raise SettingError(f"{where}: {key} must be true or false")
    return value
