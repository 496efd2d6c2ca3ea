"""The RSS/Atom parser on real-format fixture files (pure: bytes in, entries out)."""

from datetime import UTC, datetime

import pytest

from aggregator.content.xmlsafety import UnsafeXML
from aggregator.networks.rss import NotAFeed, parse

from tests.servers.processes import ROOT

TESTDATA = ROOT / "aggregator" / "networks" / "rss" / "testdata"


def parse_fixture(name: str, base_url: str = "https://feeds.example.net/feed"):
    return parse((TESTDATA / name).read_bytes(), base_url=base_url)


def test_it_parses_rss_091_with_a_latin1_charset():
    feed = parse_fixture("rss091.xml")
    assert feed.info.title == "Café Notes"
    assert [e.title for e in feed.entries] == ["Espresso machine repaired", "Open late on Friday"]
    assert "Naïve" in feed.entries[0].content_html
    assert feed.entries[0].published is None  # RSS 0.91 items carry no dates


def test_it_parses_rss_092_with_escaped_html_descriptions():
    entry = parse_fixture("rss092.xml").entries[0]
    assert entry.url == "http://radio.example.net/2026/11/tuesday"
    assert "<b>live</b>" in entry.content_html


def test_it_parses_rss_10_rdf_with_dublin_core_dates_and_creators():
    feed = parse_fixture("rss10.rdf")
    first = feed.entries[0]
    assert first.title == "First light"
    assert first.author_name == "Dana"
    assert first.published == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    assert first.guid == "http://blog.example.org/2026/11/20/first"


def test_it_parses_rss_20_guids_dates_and_untitled_items():
    feed = parse_fixture("rss20.xml")
    assert feed.info.title == "Carol's microblog"
    assert feed.info.site_url == "https://carol.example.com/"
    first = feed.entries[0]
    assert first.guid == "tag:carol.example.com,2026:post-3"
    assert first.title == ""
    assert first.published == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert first.author_name == "Carol"
    assert len(feed.entries) == 3


def test_it_parses_atom_with_replies_relative_links_and_html_titles():
    feed = parse_fixture("atom.xml", base_url="https://dave.example.org/atom.xml")
    reply, plain = feed.entries
    assert reply.title == "Re: comets"  # markup in a title is text, never HTML
    assert reply.url == "https://dave.example.org/2026/11/23/re-comets"
    assert reply.in_reply_to == "http://blog.example.org/2026/11/20/first"
    assert reply.published == datetime(2026, 11, 23, 11, 58, tzinfo=UTC)
    assert reply.updated == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert reply.author_name == "Dave"
    assert plain.published == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # falls back to <updated>
    assert "&lt;not a tag&gt;" in plain.content_html  # text content is escaped into HTML, not interpreted


def test_it_refuses_html_pages_as_not_a_feed():
    with pytest.raises(NotAFeed):
        parse(b"<!doctype html><html><head><title>Home</title></head><body>hi</body></html>", base_url="https://x.example/")


def test_it_only_accepts_bytes_never_a_url_or_path():
    with pytest.raises(TypeError):
        parse("https://feeds.example.net/feed", base_url="")  # type: ignore[arg-type]


def test_it_refuses_a_quadratic_entity_blowup_before_parsing():
    big = "A" * 50_000
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{big}">]><rss version="2.0"><channel><title>t</title>'
            + "<item><description>" + "&a;" * 20_000 + "</description></item></channel></rss>").encode()
    with pytest.raises(UnsafeXML):
        parse(body, base_url="https://x.example/feed")


def test_it_refuses_billion_laughs_and_external_entities():
    laughs = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
    <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><rss version="2.0"><channel><title>&lol3;</title></channel></rss>"""
    external = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
    <rss version="2.0"><channel><title>&xxe;</title></channel></rss>"""
    for body in (laughs, external):
        with pytest.raises(UnsafeXML):
            parse(body, base_url="https://x.example/feed")


def test_it_refuses_entity_declarations_hidden_in_utf16():
    body = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "x">]><rss version="2.0"/>'.encode("utf-16")
    with pytest.raises(UnsafeXML):
        parse(body, base_url="https://x.example/feed")


def test_it_keeps_a_plain_doctype_without_entities():
    feed = parse_fixture("rss091.xml")  # carries the Netscape DOCTYPE
    assert feed.entries


@pytest.mark.parametrize(
    "body",
    [
        # declared UTF-8, actually Latin-1
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\xe9</title>'
        "<item><title>na\xefve</title><guid>1</guid></item></channel></rss>".encode("latin-1"),
        # invalid UTF-8 sequences in the middle
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>ok</title>'
        b"<item><title>bad \xff\xfe bytes</title><guid>1</guid></item></channel></rss>",
        # a UTF-8 BOM
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bom</title>'
        b"<item><title>with bom</title><guid>1</guid></item></channel></rss>",
        # UTF-16 with a BOM
        '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>sixteen</title>'
        "<item><title>wide</title><guid>1</guid></item></channel></rss>".encode("utf-16"),
    ],
    ids=["wrong-charset", "invalid-utf8", "utf8-bom", "utf16-bom"],
)
def test_it_survives_broken_encodings(body):
    feed = parse(body, base_url="https://x.example/feed")
    assert len(feed.entries) == 1
    assert feed.entries[0].title  # text survived in some form
    assert feed.entries[0].guid == "1"


def test_rfc_6721_tombstones_are_read_once_each_beside_the_entries():
    feed = parse_fixture("atom_tombstones.xml")
    assert [e.guid for e in feed.entries] == ["https://hub-a.example/people/alice/posts/kept/"]
    assert feed.deleted == ("https://hub-a.example/people/alice/posts/gone/",)


def test_a_feed_that_is_not_well_formed_xml_deletes_nothing():
    body = (TESTDATA / "atom_tombstones.xml").read_bytes().replace(b"</feed>", b"<br></feed>")
    feed = parse(body, base_url="https://hub-a.example/")
    assert feed.deleted == () and len(feed.entries) == 1
