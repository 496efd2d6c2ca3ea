"""Chorus settings. Every value comes from the environment (see README.md, "Configuration").

Without any variables set Chorus runs embedded: SQLite under ./var, in-memory channel layer, Celery tasks
run eagerly in-process. ``DATABASE_URL`` and ``REDIS_URL`` switch to the production shape.
"""

import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from accounts.oidc_config import oidc_apps_from_env
from aggregator.env import SettingError, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CHORUS_VAR_DIR", str(BASE_DIR / "var")))


def _embedded_secret_key() -> str:
    """A random key kept under var/, so embedded sessions survive a restart without any set-up."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or _embedded_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",  # the API docs page then uses the Swagger UI files shipped with ninja, not a CDN and an inline script
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.openid",
    "aggregator",
    "accounts",
    "timelines",
    "replies",
    "tracks",
    "oauth2_provider",
    "compat",
    "publishing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "aggregator.hygiene.middleware.RefuseControlCharacters",  # before the session reads its cookie
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.SignInProblemMiddleware",
]

ROOT_URLCONF = "aggregator.urls"
ASGI_APPLICATION = "aggregator.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # Only the *.jinja fragments, drawn inside Django templates by {% load fragments %} (aggregator/jinja.py)
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "aggregator.jinja.environment"},
    },
]

# --- Database -------------------------------------------------------------------------------------------
# SQLite is written from several threads (the embedded hub) or processes: wait for the lock instead of failing,
# and take it at BEGIN so two writers never deadlock on an upgrade. Options in the URL's query win.
SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 0)
    if DB_POOL_MAX_SIZE > 0 and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # psycopg's pool (Django >= 5.1): a request borrows a connection and gives it back at its end, so the
        # connect and PostgreSQL's new backend are paid once per pooled connection, not once per request, and a
        # process never holds more than max_size. A pooled connection is never "persistent": CONN_MAX_AGE 0.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1, "max_size": DB_POOL_MAX_SIZE, "timeout": env_int("DB_POOL_TIMEOUT", 10)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "chorus.sqlite3"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
    DATABASES["default"]["OPTIONS"]["timeout"] = float(DATABASES["default"]["OPTIONS"]["timeout"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker, channel layer, cache ---------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis' pub/sub layer plus pipelined batch sends; channel prefix "chorus<db>"
            "BACKEND": "aggregator.events.layers.PipelinedRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # Hubs (or a hub and another application) on one Redis database: each its own Celery queue, cache keys and
    # live-event channel names. Unset: the queue "celery", unprefixed keys, channels "chorus<db>".
    CHORUS_REDIS_NAMESPACE = env_str("CHORUS_REDIS_NAMESPACE", "")
    if CHORUS_REDIS_NAMESPACE:
        CELERY_TASK_DEFAULT_QUEUE = CHORUS_REDIS_NAMESPACE
        CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = CHORUS_REDIS_NAMESPACE
        CACHES["default"]["KEY_PREFIX"] = CHORUS_REDIS_NAMESPACE
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CHANNEL_LAYERS = {"default": {"BACKEND": "aggregator.events.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_DB_REUSE_MAX = 1000  # Celery's fixup closes connections every 1,000 tasks only (see aggregator/celery.py)
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "schedule-due-polls": {"task": "aggregator.tasks.schedule_due_polls", "schedule": 15.0},
    "deliver-due-notifications": {"task": "replies.tasks.deliver_due_notifications", "schedule": 60.0},
    "send-due-destinations": {"task": "replies.tasks.send_due_destinations", "schedule": 30.0},
    "recover-stale-imports": {"task": "aggregator.tasks.recover_stale_imports", "schedule": 60.0},
    "sweep-websub": {"task": "aggregator.tasks.sweep_websub", "schedule": 60.0},
    "prune-history": {"task": "aggregator.tasks.prune_history", "schedule": 3600.0},
    "sweep-hub-deliveries": {"task": "publishing.tasks.sweep_hub", "schedule": 30.0},
    "sweep-publishing-outbox": {"task": "publishing.tasks.sweep_outbox", "schedule": 60.0},
    "resend-lost-xmpp-codes": {"task": "replies.tasks.resend_lost_xmpp_codes", "schedule": 60.0},
}

# --- Accounts -------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "accounts.app_passwords.AppPasswordBackend",  # only where apps sign in (app_sign_in)
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "timeline"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "optional")
# Failed sign-ins: per address, per account from one address, and per account from addresses it never signed in
# from (accounts/signin_limits.py): a stranger's failures never lock the owner out of his own address.
ACCOUNT_ADAPTER = "accounts.signin_limits.AccountAdapter"
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,30/h/ip,5/5m/key", "login_failed_account": "50/h/key",
                       "social_login": "30/m/ip"}  # fmt: skip
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SIGNUP_ENABLED = env_bool("CHORUS_SIGNUP_ENABLED", True)
# Sessions live in the database: they survive a restart of any process, in production (PostgreSQL) as in the
# embedded hub (SQLite). Requests read them through the cache (written to both): every page reads its session,
# and a cache GET costs a fraction of a query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Sign-in with OpenID Connect (providers from CHORUS_OIDC_PROVIDERS and/or SocialApp rows in the admin) and
# legacy OpenID 2.0 URLs. accounts/adapters.py decides when a login may land in an existing account.
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_FORMS = {"signup": "accounts.forms.SocialSignupForm"}
SOCIALACCOUNT_PROVIDERS = {
    # PKCE unless a provider says otherwise (also for SocialApp rows made in the admin)
    "openid_connect": {"APPS": oidc_apps_from_env(env_str("CHORUS_OIDC_PROVIDERS")), "OAUTH_PKCE_ENABLED": True},
}
SOCIALACCOUNT_QUERY_EMAIL = True  # OpenID 2.0: ask for the email through sreg/AX
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # only for provider-verified addresses: see the adapter
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_REQUESTS_TIMEOUT = env_int("CHORUS_OIDC_TIMEOUT", 10)

EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "chorus@localhost")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- HTTPS (production behind TLS) ----------------------------------------------------------------------
# Most Mastodon apps (Mastodon.py among them) send no PKCE challenge: it is checked when sent, not required.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W010"]
CHORUS_HTTPS = env_bool("CHORUS_HTTPS", False)
if CHORUS_HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]  # the operator chose not to be on the preload list
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Defence in depth behind the sanitizer: scripts only from our own files, no inline script or handler anywhere.
# Pictures come from our own origin only: posts' images through the image proxy (/images/), sources' pictures
# from /sources/<id>/avatar; data: for small inline images in our own CSS. Audio and video still play from the
# sites that publish them, fetching nothing until the person presses play (preload="none"); 'self' also covers
# our own ws:/wss: socket (/ws/stream/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "http:", "https:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True

# --- The Mastodon client API's OAuth 2 (compat/mastodon/oauth.py) ----------------------------------------------
# Mastodon's scopes, coarse and fine; a fine scope is granted by its coarse one (compat/mastodon/auth.py).
OAUTH2_PROVIDER = {
    "SCOPES": {
        "read": "Read your timeline, follows, notifications and markers",
        "write": "Post, follow, mark read and star in your name",
        "follow": "Follow and unfollow in your name",
        "push": "Receive push notifications",
        "profile": "Know who you are (your name and profile address) to sign you in",
        **{f"read:{part}": f"Read your {part}" for part in (
            "accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
            "notifications", "search", "statuses")},
        **{f"write:{part}": f"Change your {part}" for part in (
            "accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists",
            "media", "mutes", "notifications", "reports", "statuses")},
    },
    "DEFAULT_SCOPES": ["read"],
    "SCOPES_BACKEND_CLASS": "compat.mastodon.scopes.RegisteredScopes",  # an app gets only what it registered
    "ACCESS_TOKEN_EXPIRE_SECONDS": 10 * 365 * 24 * 3600,  # Mastodon apps never refresh: a token lives until revoked
    "PKCE_REQUIRED": False,  # checked when the app sends a challenge; Mastodon apps that send none still sign in
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # RFC 9700: no implicit or password grants, no "plain" PKCE, no tokens in query strings, `iss` in the
    # authorization response, tokens stored hashed. Redirect schemes are checked per app (compat/mastodon/oauth.py).
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

# --- What clients may send (aggregator/transport.py) ----------------------------------------------------
# Bodies over the cap are refused with 413 before they are read; the follow-list imports have their own, smaller
# cap (aggregator/asgi.py). Django's limits agree: it never refuses what the cap admits, and an admitted body is
# held in memory (at most the cap), never written to a temporary file.
CHORUS_MAX_REQUEST_BYTES = env_int("CHORUS_MAX_REQUEST_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = CHORUS_MAX_REQUEST_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = CHORUS_MAX_REQUEST_BYTES
# Google Reader apps send item ids as repeated form fields: NetNewsWire marks 1,000 at once (plus T and a)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_100
# /ws/stream/ clients only listen: the server refuses larger messages (`serve` and the Procfile pass it to
# uvicorn), and a socket that sends more than this many a minute is closed.
CHORUS_WS_MAX_MESSAGE_BYTES = env_int("CHORUS_WS_MAX_MESSAGE_BYTES", 4096)
CHORUS_WS_MAX_MESSAGES_PER_MINUTE = env_int("CHORUS_WS_MAX_MESSAGES_PER_MINUTE", 30)

# --- Static files ---------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# The image proxy's and source pictures' bytes (aggregator/images): files on each machine, not Redis, since an
# image may weigh megabytes; a cache, so losing it costs only refetches.
CACHES["images"] = {
    "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
    "LOCATION": env_str("CHORUS_IMAGE_CACHE_DIR", str(VAR_DIR / "images")),
    "OPTIONS": {"MAX_ENTRIES": env_int("CHORUS_IMAGE_CACHE_ENTRIES", 5000)},
}

WHITENOISE_USE_FINDERS = True  # the embedded hub serves static files without collectstatic
WHITENOISE_MIMETYPES = {".webmanifest": "application/manifest+json"}  # the app manifest (WhiteNoise: octet-stream)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Fetching and polling -------------------------------------------------------------------------------
CHORUS_FETCH_ALLOW_PRIVATE = env_bool("CHORUS_FETCH_ALLOW_PRIVATE", False)
CHORUS_FETCH_DEADLINE = float(env_int("CHORUS_FETCH_DEADLINE", 30))
CHORUS_FETCH_CONNECT_TIMEOUT = float(env_int("CHORUS_FETCH_CONNECT_TIMEOUT", 10))  # reads wait up to the deadline
CHORUS_FETCH_MAX_BYTES = env_int("CHORUS_FETCH_MAX_BYTES", 8 * 1024 * 1024)
CHORUS_IMAGE_MAX_BYTES = env_int("CHORUS_IMAGE_MAX_BYTES", 5 * 1024 * 1024)  # one image in a post, via the proxy
CHORUS_IMAGE_DEADLINE = float(env_int("CHORUS_IMAGE_DEADLINE", 10))
CHORUS_IMAGE_CACHE_SECONDS = env_int("CHORUS_IMAGE_CACHE_SECONDS", 7 * 24 * 3600)
CHORUS_POLL_MIN_SECONDS = env_int("CHORUS_POLL_MIN_SECONDS", 5 * 60)
CHORUS_POLL_MAX_SECONDS = env_int("CHORUS_POLL_MAX_SECONDS", 24 * 3600)
# What one person may ask of a shared hub: the follow list's size, and how long a queued job may wait for its
# broker message before a sweep queues it again (a message lost with a Redis restart or a broker outage).
CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON = env_int("CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON", 5000)
CHORUS_QUEUED_JOB_GRACE_SECONDS = env_int("CHORUS_QUEUED_JOB_GRACE_SECONDS", 120)
# How stale a process's copy of tracks, verified handles, blocks and notification choices may be when another
# process changed them (aggregator/snapshots.py): the version is read at most this often.
CHORUS_SNAPSHOT_CHECK_SECONDS = env_int("CHORUS_SNAPSHOT_CHECK_MS", 1000) / 1000

# Retention (timelines/retention.py): read, unstarred posts older than this leave the hub (0: keep everything);
# the hourly sweep removes them this many per transaction.
CHORUS_KEEP_READ_DAYS = env_int("CHORUS_KEEP_READ_DAYS", 365)
CHORUS_RETENTION_BATCH = env_int("CHORUS_RETENTION_BATCH", 1000)

# XMPP push: the hub's own XMPP account. Without a JID there is no listener (XMPP sources wait, pending).
CHORUS_XMPP_JID = env_str("CHORUS_XMPP_JID", "")
CHORUS_XMPP_PASSWORD = env_str("CHORUS_XMPP_PASSWORD", "")
CHORUS_XMPP_HOST = env_str("CHORUS_XMPP_HOST", "")  # default: the JID's domain (DNS SRV)
CHORUS_XMPP_PORT = env_int("CHORUS_XMPP_PORT", 5222)
CHORUS_XMPP_TLS = env_bool("CHORUS_XMPP_TLS", True)  # off only for a loopback test server (plaintext login)
CHORUS_XMPP_RESYNC_SECONDS = env_int("CHORUS_XMPP_RESYNC_SECONDS", 3600)  # safety-net history fetch per node

# X (Twitter): the operator's X API v2 bearer token; without one, following an X account says so.
X_BEARER_TOKEN = env_str("X_BEARER_TOKEN", "")
X_API_BASE = env_str("X_API_BASE", "https://api.x.com")
# Following @user@host (WebFinger) and Bluesky handles. "http" only for loopback test servers.
CHORUS_WEBFINGER_SCHEME = env_str("CHORUS_WEBFINGER_SCHEME", "https")
if CHORUS_WEBFINGER_SCHEME not in ("https", "http"):
    raise SettingError(f"CHORUS_WEBFINGER_SCHEME must be https or http, got {CHORUS_WEBFINGER_SCHEME!r}")
CHORUS_BLUESKY_BASE = env_str("CHORUS_BLUESKY_BASE", "https://bsky.app")
CHORUS_BLUESKY_API = env_str("CHORUS_BLUESKY_API", "https://public.api.bsky.app")  # the public AppView: avatars
# The hub's public address (https://chorus.example), for links in notifications sent outside the web pages.
CHORUS_PUBLIC_URL = env_str("CHORUS_PUBLIC_URL", "")
# WebSub (needs CHORUS_PUBLIC_URL: hubs call back there): the lease asked of hubs, and per-subscription caps on
# what a hub may push.
CHORUS_WEBSUB_LEASE_SECONDS = env_int("CHORUS_WEBSUB_LEASE_SECONDS", 864000)
CHORUS_WEBSUB_MAX_BYTES = env_int("CHORUS_WEBSUB_MAX_BYTES", 4194304)
CHORUS_WEBSUB_DELIVERIES_PER_MINUTE = env_int("CHORUS_WEBSUB_DELIVERIES_PER_MINUTE", 60)
# Worker processes that store WebSub deliveries at a time (aggregator/ingest/websub_waiting.py): keep it below the
# worker's concurrency, so polls and the other tasks always find a process.
CHORUS_WEBSUB_DRAINERS = env_int("CHORUS_WEBSUB_DRAINERS", 2)
# Notification destinations (Apprise URLs): the schemes people may use, how long one send may take, how many
# messages a destination, a person and a remote host get per minute, and after how many failures in a row a
# destination is paused.
CHORUS_NOTIFY_SCHEMES = [scheme.lower() for scheme in env_list("CHORUS_NOTIFY_SCHEMES", [
    "json", "jsons", "form", "forms", "xml", "xmls", "ntfy", "ntfys", "mailto", "mailtos", "matrix", "matrixs",
    "tgram", "signal", "signals", "slack", "discord", "gotify", "gotifys", "twilio", "vonage", "clicksend", "sns",
])]  # fmt: skip
CHORUS_NOTIFY_TIMEOUT = float(env_int("CHORUS_NOTIFY_TIMEOUT", 20))
CHORUS_NOTIFY_PER_MINUTE = env_int("CHORUS_NOTIFY_PER_MINUTE", 6)
CHORUS_NOTIFY_PERSON_PER_MINUTE = env_int("CHORUS_NOTIFY_PERSON_PER_MINUTE", 20)
CHORUS_NOTIFY_HOST_PER_MINUTE = env_int("CHORUS_NOTIFY_HOST_PER_MINUTE", 120)
CHORUS_NOTIFY_PAUSE_AFTER = env_int("CHORUS_NOTIFY_PAUSE_AFTER", 5)
# A person's own posts (publishing/): the longest post, counted as a person sees characters.
CHORUS_POST_MAX_CHARS = env_int("CHORUS_POST_MAX_CHARS", 140)
# Chorus as a WebSub hub for those posts' feeds: the longest lease granted, and caps on subscribers.
CHORUS_HUB_LEASE_SECONDS = env_int("CHORUS_HUB_LEASE_SECONDS", 864000)
CHORUS_HUB_MAX_SUBSCRIBERS_PER_TOPIC = env_int("CHORUS_HUB_MAX_SUBSCRIBERS_PER_TOPIC", 1000)
CHORUS_HUB_MAX_SUBSCRIPTIONS_PER_HOST = env_int("CHORUS_HUB_MAX_SUBSCRIPTIONS_PER_HOST", 200)
# Webmentions received: how many one source host may send a minute (more are answered 429).
CHORUS_WEBMENTION_PER_HOST_PER_MINUTE = env_int("CHORUS_WEBMENTION_PER_HOST_PER_MINUTE", 30)
CHORUS_USER_AGENT = env_str("CHORUS_USER_AGENT", "Chorus/0.1 (+https://github.com/chorus-hub; feed reader)")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
