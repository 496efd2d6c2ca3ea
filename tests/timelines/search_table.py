"""One set of posts and one table of searches with their answers, run on PostgreSQL (the suite's database) and
on SQLite (the embedded hub's, in a child process: ``manage.py shell -c "...search_table import main; main()"``).

alice follows "Kitchen notes" (tagged ``food``) and "Rivers" (tagged ``travel``); bob follows "Bob's own", which
alice must never find. Each answer is alice's results, newest first, by GUID.
"""

import json
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model

from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Source, Subscription, SubscriptionTag
from timelines import services, stars
from timelines.search.selectors import search_for

DAY = datetime(2026, 3, 1, tzinfo=UTC)

POSTS = {  # source: [(guid, day offset, title, text, author, language)]
    "Kitchen notes": [
        ("k1", 0, "Café crème at dawn", "A CAFÉ with cream and a croissant.", "Ada Lovelace", "en"),
        ("k2", 1, "Running late", "We were running to the market for fresh bread.", "Ada Lovelace", "en-GB"),
        ("k3", 2, "Les crêpes", "Nous mangeons des crêpes au marché.", "Émile Zola", "fr"),
        ("k4", 3, "Bread notes", "Sourdough bread needs time; cream is optional.", "Grace Hopper", ""),
    ],
    "Rivers": [
        ("r1", 4, "The river runs", "The river runs fast after rain. Market day.", "Grace Hopper", "en"),
        ("r2", 5, "Quiet water", "cafe by the water, no cream", "Ada Lovelace", ""),
        ("r3", 6, "東京の川", "東京 の 川 は 静か です", "Kenji", "ja"),
    ],
}
BOBS = [("b1", 2, "Bob's café", "café cream market bread river", "Bob", "en")]

QUERIES = [
    ("cafe", ["r2", "k1"]),
    ("CAFÉ", ["r2", "k1"]),
    ("cream", ["r2", "k4", "k1"]),
    ("cream -water", ["k4", "k1"]),
    ('"fresh bread"', ["k2"]),
    ('"bread fresh"', []),
    ("run", ["r1", "k2"]),  # stems: runs (en), running (en-GB)
    ('"running"', ["k2"]),  # a phrase is the word as written
    ("crepe", ["k3"]),
    ("marche", ["k3"]),
    ("market", ["r1", "k2"]),
    ("author:ada", ["r2", "k2", "k1"]),
    ('author:"grace hopper" bread', ["k4"]),
    ("author:zola crêpes", ["k3"]),
    ("source:rivers", ["r3", "r2", "r1"]),
    ("source:kitchen cream", ["k4", "k1"]),
    ("tag:food market", ["k2"]),
    ("tag:travel", ["r3", "r2", "r1"]),
    ("is:unread cream", ["r2", "k4"]),
    ("is:starred", ["r1", "k3"]),
    ("is:starred market", ["r1"]),
    ("before:2026-03-03", ["k2", "k1"]),
    ("after:2026-03-05 -quiet", ["r3", "r1"]),  # after: is from the start of that day
    ("after:2026-03-02 before:2026-03-05", ["k4", "k3", "k2"]),
    ("lang:fr", ["k3"]),
    ("lang:en market", ["r1", "k2"]),
    ("東京", ["r3"]),
    ("川", ["r3"]),
    ("bob", []),
    ("nothinglikethis", []),
]


def _follow(user, title: str, tag: str, posts: list[tuple]) -> None:
    source = Source.objects.create(address=f"https://{title.split()[0].lower()}.example/feed",
                                   url=f"https://{title.split()[0].lower()}.example/feed", title=title)  # fmt: skip
    subscription = Subscription.objects.create(user=user, source=source)
    if tag:
        SubscriptionTag.objects.create(subscription=subscription, name=tag)
    ingest(source, [Entry(guid=guid, title=title_, content_html=f"<p>{text}</p>", author_name=author, language=lang,
                          published=DAY + timedelta(days=day, hours=12))
                    for guid, day, title_, text, author, lang in posts])  # fmt: skip


def seed():
    users = get_user_model().objects
    alice, bob = users.create_user("alice", "alice@example.org"), users.create_user("bob", "bob@example.org")
    _follow(alice, "Kitchen notes", "food", POSTS["Kitchen notes"])
    _follow(alice, "Rivers", "travel", POSTS["Rivers"])
    _follow(bob, "Bob's own", "", BOBS)
    by_guid = {guid: pk for guid, pk in Source.objects.values_list("posts__guid", "posts__id")}
    services.mark_read(user=alice, post_ids=[by_guid["k1"], by_guid["k2"], by_guid["r1"], by_guid["r3"]])
    for guid in ("k3", "r1"):
        stars.star(user=alice, post_id=by_guid[guid])
    return alice


def answers(user) -> dict[str, list[str]]:
    return {q: [r.post.guid for r in search_for(user=user, q=q, limit=50).results] for q, _ in QUERIES}


def main() -> None:
    """Seed this database (an empty, migrated one) and print alice's answers as JSON."""
    print(json.dumps(answers(seed())))
