"""Thin Celery tasks: reply notifications (right after a commit, and the periodic sweep), and what reaches the
people's destinations (events turned into messages, sends, their sweep)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from accounts import verification
from replies import destination_delivery, notifications


@shared_task(name="replies.tasks.deliver_notifications")
def deliver_notifications(user_ids: list[int]) -> int:
    """What is pending for these people, now (their new replies were just committed). A failed send is left
    to the sweep, not retried on the spot: in the embedded hub this runs inside the ingest thread."""
    return notifications.deliver_to(user_ids=user_ids)


@shared_task(name="replies.tasks.deliver_due_notifications")
def deliver_due_notifications() -> int:
    """Periodic: quiet hours that ended, digests that are due, sends that failed earlier."""
    return notifications.deliver_due()


@shared_task(name="replies.tasks.resend_lost_xmpp_codes")
def resend_lost_xmpp_codes() -> int:
    """Periodic: verification codes whose job message was lost, queued again."""
    grace = timedelta(seconds=settings.CHORUS_QUEUED_JOB_GRACE_SECONDS)
    return len(verification.resend_lost_codes(grace=grace))


@shared_task(name="replies.tasks.send_xmpp_code")
def send_xmpp_code(identity_id: int) -> bool:
    """A verification code to a JID, from the hub's XMPP account."""
    return verification.send_xmpp_code(identity_id=identity_id)


@shared_task(name="replies.tasks.notify_replies")
def notify_replies(found: list[list]) -> int:
    """New replies (``[user id, post id, reason]``) for the people's destinations."""
    return destination_delivery.tell_replies(found=[tuple(item) for item in found])


@shared_task(name="replies.tasks.notify_track_matches")
def notify_track_matches(found: list[list]) -> int:
    """New track matches (``[user id, post id, track id]``) for the people's destinations."""
    return destination_delivery.tell_track_matches(found=[tuple(item) for item in found])


@shared_task(name="replies.tasks.notify_source_failing")
def notify_source_failing(source_id: int) -> int:
    return destination_delivery.tell_source_failing(source_id=source_id)


@shared_task(name="replies.tasks.notify_import_done")
def notify_import_done(import_id: int) -> int:
    return destination_delivery.tell_import_done(import_id=import_id)


@shared_task(name="replies.tasks.send_destinations")
def send_destinations(destination_ids: list[int]) -> int:
    """What is due to these destinations, now. A failed send is moved on by its back-off, for the sweep."""
    return destination_delivery.send_to(destination_ids=destination_ids)


@shared_task(name="replies.tasks.send_due_destinations")
def send_due_destinations() -> int:
    """Periodic: messages held by quiet hours or digests, sends that failed earlier, messages left to the sweep."""
    return destination_delivery.send_due()
