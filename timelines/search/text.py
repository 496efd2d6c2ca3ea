"""What text becomes in the search index, on both backends alike (pure, no I/O).

Tokens are made here, not by the database, so PostgreSQL and SQLite index the very same words and answer the
same queries: NFKC, case folded, Latin-script accents removed (``Café`` = ``cafe``), split into runs of letters
and digits; Han, Hiragana and Katakana (written without spaces) give one token per character, so a word in
those scripts is a phrase of characters. Where the post's language is known, each word also gets its Snowball
stem (PyStemmer) at the same position: a word query finds ``running`` by ``run``, a quoted phrase matches the
words as written only.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import Stemmer

MAX_TOKEN_LENGTH = 100  # longer runs are not words anyone searches for (hashes, base64)
MAX_INDEXED_CHARS = 100_000  # of a post's text; PostgreSQL caps positions and a tsvector's size anyway

# BCP 47 primary language subtags -> Snowball algorithms (those PyStemmer ships)
STEMMERS = {
    "ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek", "en": "english",
    "es": "spanish", "eu": "basque", "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi",
    "hu": "hungarian", "hy": "armenian", "id": "indonesian", "it": "italian", "lt": "lithuanian",
    "nb": "norwegian", "ne": "nepali", "nl": "dutch", "nn": "norwegian", "no": "norwegian",
    "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "sv": "swedish", "ta": "tamil",
    "tr": "turkish",
}  # fmt: skip

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_ACCENTS = re.compile("[\u0300-\u036f]+")  # the combining marks ``unaccent`` removes: Latin, Greek, Cyrillic


def fold(word: str) -> str:
    """One spelling per word: NFKC, case folded, accents off."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return unicodedata.normalize("NFC", _ACCENTS.sub("", decomposed))


def tokens(text: str) -> list[str]:
    """The folded words of ``text`` in order."""
    folded = fold(text)
    return [token for token in _TOKEN.findall(folded) if len(token) <= MAX_TOKEN_LENGTH]


def spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, folded word)`` in ``text`` itself: where the words are, for highlighting."""
    found = []
    for match in _TOKEN.finditer(text):
        word = fold(match.group())
        if word and len(word) <= MAX_TOKEN_LENGTH:
            found.append((match.start(), match.end(), word))
    return found


def language(tag: str) -> str:
    """``en-GB`` -> ``en``: the primary subtag, lower case; "" when it is not one."""
    primary = tag.strip().split("-")[0].split("_")[0].lower()
    return primary if primary.isascii() and primary.isalpha() and 2 <= len(primary) <= 3 else ""


@lru_cache(maxsize=64)
def _stemmer(lang: str) -> Stemmer.Stemmer | None:
    name = STEMMERS.get(lang)
    return Stemmer.Stemmer(name, 10_000) if name else None


def stems(words: list[str], lang: str) -> list[str]:
    """Each word's stem in ``lang`` ("" for a word that is its own stem); all "" when no stemmer knows ``lang``."""
    stemmer = _stemmer(lang)
    if stemmer is None:
        return [""] * len(words)
    return [stem if stem != word else "" for word, stem in zip(words, stemmer.stemWords(words), strict=True)]


def query_stems(word: str) -> set[str]:
    """The stems of a searched word in every language Chorus stems: posts are stemmed in their own language."""
    found = {_stemmer(lang).stemWord(word) for lang in STEMMERS}
    return found - {word, ""}


@dataclass
class Document:
    """One post as the index holds it: author words first (their own field), then title and text words; the
    stems of the words at the words' positions."""

    authors: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    stems: list[str] = field(default_factory=list)  # one per word, "" where none


def document(*, title: str, text: str, author_name: str, author_handle: str, lang: str) -> Document:
    words = tokens(f"{title}\n{text[:MAX_INDEXED_CHARS]}")
    return Document(authors=tokens(f"{author_name} {author_handle}"), words=words, stems=stems(words, lang))


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector(doc: Document) -> str:
    """The document as a PostgreSQL tsvector literal: author words weighted C, words A, stems B. Author words
    come first and a gap follows them, so no phrase of the text runs into them."""
    positions: dict[str, list[str]] = {}
    for n, word in enumerate(doc.authors, start=1):
        positions.setdefault(word, []).append(f"{n}C")
    start = len(doc.authors) + 2
    for n, (word, stem) in enumerate(zip(doc.words, doc.stems, strict=True), start=start):
        at = min(n, 16383)  # PostgreSQL's largest position
        positions.setdefault(word, []).append(f"{at}A")
        if stem:
            positions.setdefault(stem, []).append(f"{at}B")
    # at most 256 positions per lexeme are kept: the first ones
    return " ".join(f"{_lexeme(word)}:{','.join(at[:256])}" for word, at in positions.items())


def fts_columns(doc: Document) -> tuple[str, str, str]:
    """The document as SQLite FTS5 columns (author, words, stems): the tokens joined by spaces."""
    return " ".join(doc.authors), " ".join(doc.words), " ".join(stem for stem in doc.stems if stem)
