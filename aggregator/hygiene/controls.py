"""C0 control characters: what XML 1.0 forbids (all of C0 but tab, LF and CR), and what PostgreSQL refuses in
text (NUL). Feed content is stripped of them at ingest; requests carrying them are refused."""

import re

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None


def strip_controls(text: str) -> str:
    """``text`` without C0 control characters other than tab, LF and CR (the same string when it has none)."""
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


def first_control(text: str) -> str:
    """The first refused character as ``U+0000``, or "" when there is none."""
    match = _CONTROLS.search(text)
    return f"U+{ord(match.group()):04X}" if match else ""
