"""Checking that a handle is the person's, where the network allows it (blog URLs: ``identities.py``).

- fediverse ``user@host``: WebFinger (RFC 7033) on the account's server, then a link back to the person's Chorus
  profile: an ``aliases`` entry of the WebFinger answer, a ``rel="me"`` link in the ActivityPub actor's profile
  fields or bio (Mastodon renders profile-field links with ``rel="me"``), or one on the profile page.
- Bluesky handle: the profile's description (read from its public feed, ``CHORUS_BLUESKY_BASE/profile/<h>/rss``)
  names the person's Chorus profile address.
- XMPP JID: the hub's XMPP account sends a code to the JID (``hub_xmpp``); the person enters it back. Codes are
  kept hashed, expire, allow a few tries, and are sent at most once a minute per handle and ten an hour per person.
- X: nothing Chorus can read without the operator's API budget; stays unverified (an administrator may vouch).

Every fetch goes through ``aggregator.fetch``; a failed check records why on the identity and returns False.
"""

import json
import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts import identities
from accounts.identities import IdentityError, conclude_verified, links_to, not_verified, rel_me_links
from accounts.models import Identity
from aggregator import jobs
from aggregator.content.xmlsafety import UnsafeXML
from aggregator.fetch import FetchError, fetch
from aggregator.networks.bluesky.address import feed_url
from aggregator.networks.fediverse import webfinger
from aggregator.networks.rss.parse import NotAFeed, parse
from aggregator.networks.xmpp.chat import ChatMessage, send_chat_messages

MAX_DOCUMENT_BYTES = 512 * 1024
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=30)
CODE_TRIES = 5
CODE_RESEND_AFTER = timedelta(minutes=1)
CODES_PER_HOUR = 10


def verify_identity(*, identity: Identity, profile_url: str) -> bool:
    """Check a URL, fediverse or Bluesky handle against the network now; ``profile_url`` is the person's
    public Chorus profile (absolute). XMPP handles are verified with a code (``request_xmpp_code``)."""
    if identity.kind == Identity.Kind.URL:
        return identities.verify_url_identity(identity=identity, profile_url=profile_url)
    if identity.kind == Identity.Kind.FEDIVERSE:
        return _verify_fediverse(identity, profile_url)
    if identity.kind == Identity.Kind.BLUESKY:
        return _verify_bluesky(identity, profile_url)
    if identity.kind == Identity.Kind.XMPP:
        raise IdentityError("an XMPP address is verified with a code: ask for one, then enter it")
    raise IdentityError("Chorus cannot check X handles itself; an administrator can vouch for yours")


# -- fediverse --------------------------------------------------------------------------------------------------


def _verify_fediverse(identity: Identity, profile_url: str) -> bool:
    try:
        profile = webfinger.lookup(webfinger.parse_account(identity.value))
    except (webfinger.NotAFediverseAddress, webfinger.WebFingerError, FetchError) as error:
        return not_verified(identity, str(error))
    if links_to(profile_url, list(profile.aliases), base_url=profile_url):
        return conclude_verified(identity)
    tried = []
    for url, read in ((profile.actor, _actor_links), (profile.profile_page, _page_links)):
        if not url:
            continue
        tried.append(url)
        try:
            hrefs = read(url)
        except (FetchError, ValueError):
            continue
        if links_to(profile_url, hrefs, base_url=url):
            return conclude_verified(identity)
    where = ", ".join(tried) or "its WebFinger answer"
    return not_verified(identity, f'no rel="me" link to {profile_url} on {where} (add it to a profile field)')


def _actor_links(url: str) -> list[str]:
    """rel="me" links in an ActivityPub actor's profile fields (``attachment``) and bio (``summary``)."""
    response = fetch(url, accept=", ".join(webfinger.ACTIVITY_TYPES), max_bytes=MAX_DOCUMENT_BYTES)
    actor = json.loads(response.body)
    if not isinstance(actor, dict):
        raise ValueError("the actor is not a JSON object")
    fields = actor.get("attachment") if isinstance(actor.get("attachment"), list) else []
    html = [str(field.get("value", "")) for field in fields[:50] if isinstance(field, dict)]
    html.append(str(actor.get("summary") or ""))
    return rel_me_links("\n".join(html).encode("utf-8", "replace"))


def _page_links(url: str) -> list[str]:
    response = fetch(url, accept="text/html, application/xhtml+xml;q=0.9", max_bytes=MAX_DOCUMENT_BYTES)
    return rel_me_links(response.body)


# -- Bluesky ----------------------------------------------------------------------------------------------------


def _verify_bluesky(identity: Identity, profile_url: str) -> bool:
    url = feed_url(identity.value)
    try:
        response = fetch(url, max_bytes=MAX_DOCUMENT_BYTES)
        feed = parse(response.body, base_url=response.url, content_type=response.headers.get("content-type", ""))
    except (FetchError, NotAFeed, UnsafeXML) as error:
        return not_verified(identity, f"could not read the profile ({url}): {error}")
    if not names_address(feed.info.description, profile_url):
        return not_verified(identity, f"the profile's description does not name {profile_url}")
    return conclude_verified(identity)


