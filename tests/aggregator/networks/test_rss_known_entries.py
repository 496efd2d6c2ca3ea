"""``parse(..., known=...)``: entries parsed before are taken from the process's memo, and the result is always
what parsing the whole document gives (pure: bytes in, entries out)."""

import pytest

from aggregator.content.xmlsafety import UnsafeXML
from aggregator.networks.rss import KnownEntries, NotAFeed, known_entries, parse
from aggregator.networks.rss.known_entries import split

from tests.servers.feeds import ATOM, RSS, atom, rss
from tests.servers.processes import ROOT

TESTDATA = ROOT / "aggregator" / "networks" / "rss" / "testdata"
BASE = "https://feeds.example.net/feed"
FEED_HEAD = '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"{attrs}><title>t</title>'


def entry(entry_id: str, *, updated: str = "2026-11-23T10:00:00Z", text: str = "", author: bool = True) -> str:
    who = f"<author><name>{entry_id} writer</name></author>" if author else ""
    return (f"<entry><id>{entry_id}</id><title>{entry_id}</title><link href='/{entry_id}'/><updated>{updated}</updated>"
            f"{who}<content type='html'>&lt;p&gt;{text or entry_id}&lt;/p&gt;</content></entry>")  # fmt: skip


def feed(*entries: str, attrs: str = "", head: str = "", tail: str = "") -> bytes:
    return (FEED_HEAD.format(attrs=attrs) + head + "".join(entries) + tail + "</feed>").encode()


def both(body: bytes, known: KnownEntries, content_type: str = ATOM):
    """The document parsed with the memo, checked against the whole parse."""
    with_memo = parse(body, base_url=BASE, content_type=content_type, known=known)
    assert with_memo == parse(body, base_url=BASE, content_type=content_type)
    return with_memo


CORPUS = [
    *[(path.name, path.read_bytes(), "") for path in sorted(TESTDATA.iterdir())],
    ("rss", rss(("a", "first"), ("b", "second"), ("c", "third")), RSS),
    ("atom with tombstones", atom("https://a.example/1", "https://a.example/2", deleted=("https://a.example/0",)), ATOM),
    ("xml:base and lang", feed(entry("a"), entry("b"), attrs=' xml:base="https://b.example/x/" xml:lang="fr"'), ATOM),
    ("feed author after the entries", feed(entry("a", author=False), entry("b"),
                                           tail="<author><name>Feed</name></author>"), ATOM),  # fmt: skip
    ("empty entry", feed("<entry/>", entry("a")), ATOM),
    ("a namespace declared in an entry", feed(entry("a").replace("<entry>", '<entry xmlns:x="urn:x">'), entry("b")), ATOM),
    ("text/xml without charset", feed(entry("a"), entry("b")), "text/xml"),
    ("not well-formed", feed(entry("a"), entry("b")).replace(b"</title>", b"", 1), ATOM),
    ("latin-1", feed(entry("a")).replace(b"utf-8", b"iso-8859-1"), "application/atom+xml"),
]


@pytest.mark.parametrize(("body", "content_type"), [(b, c) for _, b, c in CORPUS], ids=[n for n, _, _ in CORPUS])
def test_every_document_parses_the_same_with_the_memo_cold_and_warm(body, content_type):
    known = KnownEntries()
    cold = both(body, known, content_type)
    warm = both(body, known, content_type)
    assert warm.entries == cold.entries and warm.deleted == cold.deleted and warm.info == cold.info


def test_a_fat_ping_of_known_entries_takes_them_from_the_memo_and_parses_only_the_new_one():
    known = KnownEntries()
    first = both(feed(entry("b"), entry("a")), known)
    second = both(feed(entry("c"), entry("b"), entry("a")), known)
    assert [e.guid for e in second.entries] == ["c", "b", "a"]
    assert second.entries[1] is first.entries[0] and second.entries[2] is first.entries[1]  # not parsed again


