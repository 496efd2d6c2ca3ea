"""How a person wants to hear of new replies: reading and changing the choice, and the clock it follows.

Times are the person's own (``time_zone``, an IANA name): quiet hours ``quiet_start``..``quiet_end`` (over
midnight when the start is later than the end; equal or unset: none) and the daily digest at ``digest_hour``.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.models import AbstractBaseUser

from accounts.models import Identity
from replies.models import NotificationSettings

Method = NotificationSettings.Method
EMAIL_METHODS = {Method.EMAIL, Method.DIGEST}


class NotificationSettingsError(ValueError):
    """A choice that cannot work (no verified JID for XMPP, no email address, an unknown time zone)."""


def notification_settings_for(*, user: AbstractBaseUser) -> NotificationSettings:
    """The person's choice; the defaults (no notifications, UTC) when they never chose."""
    return NotificationSettings.objects.filter(user=user).first() or NotificationSettings(user=user)


def notification_settings_update(*, user: AbstractBaseUser, method: str, time_zone: str = "UTC",
                                 quiet_start: time | None = None, quiet_end: time | None = None,
                                 digest_hour: int = 8, xmpp_jid: str = "") -> NotificationSettings:  # fmt: skip
    """Save the person's choice after checking it can work. Raises ``NotificationSettingsError``."""
    if method not in Method.values:
        raise NotificationSettingsError(f"unknown method {method!r}: one of {', '.join(Method.values)}")
    zone(time_zone)
    if (quiet_start is None) != (quiet_end is None):
        raise NotificationSettingsError("quiet hours need both a start and an end")
    if not 0 <= digest_hour <= 23:
        raise NotificationSettingsError("the digest hour is 0 to 23")
    xmpp_jid = xmpp_jid.strip().removeprefix("xmpp:").lower()
    verified_jids = set(Identity.objects.filter(user=user, kind=Identity.Kind.XMPP, verified=True)
                        .values_list("value", flat=True))  # fmt: skip
    if xmpp_jid and xmpp_jid not in verified_jids:
        raise NotificationSettingsError(f"{xmpp_jid} is not one of your verified XMPP addresses")
    if method == Method.XMPP and not verified_jids:
        raise NotificationSettingsError("verify an XMPP address under Identities first")
    if method in EMAIL_METHODS and not user.email:
        raise NotificationSettingsError("your account has no email address")
    prefs = notification_settings_for(user=user)
    prefs.method, prefs.time_zone, prefs.xmpp_jid = method, time_zone, xmpp_jid
    prefs.quiet_start, prefs.quiet_end, prefs.digest_hour = quiet_start, quiet_end, digest_hour
    prefs.save()
    return prefs


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise NotificationSettingsError(f"unknown time zone {name!r} (an IANA name such as Europe/Paris)") from None


def quiet_until(prefs: NotificationSettings, now: datetime) -> datetime | None:
    """When the person's quiet hours end, if ``now`` is inside them; else None."""
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone(prefs.time_zone))
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    return ends if ends > local else ends + timedelta(days=1)


def digest_slot(prefs: NotificationSettings, now: datetime) -> datetime:
    """The latest digest hour at or before ``now``: replies that came before it are due in a digest."""
    local = now.astimezone(zone(prefs.time_zone))
    slot = local.replace(hour=prefs.digest_hour, minute=0, second=0, microsecond=0)
    return slot if slot <= local else slot - timedelta(days=1)
