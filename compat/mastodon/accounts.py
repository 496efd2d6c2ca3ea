"""Accounts through a Mastodon app: a followed source is an account; follow, unfollow, lookup, search (with
``resolve=true``, anything our follow box takes)."""

from urllib.parse import urlencode

from django.db.models import Q
from django.http import JsonResponse

from aggregator.following import subscriptions
from aggregator.models import Source, Subscription
from aggregator.networks.rss.discover import DiscoveryError
from compat.mastodon import ids
from compat.mastodon.endpoint import ApiError, endpoint
from compat.mastodon.paging import newest_first, page_ask, paged_response
from compat.mastodon.reading import list_id_of
from compat.mastodon.serializers import account_json, acct_of, self_account_json, status_json
from timelines import blocks as timelines_blocks
from timelines import selectors

MAX_IDS = 40


def _source(account_id: str) -> Source:
    source = Source.objects.filter(pk=ids.source_id_of(account_id)).first()
    if source is None:
        raise ApiError(404, "Record not found")
    return source


@endpoint("GET", scope="read:accounts")
def verify_credentials(request):
    return self_account_json(request, request.user, following_count=selectors.subscription_count(user=request.user))


@endpoint("GET", scope="read:accounts")
def account(request, account_id: str):
    if account_id == ids.self_account_id(request.user.pk):
        return self_account_json(request, request.user, following_count=selectors.subscription_count(user=request.user))
    return account_json(request, _source(account_id))


@endpoint("GET", scope="read:statuses")
def account_statuses(request, account_id: str):
    """The source's posts in the person's timeline (an account they do not follow shows none)."""
    if account_id == ids.self_account_id(request.user.pk):
        return []
    source = _source(account_id)
    ask = page_ask(request)
    page = selectors.timeline_for(user=request.user, before=ask.before, after=ask.after, limit=ask.limit,
                                  source_id=source.pk)  # fmt: skip
    entries = newest_first(page.entries, ask, id_of=lambda e: ids.status_id(e.published, e.post_id))
    items = [status_json(request, e.post) for e in entries]
    return paged_response(request, items, has_older=bool(ask.after) or page.next_cursor is not None)


def relationship_json(source_id: int, *, following: bool, tags: list[str] = ()) -> dict:
    return {
        "id": str(source_id), "following": following, "showing_reblogs": following, "notifying": False,
        "languages": None, "followed_by": False, "blocking": False, "blocked_by": False, "muting": False,
        "muting_notifications": False, "requested": False, "requested_by": False, "domain_blocking": False,
        "endorsed": False, "note": "",
    }  # fmt: skip


@endpoint("GET", scope="read:follows")
def relationships(request):
    wanted = []
    for value in request.params.getlist("id")[:MAX_IDS]:
        try:
            wanted.append(ids.source_id_of(value))
        except ids.BadId:
            continue  # the person's own id, or junk: no relationship to report
    followed = set(Subscription.objects.filter(user=request.user, source_id__in=wanted).values_list("source_id", flat=True))
    return [relationship_json(source_id, following=source_id in followed) for source_id in wanted]


@endpoint("POST", scope="write:follows")
def follow(request, account_id: str):
    source = _source(account_id)
    try:
        subscriptions.follow_source(user=request.user, source=source)
    except subscriptions.SubscriptionError as error:
        raise ApiError(422, str(error)) from error
    return relationship_json(source.pk, following=True)


@endpoint("POST", scope="write:follows")
def unfollow(request, account_id: str):
    source = _source(account_id)
    subscription = Subscription.objects.filter(user=request.user, source=source).first()
    if subscription is not None:
        subscriptions.unsubscribe(user=request.user, subscription_id=subscription.pk)
    return relationship_json(source.pk, following=False)


@endpoint("GET", scope="read:follows")
def following(request, account_id: str):
    """The person's own follows (their subscriptions, first page); sources follow nobody we know of."""
    if account_id != ids.self_account_id(request.user.pk):
        _source(account_id)
        return []
    limit = request.params.int("limit", 40, low=1, high=80)
    page = selectors.subscriptions_page(user=request.user, limit=limit)
    return [account_json(request, s.source) for s in page.subscriptions]


def _followed_matching(request, text: str, *, limit: int) -> list[Source]:
    """The person's followed sources whose name, handle or address contains ``text``."""
    text = text.lstrip("@")
    found = (Subscription.objects.filter(user=request.user)
             .filter(Q(title__icontains=text) | Q(source__title__icontains=text) | Q(source__remote_id__icontains=text)
                     | Q(source__push_jid__icontains=text) | Q(source__address__icontains=text))
             .select_related("source").order_by("source__title")[:limit])  # fmt: skip
    return [s.source for s in found]


@endpoint("GET", scope="read:accounts")
def lookup(request):
    acct = (request.params.get("acct") or "").strip().lstrip("@")
    if not acct:
        raise ApiError(400, "acct: give the account's address")
    for source in _followed_matching(request, acct.split("@")[0], limit=50):
        if acct_of(source).lower() == acct.lower():
            return account_json(request, source)
    raise ApiError(404, "Record not found")


@endpoint("GET", scope="read:search")
def search(request):
    """``GET /api/v2/search``: the person's followed accounts and tags; with ``resolve=true``, the address is
    resolved as the follow box would (without following: the app follows the account it gets back)."""
    params = request.params
    query = (params.get("q") or "").strip()
    if not query:
        raise ApiError(400, "q: give something to search for")
    kind = params.get("type")
    limit = params.int("limit", 20, low=1, high=40)
    accounts, hashtags = [], []
    if kind in (None, "", "accounts"):
        sources = _followed_matching(request, query, limit=limit)
        if not sources and params.bool("resolve"):
            try:
                sources = [subscriptions.resolve_source(address=query)]
            except (subscriptions.SubscriptionError, DiscoveryError):
                sources = []  # Mastodon answers a failed resolve with no results
        accounts = [account_json(request, source) for source in sources]
    if kind in (None, "", "hashtags"):
        names = [name for name in selectors.tags_for(user=request.user) if query.lstrip("#").lower() in name.lower()]
        hashtags = [{"name": name, "url": request.build_absolute_uri(f"/api/v1/timelines/tag/{name}"), "history": [],
                     "id": list_id_of(name)} for name in names[:limit]]  # fmt: skip
    return {"accounts": accounts, "statuses": [], "hashtags": hashtags}


@endpoint("GET", scope="read:blocks")
def blocks(request):
    """The sources the person blocked, as accounts, newest block first; paged by block (``max_id``). Blocked
    authors and words are not accounts: an app does not see them."""
    limit = request.params.int("limit", 40, low=1, high=80)
    max_id = request.params.get("max_id")
    rows = timelines_blocks.source_blocks_for(user=request.user, limit=limit,
                                              before_id=int(max_id) if max_id and max_id.isdigit() else None)  # fmt: skip
    sources = Source.objects.in_bulk([int(row.value) for row in rows if row.value.isdigit()])
    found = [(row, sources[int(row.value)]) for row in rows if row.value.isdigit() and int(row.value) in sources]
    response = JsonResponse([account_json(request, source) for _, source in found], safe=False)
    if len(rows) == limit:
        kept = {key: value for key, value in request.GET.items() if key != "max_id"}
        older = urlencode({**kept, "max_id": rows[-1].pk})
        response["Link"] = f'<{request.build_absolute_uri(request.path)}?{older}>; rel="next"'
    return response