def test_a_known_entry_whose_updated_and_content_changed_is_parsed_again():
    known = KnownEntries()
    both(feed(entry("a", text="before")), known)
    after = both(feed(entry("a", updated="2026-11-23T12:00:00Z", text="after")), known)
    assert "after" in after.entries[0].content_html and after.entries[0].updated.hour == 12


def test_a_changed_feed_author_reaches_known_entries_without_their_own():
    known = KnownEntries()
    both(feed(entry("a", author=False), head="<author><name>Old name</name></author>"), known)
    renamed = both(feed(entry("a", author=False), head="<author><name>New name</name></author>"), known)
    assert renamed.entries[0].author_name == "New name"


def test_the_same_entry_under_another_xml_base_or_feed_url_is_parsed_again():
    known = KnownEntries()
    both(feed(entry("a"), attrs=' xml:base="https://one.example/"'), known)
    moved = both(feed(entry("a"), attrs=' xml:base="https://two.example/"'), known)
    assert moved.entries[0].url == "https://two.example/a"
    other = parse(feed(entry("a")), base_url="https://elsewhere.example/feed", content_type=ATOM, known=known)
    assert other.entries[0].url == "https://elsewhere.example/a"


@pytest.mark.parametrize("body", [
    feed(entry("a")).replace(b"<feed", b'<!DOCTYPE feed SYSTEM "file:///etc/passwd"><feed', 1),
    feed(entry("a").replace("<entry>", '<entry xmlns:x="urn:x">')),
    feed(entry("a"), head="<source><entry/></source>"),
    feed(entry("a")).replace(b"</title>", b"", 1),
    (TESTDATA / "rss10.rdf").read_bytes(),
], ids=["doctype", "namespace in an entry", "an entry elsewhere", "not well-formed", "rss 1.0"])  # fmt: skip
def test_documents_the_scan_cannot_take_apart_are_parsed_whole(body):
    assert split(body, base_url=BASE, content_type=ATOM) is None
    known = KnownEntries()
    try:
        expected = parse(body, base_url=BASE, content_type=ATOM)
    except NotAFeed:
        with pytest.raises(NotAFeed):
            parse(body, base_url=BASE, content_type=ATOM, known=known)
    else:
        assert parse(body, base_url=BASE, content_type=ATOM, known=known) == expected
    assert not known.held


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
          b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>&b;</id></entry></feed>')  # fmt: skip
