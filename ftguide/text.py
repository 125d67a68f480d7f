"""Text from data/ in words: names listed in prose (`join`), and untrusted text shown in an error
message, short and with what the eye cannot see (`shown`).

A cell may be 100,000 characters long, or differ from the expected text only by a Cyrillic 'В', a
no-break space or a zero-width space. ``shown`` quotes the start of it and names every character
outside printable ASCII by its code point, so two strings that look the same can be told apart.
"""

import unicodedata

MAX_SHOWN = 80  # characters of a cell quoted in a message
MAX_NAMED = 5  # unusual characters named in one message


def shown(value) -> str:
    """'text' quoted, cut to MAX_SHOWN characters, with its unusual characters named."""
    text = str(value)
    cut = _one_line(text[:MAX_SHOWN])
    quoted = f"'{cut}'" if len(text) <= MAX_SHOWN else f"'{cut}…' ({len(text):,} characters)"
    notes = [describe(char) for char in dict.fromkeys(text) if not _plain(char)][:MAX_NAMED]
    if text != text.strip():
        notes.append("a space at the start or end")
    return quoted + (f" (contains {', '.join(notes)})" if notes else "")


def join(names) -> str:
    """Names in prose: "a", "a and b", "a, b and c"."""
    names = list(names)
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def describe(char: str) -> str:
    """'В' (U+0412 CYRILLIC CAPITAL LETTER VE); control characters by code point and category."""
    name = unicodedata.name(char, None) or f"control character, category {unicodedata.category(char)}"
    visible = char if char.isprintable() and not char.isspace() else ""
    return f"{visible!r} (U+{ord(char):04X} {name})" if visible else f"U+{ord(char):04X} {name}"


def _one_line(text: str) -> str:
    """Line breaks and other control characters as escapes, so a message stays on one line."""
    return "".join(char if char.isprintable() or char == " " else repr(char)[1:-1] for char in text)


def _plain(char: str) -> bool:
    return " " <= char <= "~"
