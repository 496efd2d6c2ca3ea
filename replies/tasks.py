"""Thin Celery tasks: reply notifications (right after a commit, and the periodic sweep)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from accounts import verification
from replies import notifications


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