def names_address(text: str, url: str) -> bool:
    """True when ``text`` contains ``url``, with or without its scheme or final slash, as a whole address
    (``/people/alice`` does not name ``/people/alicex``). Bluesky shows links in descriptions without a scheme."""
    parts = urlsplit(url)
    address = re.escape(f"{parts.netloc}{parts.path}".rstrip("/"))
    pattern = rf"(?<![\w.-])(?:https?://)?{address}/?(?![\w@+/-]|\.\w)"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


# -- XMPP -------------------------------------------------------------------------------------------------------


def request_xmpp_code(*, identity: Identity) -> None:
    """Ask for a code to be sent to this JID by the hub's account (after the commit, by a task).
    Raises ``IdentityError`` when it is not an unverified JID or when asked too often."""
    if identity.kind != Identity.Kind.XMPP or identity.verified:
        raise IdentityError("only an unverified XMPP address gets a code")
    now = timezone.now()
    if identity.code_sent_at and now - identity.code_sent_at < CODE_RESEND_AFTER:
        raise IdentityError("a code was sent less than a minute ago; check your XMPP client")
    recent = Identity.objects.filter(user_id=identity.user_id, code_sent_at__gt=now - timedelta(hours=1)).count()
    if recent >= CODES_PER_HOUR:
        raise IdentityError("too many codes this hour; try again later")
    identity.code_sent_at, identity.code_hash, identity.code_attempts, identity.last_check_error = now, "", 0, ""
    identity.save(update_fields=["code_sent_at", "code_hash", "code_attempts", "last_check_error"])

    jobs.enqueue_on_commit("replies.tasks.send_xmpp_code", identity.pk)


def send_xmpp_code(*, identity_id: int) -> bool:
    """Make a code, keep its hash, and send it to the JID as the hub. False (and the reason recorded) when the
    message could not be sent. The code itself never leaves this function except in the message."""
    waiting = Identity.objects.filter(pk=identity_id, kind=Identity.Kind.XMPP, verified=False, code_hash="")
    identity = waiting.first()
    if identity is None:  # verified, or its code is out already (a message sent again by the sweep, then both ran)
        return False
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    if not waiting.update(code_hash=_code_hash(identity, code), code_attempts=0, code_sent_at=timezone.now(),
                          last_check_error=""):  # fmt: skip
        return False  # another copy of this job made the code first: one code, one message
    body = (f"Your Chorus code for {identity.value}: {code}\n"
            "Enter it on your Identities page within 30 minutes. If you did not ask for it, ignore this message.")  # fmt: skip
    try:
        send_chat_messages([ChatMessage(to=identity.value, body=body)])
    except Exception as error:  # XmppSendError, or the session dying some other way: tell the person
        Identity.objects.filter(pk=identity.pk).update(code_hash="")
        return not_verified(identity, f"could not send the code: {error}")
    return True


def resend_lost_codes(*, grace: timedelta, now=None) -> list[int]:
    """Codes asked for more than ``grace`` ago that no worker made (the job's message was lost: broker restarted
    without persistence, or down when it was sent): queued again, once per grace period whoever sweeps, while
    the code could still be used. A failed send is not among them (it says why on the page; the person asks
    again). Returns the identity ids queued again."""
    now = now or timezone.now()
    waiting = Identity.objects.filter(kind=Identity.Kind.XMPP, verified=False, code_hash="", last_check_error="",
                                      code_sent_at__lt=now - grace, code_sent_at__gt=now - CODE_TTL)  # fmt: skip
    queued = []
    for identity_id, asked_at in waiting.values_list("id", "code_sent_at"):
        if waiting.filter(pk=identity_id, code_sent_at=asked_at).update(code_sent_at=now):
            jobs.enqueue_on_commit("replies.tasks.send_xmpp_code", identity_id)
            queued.append(identity_id)
    return queued


def confirm_xmpp_code(*, identity: Identity, code: str) -> bool:
    """The person entered the code: verified when it is the one sent, not expired, within the allowed tries."""
    if identity.kind != Identity.Kind.XMPP:
        raise IdentityError("only XMPP addresses are verified with a code")
    if not identity.code_hash or not identity.code_sent_at:
        raise IdentityError("ask for a code first")
    if timezone.now() - identity.code_sent_at > CODE_TTL:
        raise IdentityError("that code has expired; ask for a new one")
    tried = Identity.objects.filter(pk=identity.pk, code_attempts__lt=CODE_TRIES, code_hash=identity.code_hash)
    if not tried.update(code_attempts=F("code_attempts") + 1):  # counted before comparing: no unlimited guesses
        raise IdentityError("too many wrong codes; ask for a new one")
    entered = re.sub(r"[\s-]", "", code).upper()
    if not constant_time_compare(_code_hash(identity, entered), identity.code_hash):
        return not_verified(identity, "that is not the code that was sent")
    identity.code_hash = ""
    identity.save(update_fields=["code_hash"])
    return conclude_verified(identity)


def _code_hash(identity: Identity, code: str) -> str:
    return salted_hmac("chorus.xmpp-code", f"{identity.pk}:{identity.value}:{code}", algorithm="sha256").hexdigest()
