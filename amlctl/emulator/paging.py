"""Keyset paging with opaque tokens, shared by every list endpoint.

A token encodes the last id served and how many empty pages are still owed before the next
real page (`EmulatorConfig.empty_pages` makes the emulator serve empty pages that still carry a
next link, which real services do and naive clients mishandle).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from amlctl.emulator.context import Context

T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    after: str
    empties: int


def encode_token(cursor: Cursor) -> str:
    raw = json.dumps({"v": 1, "a": cursor.after, "e": cursor.empties}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str) -> Cursor:
    """The cursor in a token; ValueError if the token is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"malformed continuation token {token!r}") from error
    if not isinstance(data, dict) or data.get("v") != 1:
        raise ValueError(f"malformed continuation token {token!r}")
    after, empties = data.get("a"), data.get("e")
    if not isinstance(after, str) or not isinstance(empties, int) or empties < 0:
        raise ValueError(f"malformed continuation token {token!r}")
    return Cursor(after, empties)


def page(
    ctx: Context, family: str, token: str | None, fetch: Callable[[str, int], Sequence[T]],
    key: Callable[[T], str], size: int | None = None,
) -> tuple[Sequence[T], str | None]:
    """One page: `fetch(after, limit)` reads rows by key; returns the rows and the next token."""
    owed = ctx.config.empty_pages
    if token:
        try:
            cursor = decode_token(token)
        except ValueError as error:
            raise ctx.fail(400, "InvalidContinuationToken", str(error)) from error
    else:
        cursor = Cursor("", owed)
    if cursor.empties > 0:
        return [], encode_token(Cursor(cursor.after, cursor.empties - 1))
    limit = size or ctx.config.page_size(family)
    rows = fetch(cursor.after, limit + 1)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_token(Cursor(key(rows[-1]), owed))


def size_arg(ctx: Context, name: str) -> int | None:
    """A client page-size parameter (`count`, `$top`), checked; None when absent."""
    value = ctx.request.arg(name, fold=True)
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 10000:
        raise ctx.fail(400, "InvalidParameter", f"{name} must be an integer from 1 to 10000")
    return int(value)


def page_list(ctx: Context, family: str, token: str | None, rows: Sequence[T],
              size: int | None = None) -> tuple[Sequence[T], str | None]:
    """One page of rows already filtered and ordered in memory (the `:query` calls, which
    order by other fields than the id): the token holds the offset of the next row."""
    owed = ctx.config.empty_pages
    cursor = Cursor("0", owed)
    if token:
        try:
            cursor = decode_token(token)
        except ValueError as error:
            raise ctx.fail(400, "InvalidContinuationToken", str(error)) from error
        if not cursor.after.isdigit():
            raise ctx.fail(400, "InvalidContinuationToken",
                           f"continuation token {token!r} is not one of this query's")
    if cursor.empties > 0:
        return [], encode_token(Cursor(cursor.after, cursor.empties - 1))
    start, limit = int(cursor.after), size or ctx.config.page_size(family)
    end = start + limit
    return rows[start:end], encode_token(Cursor(str(end), owed)) if end < len(rows) else None
