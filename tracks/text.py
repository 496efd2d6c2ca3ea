"""Text -> tokens, and what a person tracks -> terms: one normalization for both sides (pure, no I/O).

- Normalized with NFKC and casefolded: ``Café``, ``CAFÉ`` and ``Cafe\u0301`` are one word; full-width letters too.
- A word is a run of letters, digits, underscores and combining marks (so Devanagari or Thai vowel signs do not
  split a word). Han, Hiragana and Katakana are written without spaces: each of their characters is a token, and
  a tracked word in those scripts is a phrase of characters.
- ``#tag`` (not glued to a word, a ``/`` or ``&``: ``C#``, ``/page#part`` and ``&#39;`` are no hashtags) gives the
  token ``#tag`` and its words, so a track of ``python`` sees ``#Python`` but a track of ``#python`` needs the tag.
- A track is up to ``MAX_TERMS`` terms, all required: a word, a ``#tag`` or a ``"quoted phrase"`` (its words next to
  each other, in order). ``node.js`` is the phrase ``node js``. Words are whole words: ``cat`` is not in
  ``concatenate`` nor in ``cats`` (no stemming).
- Every track has one key token that any matching post must contain (its longest tag, else its longest word):
  matching looks tracks up by the key tokens of a batch, never loops over all tracks.
"""

import re
import unicodedata
from dataclasses import dataclass

MAX_QUERY_LENGTH = 200
MAX_TERMS = 10
MAX_TOKEN_LENGTH = 100


# Where Unicode has combining marks: the Basic and Supplementary Multilingual Planes, and the variation selectors
# of plane 14. The other planes hold ideographs or nothing, and scanning them is most of the cost of an import.
MARK_PLANES = (range(0x20000), range(0xE0100, 0xE01F0))


def mark_class(planes=MARK_PLANES) -> str:
    """A regex character class body with every combining mark (categories Mn, Mc, Me) in ``planes``."""
    ranges: list[tuple[int, int]] = []
    for code in (code for plane in planes for code in plane):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)


_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_MARKS = mark_class()
_WORD = rf"[^\W{_CJK}]+(?:[{_MARKS}]+[^\W{_CJK}]*)*"  # marks are tried only where plain word characters end
_TOKEN = re.compile(rf"(?<![\w/&#])#((?:{_WORD}|[{_CJK}])+)|([{_CJK}])|({_WORD})")
_QUERY_PART = re.compile(r"\"([^\"]*)\"?|“([^”]*)”?|(\S+)")


class TrackQueryError(ValueError):
    pass


@dataclass(frozen=True)
class Tokens:
    words: tuple[str, ...]  # in order, hashtags' words included
    keys: frozenset[str]  # the words and the ``#tags``


@dataclass(frozen=True)
class TrackQuery:
    terms: tuple[tuple[str, ...], ...]  # each ("#tag",) or a sequence of words
    key: str

    @property
    def normalized(self) -> str:
        return " ".join(term[0] if len(term) == 1 else '"' + " ".join(term) + '"' for term in self.terms)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def tokenize(text: str) -> Tokens:
    """The tokens of a post's text (title and body) or of part of a track."""
    words: list[str] = []
    tags: set[str] = set()
    for tag, cjk, word in _TOKEN.findall(normalize(text)):
        if tag:
            tags.add("#" + tag)
            words.extend(w or c for _, c, w in _TOKEN.findall(tag))
        else:
            words.append(word or cjk)
    return Tokens(words=tuple(words), keys=frozenset(words) | tags)


def parse_track(query: str) -> TrackQuery:
    """What a person typed -> the terms a post must all contain, and the key token. Raises TrackQueryError."""
    query = query.strip()
    if not query:
        raise TrackQueryError("say what to track: a word, a #hashtag or a \"quoted phrase\"")
    if len(query) > MAX_QUERY_LENGTH:
        raise TrackQueryError(f"a track is at most {MAX_QUERY_LENGTH} characters")
    terms: list[tuple[str, ...]] = []
    for quoted, curly, bare in _QUERY_PART.findall(query):
        tokens = tokenize(quoted or curly or bare)
        if bare and bare.startswith("#") and tokens.keys - set(tokens.words) == {"#" + "".join(tokens.words)}:
            term: tuple[str, ...] = (normalize(bare),)  # one whole hashtag
        else:
            term = tokens.words
        if term and term not in terms:
            terms.append(term)
    if not terms:
        raise TrackQueryError("nothing to track there: use letters or digits")
    if len(terms) > MAX_TERMS:
        raise TrackQueryError(f"at most {MAX_TERMS} words or phrases in one track (make several tracks instead)")
    if any(len(token) > MAX_TOKEN_LENGTH for term in terms for token in term):
        raise TrackQueryError(f"a word of at most {MAX_TOKEN_LENGTH} characters, please")
    return TrackQuery(terms=tuple(terms), key=_key(terms))


def _key(terms: list[tuple[str, ...]]) -> str:
    """The token most likely to be rare: a hashtag, else the longest word (the first of equals)."""
    tags = [term[0] for term in terms if term[0].startswith("#")]
    if tags:
        return max(tags, key=len)
    return max((word for term in terms for word in term), key=len)


def matches(terms: tuple[tuple[str, ...], ...], tokens: Tokens) -> bool:
    """True if every term is in the text: a word or tag among its tokens, a phrase as consecutive words."""
    return all(_contains(term, tokens) for term in terms)


def _contains(term: tuple[str, ...], tokens: Tokens) -> bool:
    if len(term) == 1:
        return term[0] in tokens.keys
    if not tokens.keys.issuperset(term):
        return False
    words, size = tokens.words, len(term)
    return any(words[i : i + size] == term for i, word in enumerate(words) if word == term[0])
