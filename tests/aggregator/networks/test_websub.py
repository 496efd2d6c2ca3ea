"""WebSub discovery and signatures, pure: fixture bytes and headers in, hubs and topic out (websub.rocks 100-104)."""

import hashlib
import hmac

import pytest

from aggregator.networks.websub import discover, new_secret, signature_valid

from tests.servers.processes import ROOT

TESTDATA = ROOT / "aggregator" / "networks" / "websub" / "testdata"
FETCHED = "https://dora.example.org/fetched"


def links_of(name: str, headers: dict | None = None, content_type: str = ""):
    headers = dict(headers or {})
    if content_type:
        headers["content-type"] = content_type
    return discover((TESTDATA / name).read_bytes(), url=FETCHED, headers=headers)


def test_100_the_link_header_names_hub_and_self():
    links = links_of("no_hub.xml", {"link": '<https://hub.example.net/>; rel="hub", <https://dora.example.org/topic>; rel="self"'})
    assert links.hubs == ("https://hub.example.net/",) and links.topic == "https://dora.example.org/topic"


def test_a_link_header_with_several_rels_and_relative_targets():
    links = links_of("no_hub.xml", {"link": '</hub>; rel="hub other", <feed.xml>; rel=self'})
    assert links.hubs == ("https://dora.example.org/hub",) and links.topic == "https://dora.example.org/feed.xml"


def test_101_html_head_links_and_not_those_in_the_body():
    links = links_of("html_hub.html", content_type="text/html")
    assert links.hubs == ("https://hub.example.net/",) and links.topic == "https://dora.example.org/notes/"


def test_102_atom_feed_links_and_not_an_entry_s():
    links = links_of("atom_hub.xml", content_type="application/atom+xml")
    assert links.hubs == ("https://hub.example.net/",) and links.topic == "https://dora.example.org/atom.xml"


def test_103_rss_atom_links_every_hub_in_order_and_none_from_cdata():
    links = links_of("rss_hub.xml", content_type="application/rss+xml")
    assert links.hubs == ("https://hub.example.net/", "https://second-hub.example.net/")
    assert links.topic == "https://dora.example.org/rss.xml"


def test_104_the_link_header_wins_over_the_document():
    links = links_of("atom_hub.xml", {"link": '<https://header-hub.example.net/>; rel="hub", <https://dora.example.org/header-topic>; rel="self"'})
    assert links.hubs == ("https://header-hub.example.net/",) and links.topic == "https://dora.example.org/header-topic"


def test_json_feed_hubs_of_type_websub_only():
    links = links_of("json_feed_hub.json", content_type="application/feed+json")
    assert links.hubs == ("https://hub.example.net/",) and links.topic == "https://dora.example.org/feed.json"


def test_without_self_the_fetched_url_is_the_topic_and_without_hub_nothing_is_pushed():
    assert links_of("no_hub.xml").topic == FETCHED and not links_of("no_hub.xml").pushed
    header_hub_only = links_of("no_hub.xml", {"link": "<https://hub.example.net/>; rel=hub"})
    assert header_hub_only.hubs == ("https://hub.example.net/",) and header_hub_only.topic == FETCHED


def test_hubs_that_are_not_web_urls_are_dropped():
    links = discover(b"", url=FETCHED, headers={"link": '<javascript:alert(1)>; rel="hub", <ftp://x/>; rel="hub"'})
    assert not links.pushed


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
def test_signatures_of_every_algorithm_are_checked(algorithm):
    secret, body = new_secret(), b"<feed/>"
    good = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    assert signature_valid(body, secret=secret, header=f"{algorithm}={good}")
    assert signature_valid(body, secret=secret, header=f"{algorithm.upper()}={good.upper()}")
    assert not signature_valid(body + b" ", secret=secret, header=f"{algorithm}={good}")
    assert not signature_valid(body, secret="another", header=f"{algorithm}={good}")


@pytest.mark.parametrize("header", ["", "sha256", "sha256=", "md5=0123", "nonsense"])
def test_missing_or_malformed_signatures_are_invalid(header):
    assert not signature_valid(b"<feed/>", secret="s", header=header)


def test_each_secret_is_fresh():
    assert new_secret() != new_secret() and len(new_secret()) == 64
