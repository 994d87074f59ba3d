"""Reading a big JSON file as a stream: its values one at a time, never the whole document.

`JsonText` decodes the file as it is read and parses it with `json.JSONDecoder.raw_decode`
over a buffer of about a MiB (`CHUNK`), dropping what was parsed. The reader walks the
structure itself (`expect("{")`, `value()`, `take()`), so it keeps only what it wants of each
value: a plan's changes go to a temporary file, an export index's entries to a database.

Anything it does not expect (invalid JSON, bytes that are not UTF-8, text after the document)
raises `NotStreamable`: the caller then reads the whole file with `json.loads`, whose message
names the place. A bad file is rare, and its error must read the same whichever way it was
found.
"""

from __future__ import annotations

import codecs
import json
from typing import IO, Any

CHUNK = 1 << 20  # bytes read at a time
_WHITESPACE = " \t\n\r"  # JSON's, and only JSON's


class NotStreamable(Exception):
    """The stream reader met something only the whole-file reader can explain."""


class JsonText:
    """The file's text, decoded as it is read; `pos` is where parsing stands in `buffer`."""

    def __init__(self, stream: IO[bytes], decoder: json.JSONDecoder | None = None) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buffer, self.pos, self.eof = "", 0, False
        self.json = decoder or json.JSONDecoder()

    def _more(self) -> None:
        if self.eof:
            raise NotStreamable
        data = self.stream.read(CHUNK)
        try:
            decoded = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise NotStreamable from None
        self.eof = not data
        # Drop what was parsed: the buffer holds about one chunk, whatever the file's size.
        self.buffer = self.buffer[self.pos :] + decoded
        self.pos = 0

    def _skip_space(self) -> None:
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer) or self.eof:
                return
            self._more()

    def peek(self) -> str:
        self._skip_space()
        if self.pos >= len(self.buffer):
            raise NotStreamable
        return self.buffer[self.pos]

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def back(self, expected: str) -> None:
        """The character just taken must have been `expected`."""
        if self.buffer[self.pos - 1] != expected:
            raise NotStreamable

    def expect(self, char: str) -> None:
        if self.take() != char:
            raise NotStreamable

    def value(self) -> Any:
        """The next JSON value, whole. A value that ends where the buffer does may go on (a
        number cut in two), so it counts only once more text follows it, or the file ends."""
        self._skip_space()
        while True:
            try:
                value, end = self.json.raw_decode(self.buffer, self.pos)
            except ValueError:  # a JSONDecodeError, or a repeated key or a NaN
                value, end = None, -1
            if end != -1 and (end < len(self.buffer) or self.eof):
                self.pos = end
                return value
            self._more()  # raises NotStreamable at the end of the file

    def at_end(self) -> bool:
        self._skip_space()
        return self.pos >= len(self.buffer) and self.eof

