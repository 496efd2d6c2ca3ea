"""Signal receivers of the timelines app (connected in ``TimelinesConfig.ready``)."""

from aggregator.events import close_streams_on_commit, session_group


def close_the_sessions_streams(sender, request, user, **kwargs) -> None:
    """Logging out closes the WebSockets that session opened (none outlives it); other sessions stay."""
    session = getattr(request, "session", None) if request is not None else None
    if session is not None and session.session_key:
        close_streams_on_commit(group=session_group(session.session_key))
