"""The search language, by a table: what the box's text becomes (pure: no database)."""

from datetime import UTC, datetime

import pytest

from timelines.search.query import SearchQuery, SearchQueryError, Term, parse_query


def W(*words, phrase=False):
    return Term(words=words, phrase=phrase or len(words) > 1)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Café", SearchQuery(terms=[W("cafe")])),
    ("  two words ", SearchQuery(terms=[W("two"), W("words")])),
    ('"a Phrase"', SearchQuery(terms=[W("a", "phrase")])),
    ('“curly phrase”', SearchQuery(terms=[W("curly", "phrase")])),
    ('"one"', SearchQuery(terms=[W("one", phrase=True)])),
    ("node.js", SearchQuery(terms=[W("node", "js")])),
    ("-spam -\"bad words\"", SearchQuery(excluded=[W("spam"), W("bad", "words")])),
    ("author:Ada", SearchQuery(authors=[W("ada", phrase=True)])),
    ('author:"Ada Lovelace"', SearchQuery(authors=[W("ada", "lovelace")])),
    ("source:42 source:The-Blog", SearchQuery(sources=["42", "the blog"])),
    ("tag:News", SearchQuery(tags=["news"])),
    ("is:unread IS:Starred", SearchQuery(unread=True, starred=True)),
    ("before:2024-05-01", SearchQuery(before=datetime(2024, 5, 1, tzinfo=UTC))),
    ("after:2024-04-01 x", SearchQuery(terms=[W("x")], after=datetime(2024, 4, 1, tzinfo=UTC))),
    ("lang:fr-CA", SearchQuery(lang="fr")),
    ("https://example.org/a", SearchQuery(terms=[W("https", "example", "org", "a")])),
    ("note:this", SearchQuery(terms=[W("note", "this")])),
    ("東京", SearchQuery(terms=[W("東", "京")])),
    ("#python", SearchQuery(terms=[W("python")])),
    ("--- ... !!!", SearchQuery()),
    ("nul\x00byte", SearchQuery(terms=[W("nul", "byte")])),
])  # fmt: skip
def test_what_the_box_says_becomes_a_query(raw, expected):
    assert parse_query(raw) == expected


@pytest.mark.parametrize(("raw", "message"), [
    ("before:tomorrow", "before: wants a date like 2024-05-01"),
    ("is:read", "is: is unread or starred"),
    ('author:""', "author: needs a value"),
    ("author:!!!", "author: needs letters or digits"),
    ("-author:bob", "-author: is not supported"),
    ("lang:12", "lang: wants a language code"),
    ("after:2024-05-02 before:2024-05-01", "after: must be a day before before:"),
    ("x" * 501, "at most 500 characters"),
    (" ".join(f"w{n}" for n in range(21)), "at most 20 words"),
])  # fmt: skip
def test_bad_searches_say_why(raw, message):
    with pytest.raises(SearchQueryError, match=message):
        parse_query(raw)


def test_only_words_and_phrases_can_become_a_track():
    assert parse_query('cats "big dogs"').words_only
    assert not parse_query("cats is:unread").words_only and not parse_query("cats -dogs").words_only
