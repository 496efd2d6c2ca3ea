"""Mention extraction (replies/mentions.py): a table of real-looking posts from each network, false positives
included. Pure: no database."""

import pytest

from aggregator.content.mentions import Mention, author_mentions, extract_mentions, normalize_link

X, FEDI, BSKY, JID, URL = "x", "fediverse", "bluesky", "xmpp", "url"

MASTODON_HTML = (
    '<p><span class="h-card"><a href="https://example.social/@alice" class="u-url mention">@<span>alice</span></a>'
    '</span> thanks! cc <span class="h-card"><a href="https://other.host/@Bob" class="u-url mention">@<span>Bob'
    "</span></a></span></p>"
)
X_HTML = (
    '<a href="https://x.com/Alice_1">@Alice_1</a> have you seen <a href="https://example.com/post">example.com/post'
    "</a>?"
)

TABLE = [
    # (what it is, fields, mentions expected)
    ("fediverse handle in prose", {"text": "Hey @Alice@Example.Social, nice post."}, {(FEDI, "alice@example.social")}),
    ("x handle in prose, trailing punctuation", {"text": "thanks @bob_99! and (@carol)."}, {(X, "bob_99"), (X, "carol")}),
    ("bluesky handle in prose", {"text": "via @dan.bsky.social: great"}, {(BSKY, "dan.bsky.social")}),
    ("mastodon html mention links", {"html": MASTODON_HTML},
     {(FEDI, "alice@example.social"), (URL, "https://example.social/@alice"), (FEDI, "bob@other.host"),
      (URL, "https://other.host/@Bob")}),
    ("x api mention entities, linked by the adapter", {"html": X_HTML},
     {(X, "alice_1"), (URL, "https://x.com/Alice_1"), (URL, "https://example.com/post")}),
    ("xmpp link", {"html": '<p>ask <a href="xmpp:Erin@Jabber.example/phone?message">Erin</a></p>'},
     {(JID, "erin@jabber.example")}),
    ("xmpp uri in prose", {"text": "write to xmpp:frank@chat.example."}, {(JID, "frank@chat.example")}),
    ("blog link, fragment dropped", {"html": '<a href="HTTPS://Grace.Example:443#about">Grace</a>'},
     {(URL, "https://grace.example/")}),
    ("atom thr:in-reply-to", {"text": "I disagree", "in_reply_to": "https://alice.example/2026/11/post#c"},
     {(URL, "https://alice.example/2026/11/post")}),
    ("x reply target", {"text": "yes", "in_reply_to": "https://x.com/Alice_1/status/123"},
     {(X, "alice_1"), (URL, "https://x.com/Alice_1/status/123")}),
    ("mastodon status reply", {"in_reply_to": "https://example.social/@alice/1099"},
     {(FEDI, "alice@example.social"), (URL, "https://example.social/@alice/1099")}),
    ("xep-0277 reply to an xmpp item", {"in_reply_to": "xmpp:alice@example.org?;node=urn:xmpp:microblog:0;item=7"},
     {(JID, "alice@example.org")}),
    # false positives
    ("e-mail address", {"text": "mail me at alice@example.social or bob@x.com"}, set()),
    ("url with @ in the path", {"text": "see https://medium.com/@alice/post-1 and http://h.example/a@b"},
     {(URL, "https://medium.com/@alice/post-1"), (URL, "http://h.example/a@b")}),
    ("code and pre in html", {"html": "<p>use <code>@decorator</code></p><pre>x = @matmul\n@alice@host.example</pre>"},
     set()),
    ("python decorator in prose is still @name", {"text": "@property"}, {(X, "property")}),
    ("link text is not a mention", {"html": '<a href="https://example.com/">@notahandle</a>'},
     {(URL, "https://example.com/")}),
    ("the post's own link", {"html": '<a href="/p/1">permalink</a>', "url": "https://alice.example/p/1"}, set()),
    ("relative link resolved on the post's url", {"html": '<a href="/about">me</a>', "url": "https://a.example/p/1"},
     {(URL, "https://a.example/about")}),
    ("not a link scheme", {"html": '<a href="mailto:alice@example.org">mail</a>'}, set()),
    ("name too long for x", {"text": "@averyveryverylongname1"}, set()),
    ("@ glued to a word", {"text": "foo@bar and a=@b and x-@y"}, set()),
    ("x site pages are not accounts", {"html": '<a href="https://x.com/search?q=a">s</a>'},
     {(URL, "https://x.com/search?q=a")}),
]


@pytest.mark.parametrize(("fields", "expected"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_it_extracts_the_mentions_of_real_looking_posts(fields, expected):
    assert extract_mentions(**fields) == {Mention(*pair) for pair in expected}


def test_links_are_normalized_for_lookup():
    assert normalize_link("HTTP://Alice.Example:80") == "http://alice.example/"
    assert normalize_link("https://alice.example:8443/x?y=1#z") == "https://alice.example:8443/x?y=1"
    assert normalize_link("javascript:alert(1)") is None


def test_an_author_is_known_by_the_same_handles():
    assert author_mentions(handle="@Alice_1", uri="https://x.com/Alice_1") == {
        Mention(X, "alice_1"), Mention(URL, "https://x.com/Alice_1")
    }
    assert author_mentions(handle="@alice@example.social", uri="") == {Mention(FEDI, "alice@example.social")}
    assert author_mentions(handle="Erin@Jabber.example", uri="xmpp:erin@jabber.example") == {
        Mention(JID, "erin@jabber.example")
    }