XXE = (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>&x;</id></entry></feed>')  # fmt: skip


@pytest.mark.parametrize("body", [LAUGHS, XXE], ids=["billion laughs", "external entity"])
def test_hostile_xml_is_still_refused_with_the_memo_warm(body):
    known = KnownEntries()
    both(feed(entry("a")), known)
    with pytest.raises(UnsafeXML):
        parse(body, base_url=BASE, content_type=ATOM, known=known)


def test_the_memo_starts_empty_again_past_its_size():
    known = KnownEntries(max_bytes=400)
    both(feed(entry("a")), known)
    both(feed(entry("b"), entry("c")), known)
    assert known.size <= 400 and len(known.held) <= 2


def test_entries_of_a_document_feedparser_complains_about_are_not_kept():
    known = KnownEntries()
    body = feed(entry("a"), entry("b"))
    assert split(body, base_url=BASE, content_type="text/plain; charset=utf-8") is not None
    both(body, known, "text/plain; charset=utf-8")  # feedparser: "not an XML media type" (bozo), read all the same
    assert not known.held
    both(body, known, ATOM)
    assert len(known.held) == 2


class DictShared:
    """A shared tier in a dict, as Redis holds it for every worker process; it records what it is given."""

    def __init__(self):
        self.values: dict[str, bytes] = {}
        self.given: list[str] = []

    def get_many(self, keys):
        return [self.values.get(key) for key in keys]

    def put_many(self, values):
        self.given.extend(values)
        self.values.update(values)


def parsed_and_shared(body: bytes, known: KnownEntries, content_type: str = ATOM):
    result = both(body, known, content_type)
    known.share()
    return result


def test_a_process_takes_the_entries_another_parsed_and_parses_only_the_new_one():
    shared = DictShared()
    first, second = KnownEntries(shared=shared, version="v1"), KnownEntries(shared=shared, version="v1")
    parsed_and_shared(feed(entry("c"), entry("b"), entry("a")), first)
    assert len(shared.given) == 3
    later = parsed_and_shared(feed(entry("d"), entry("c"), entry("b"), entry("a")), second)
    assert [e.guid for e in later.entries] == ["d", "c", "b", "a"]
    assert len(shared.given) == 4  # the second process parsed and shared the new entry only
    assert len(second.held) == 4


@pytest.mark.parametrize(("body", "content_type"), [(b, c) for _, b, c in CORPUS], ids=[n for n, _, _ in CORPUS])
def test_every_document_parses_the_same_from_entries_another_process_shared(body, content_type):
    shared = DictShared()
    parsed_and_shared(body, KnownEntries(shared=shared, version="v1"), content_type)
    fresh = KnownEntries(shared=shared, version="v1")
    parsed_and_shared(body, fresh, content_type)  # ``both``: the same as the whole parse


def test_entries_shared_under_another_parser_version_are_parsed_again():
    shared = DictShared()
    parsed_and_shared(feed(entry("b"), entry("a")), KnownEntries(shared=shared, version="old"))
    parsed_and_shared(feed(entry("c"), entry("b"), entry("a")), KnownEntries(shared=shared, version="new"))
    assert len(shared.given) == 2 + 3


@pytest.mark.parametrize("value", [b"", b"not json", b"[1, 2]", b'[["a"], {}, ""]', b'[[], {"name": 1}, ""]',
                                   b"\xff\xfe", b'{"a": 1}', b'[[1, "", "", "", "", "", "", null, null, "", "", ""], {}, ""]'])  # fmt: skip
def test_a_shared_value_that_does_not_decode_is_parsed_instead(value):
    shared = DictShared()
    parsed_and_shared(feed(entry("b"), entry("a")), KnownEntries(shared=shared, version="v1"))
    shared.values = dict.fromkeys(shared.values, value)
    parsed_and_shared(feed(entry("c"), entry("b"), entry("a")), KnownEntries(shared=shared, version="v1"))
    assert len(shared.given) == 2 + 3


class BrokenShared:
    def get_many(self, keys):
        raise ConnectionError("the shared tier is down")

    def put_many(self, values):
        raise ConnectionError("the shared tier is down")


def test_a_shared_tier_that_fails_only_costs_the_parse(caplog):
    known = KnownEntries(shared=BrokenShared(), version="v1")
    parsed_and_shared(feed(entry("b"), entry("a")), known)
    assert len(known.held) == 2 and not known.unshared
    fresh = KnownEntries(shared=BrokenShared(), version="v1")
    parsed_and_shared(feed(entry("c"), entry("b"), entry("a")), fresh)
    assert "the shared tier failed" in caplog.text


def test_what_a_process_shares_is_capped_per_entry_and_per_batch():
    shared = DictShared()
    known = KnownEntries(shared=shared, version="v1")
    huge = "x" * known_entries.MAX_SHARED_ENTRY_BYTES
    parsed_and_shared(feed(entry("big", text=huge), entry("small")), known)
    assert len(known.held) == 2 and len(shared.given) == 1  # the huge entry is held here, not shared
    many = [entry(f"e{i}", text="y" * 20_000) for i in range(40)]  # 800 kB of entries, each under the cap
    parsed_and_shared(feed(*many), known)
    shared_bytes = sum(len(shared.values[key]) for key in shared.given[1:])
    assert 0 < shared_bytes <= known_entries.MAX_SHARED_BYTES_AT_ONCE and len(shared.given) - 1 < 40
