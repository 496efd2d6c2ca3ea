"""The search box's language -> a ``SearchQuery`` (pure, no I/O; tested by a table).

    word            the word (accents and case ignored; stems where the post's language is known)
    "a phrase"      these words, next to each other, as written
    -word -"a b"    posts without it
    author:alice    the author's name or handle holds these words (``author:"Ada Lovelace"``)
    source:blog     a source the person follows whose title holds these words, or ``source:<id>``
    tag:news        a source the person tagged so
    is:unread       is:starred
    before:2024-05-01  after:2024-04-01   published before that day / on or after it (UTC)
    lang:fr         posts in that language (where their feed says it)

Everything else is words. An operator with an empty or bad value is an error with a message for the person.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from timelines.search.text import fold, language, tokens

MAX_QUERY_LENGTH = 500
MAX_TERMS = 20

_PART = re.compile(r'(-?)(?:([a-z]+):)?(?:"([^"]*)"?|“([^”]*)”?|(\S+))', re.IGNORECASE)
_OPERATORS = {"author", "source", "tag", "is", "before", "after", "lang"}


class SearchQueryError(ValueError):
    pass


@dataclass(frozen=True)
class Term:
    """A word (one token) or a phrase (several, in order), matched in the post's words or its author's."""

    words: tuple[str, ...]
    phrase: bool = False  # quoted: the words as written, no stems


@dataclass
class SearchQuery:
    terms: list[Term] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    authors: list[Term] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # folded title words, or a source id as digits
    tags: list[str] = field(default_factory=list)  # folded
    unread: bool = False
    starred: bool = False
    before: datetime | None = None
    after: datetime | None = None
    lang: str = ""

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.excluded or self.authors)

    @property
    def is_empty(self) -> bool:
        return not (self.has_text or self.sources or self.tags or self.unread or self.starred or self.before
                    or self.after or self.lang)  # fmt: skip

    @property
    def words_only(self) -> bool:
        """Only words and phrases: the search can be saved as a track."""
        return bool(self.terms) and self == SearchQuery(terms=self.terms)

    def highlighted(self) -> set[str]:
        """The folded words a result shows marked."""
        return {word for term in self.terms for word in term.words}


def _day(value: str, operator: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise SearchQueryError(f"{operator}: wants a date like 2024-05-01, not {value!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _term(value: str, *, quoted: bool) -> Term | None:
    words = tuple(tokens(value))
    if not words:
        return None
    return Term(words=words, phrase=quoted or len(words) > 1)


def parse_query(raw: str) -> SearchQuery:
    """Raises ``SearchQueryError`` with a message for the person."""
    raw = raw.strip()
    if len(raw) > MAX_QUERY_LENGTH:
        raise SearchQueryError(f"a search is at most {MAX_QUERY_LENGTH} characters")
    query = SearchQuery()
    for negated, operator, quoted, curly, bare in _PART.findall(raw):
        value = quoted or curly or bare
        is_quoted = not bare
        operator = operator.lower()
        if operator and operator not in _OPERATORS:  # "http://x" or "note:": words, not an operator
            value, operator, is_quoted = f"{operator}:{value}", "", False
        if operator:
            _apply(query, operator, value, negated=bool(negated))
        elif (term := _term(value, quoted=is_quoted)) is not None:
            (query.excluded if negated else query.terms).append(term)
    if len(query.terms) + len(query.excluded) + len(query.authors) > MAX_TERMS:
        raise SearchQueryError(f"at most {MAX_TERMS} words or phrases in one search")
    if query.before and query.after and query.after >= query.before:
        raise SearchQueryError("after: must be a day before before:")
    return query


def _apply(query: SearchQuery, operator: str, value: str, *, negated: bool) -> None:
    if not value.strip():
        raise SearchQueryError(f"{operator}: needs a value")
    if negated:
        raise SearchQueryError(f"-{operator}: is not supported; only words and phrases can be excluded")
    if operator == "author":
        if (term := _term(value, quoted=True)) is None:
            raise SearchQueryError("author: needs letters or digits")
        query.authors.append(term)
    elif operator == "source":
        query.sources.append(value if value.isdigit() else " ".join(tokens(value)))
    elif operator == "tag":
        query.tags.append(fold(value.strip()))
    elif operator == "is":
        if value.lower() not in ("unread", "starred"):
            raise SearchQueryError(f"is: is unread or starred, not {value!r}")
        setattr(query, value.lower(), True)
    elif operator in ("before", "after"):
        setattr(query, operator, _day(value, operator))
    elif operator == "lang":
        query.lang = language(value)
        if not query.lang:
            raise SearchQueryError(f"lang: wants a language code like en or fr, not {value!r}")
