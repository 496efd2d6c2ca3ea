"""What an app asks about the server at start-up: instance (v1, v2), nodeinfo, and the lists and settings
Chorus has none of (emojis, filters, announcements, ...), answered as empty rather than as errors."""

from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import JsonResponse
from django.urls import reverse

from compat.mastodon.endpoint import endpoint

VERSION = "4.3.0 (compatible; Chorus 0.1)"


def _host(request) -> str:
    return request.get_host()


def _configuration(request) -> dict:
    return {
        "urls": {"streaming": _streaming_url(request)},
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {"max_characters": settings.CHORUS_POST_MAX_CHARS, "max_media_attachments": 0,
                     "characters_reserved_per_url": 23},
        "media_attachments": {"supported_mime_types": [], "image_size_limit": 0, "image_matrix_limit": 0,
                              "video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0},
        "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0},
        "translation": {"enabled": False},
    }  # fmt: skip


def _contact_email() -> str:
    """The address the hub's mail comes from: the operator's, as far as the hub knows."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def _streaming_url(request) -> str:
    return ("wss://" if request.is_secure() else "ws://") + _host(request)


@endpoint("GET", public=True)
def instance_v1(request):
    return {
        "uri": _host(request), "title": "Chorus", "short_description": "A hub for reading the decentralized microblog world",
        "description": "Chorus: one merged timeline of feeds, XMPP, the fediverse, Bluesky and X.",
        "email": _contact_email(),
        "version": VERSION, "urls": {"streaming_api": _streaming_url(request)},
        "stats": {"user_count": get_user_model().objects.filter(is_active=True).count(), "status_count": 0,
                  "domain_count": 0},
        "thumbnail": None, "languages": ["en"], "registrations": settings.ACCOUNT_SIGNUP_ENABLED,
        "approval_required": False, "invites_enabled": False, "configuration": _configuration(request),
        "contact_account": None, "rules": [],
    }  # fmt: skip


@endpoint("GET", public=True)
def instance_v2(request):
    return {
        "domain": _host(request), "title": "Chorus", "version": VERSION, "source_url": "https://github.com/",
        "description": "One merged timeline of feeds, XMPP, the fediverse, Bluesky and X.",
        "usage": {"users": {"active_month": get_user_model().objects.filter(is_active=True).count()}},
        "thumbnail": {"url": request.build_absolute_uri("/static/mastodon-header.png")}, "icon": [],
        "languages": ["en"], "configuration": _configuration(request),
        "registrations": {"enabled": settings.ACCOUNT_SIGNUP_ENABLED, "approval_required": False, "message": None,
                          "url": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": _contact_email(), "account": None}, "rules": [],
    }  # fmt: skip


def nodeinfo_links(request) -> JsonResponse:
    href = request.build_absolute_uri(reverse("nodeinfo"))
    return JsonResponse({"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": href}]})


def nodeinfo(request) -> JsonResponse:
    return JsonResponse({
        "version": "2.0", "software": {"name": "chorus", "version": "0.1.0"}, "protocols": [],
        "services": {"inbound": ["rss2.0", "atom1.0", "xmpp"], "outbound": []},
        "openRegistrations": settings.ACCOUNT_SIGNUP_ENABLED,
        "usage": {"users": {"total": get_user_model().objects.filter(is_active=True).count()}},
        "metadata": {"nodeName": "Chorus"},
    })  # fmt: skip


@endpoint("GET", public=True)
def empty_list(request, **kwargs):
    """Custom emojis, filters, announcements, trends, ... : Chorus has none."""
    return []


@endpoint("GET", scope="read:accounts")
def preferences(request):
    return {"posting:default:visibility": "public", "posting:default:sensitive": False,
            "posting:default:language": None, "reading:expand:media": "default", "reading:expand:spoilers": False}  # fmt: skip
