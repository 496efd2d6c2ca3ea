"""Marking the words a search found, in a post's sanitized HTML or plain text (pure, no I/O).

Only text between tags is touched, and every piece of it is escaped again: the result is as safe as the
sanitized HTML it came from. A word is marked when its folded form, or its stem in the post's language, is one
the search asked for.
"""

import re
from html import escape, unescape

from timelines.search.text import spans, stems

_TAG = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")


def _marked(text: str, words: frozenset[str], lang: str) -> str:
    found = spans(text)
    wanted = words | set(stems(sorted(words), lang)) - {""}
    stemmed = stems([word for _, _, word in found], lang)
    out, at = [], 0
    for (start, end, word), stem in zip(found, stemmed, strict=True):
        if word in wanted or (stem and stem in wanted):
            out += [escape(text[at:start], quote=False), "<mark>", escape(text[start:end], quote=False), "</mark>"]
            at = end
    out.append(escape(text[at:], quote=False))
    return "".join(out)


def mark_text(text: str, words: frozenset[str], lang: str = "") -> str:
    """``text`` as escaped HTML with the found words in ``<mark>``."""
    return _marked(text, words, lang) if words else escape(text, quote=False)


def mark_html(html: str, words: frozenset[str], lang: str = "") -> str:
    """Sanitized ``html`` with the found words of its text in ``<mark>``."""
    if not words:
        return html
    out, at = [], 0
    for tag in _TAG.finditer(html):
        out += [_marked(unescape(html[at : tag.start()]), words, lang), tag.group()]
        at = tag.end()
    out.append(_marked(unescape(html[at:]), words, lang))
    return "".join(out)
