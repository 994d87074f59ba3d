"""What reaches a terminal or a CI log from a server: made visible, never obeyed.

Ids, names and error messages come from the service. Printed raw, `ESC [2J` would clear the
screen, a newline would fake a line of output, a bidirectional override would reorder one.
Every output path passes server text through `visible` (one line) or `visible_lines`.
"""

from __future__ import annotations

import re

# Characters a server-chosen id could use to fake or hide output: control characters (ANSI
# escapes, newlines), Unicode line separators, bidirectional overrides and zero-width marks.
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def visible(text: object) -> str:
    """`text` on one line with every control or invisible character shown as an escape."""
    return _HIDDEN.sub(_escape_char, str(text))


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible_lines(text: object) -> str:
    """`text` with its line breaks kept and everything else hidden made visible."""
    return "\n".join(visible(line) for line in str(text).split("\n"))
