"""The run-history query language: the `filter` and `orderby` of `experiments:query` and
`runs:query` (and `$filter`/`$orderby` on the GET lists' query strings).

Only what the SDKs send is understood: comparisons `<Field> eq|ne|gt|ge|lt|le <value>` joined
by `and`/`or` with parentheses, where a field is a path (`RunId`, `Status`, `ParentRunId`,
`Properties/azureml.runsource`, `Tags/team`, `name`) and a value is `null`, `true`, `false`, a
number, a quoted string, a date-time or a bare word (azureml-core writes
`(Status eq Completed)` and `(CreatedUtc ge 2024-03-01 09:00:00)`). The first path segment
matches a document key case-insensitively (`RunId` is `runId`); the ones after it are taken as
written (tag and property names are case-sensitive). A missing field is null. Anything else is
a `ValueError`, which the handlers answer with a 400, so a filter is never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

Doc = Mapping[str, Any]
Predicate = Callable[[Doc], bool]

_TOKEN = re.compile(
    r"\s*(\(|\)|'(?:[^']|'')*'"
    r"|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|[^\s()]+)")
_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")


def tokens(text: str) -> list[str]:
    """The filter's tokens; ValueError for characters no token covers."""
    found: list[str] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read the filter at {text[position:]!r}")
        found.append(match.group(1))
        position = match.end()
    return found


class _Parser:
    """Recursive descent: or-expressions of and-expressions of comparisons."""

    def __init__(self, text: str) -> None:
        self.items = tokens(text)
        self.at = 0

    def parse(self) -> Predicate:
        if not self.items:
            return lambda doc: True
        predicate = self._or()
        if self.at != len(self.items):
            raise ValueError(f"unexpected {self.items[self.at]!r} in the filter")
        return predicate

    def _peek(self) -> str | None:
        return self.items[self.at] if self.at < len(self.items) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ValueError("the filter ends too early")
        self.at += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while (self._peek() or "").lower() == "or":
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda doc: any(p(doc) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._term()]
        while (self._peek() or "").lower() == "and":
            self._take()
            parts.append(self._term())
        return parts[0] if len(parts) == 1 else lambda doc: all(p(doc) for p in parts)

    def _term(self) -> Predicate:
        if self._peek() == "(":
            self._take()
            inner = self._or()
            if self._take() != ")":
                raise ValueError("unbalanced parentheses in the filter")
            return inner
        return self._comparison()

    def _comparison(self) -> Predicate:
        field, operator, literal = self._take(), self._take().lower(), self._take()
        if operator not in _OPERATORS:
            raise ValueError(f"unknown operator {operator!r} in the filter")
        path, expected = field.split("/"), _literal(literal)
        return lambda doc: _compare(lookup(doc, path), operator, expected)


def parse_filter(text: str | None) -> Predicate:
    """A predicate over documents for `text` (everything passes for None or blank)."""
    return _Parser(text or "").parse()


def lookup(doc: Doc, path: Sequence[str]) -> Any:
    """The value at `path`, the first segment matched case-insensitively; None if missing."""
    value: Any = doc
    for index, name in enumerate(path):
        if not isinstance(value, Mapping):
            return None
        if index == 0 and name not in value:
            name = next((key for key in value if key.lower() == name.lower()), name)
        value = value.get(name)
    return value


def _literal(token: str) -> Any:
    lowered = token.lower()
    if lowered in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[lowered]
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+(\.\d+)?", token):
        return float(token)
    return token


def _compare(actual: Any, operator: str, expected: Any) -> bool:
    if expected is None or actual is None:
        same = actual is None and expected is None
        return same if operator == "eq" else (not same if operator == "ne" else False)
    left, right = _comparable(actual, expected)
    if operator in ("eq", "ne"):
        return bool(left == right) == (operator == "eq")
    try:
        return bool({"gt": left > right, "ge": left >= right, "lt": left < right,
                     "le": left <= right}[operator])
    except TypeError:
        return False


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Both sides as numbers, times or strings (case-insensitive, as the service compares)."""
    if isinstance(expected, float) and isinstance(actual, int | float):
        return float(actual), expected
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(actual).lower(), str(expected).lower()
    moments = _moment(str(actual)), _moment(str(expected))
    if moments[0] is not None and moments[1] is not None:
        return moments
    return str(actual).lower(), str(expected).lower()


def _moment(text: str) -> datetime | None:
    if not _DATE.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sort_docs(docs: Sequence[Doc], order_by: str | None, id_key: str) -> list[Doc]:
    """`docs` ordered by an `orderby` such as `StartTimeUtc desc` or `CreatedUtc desc, name`
    (missing values first when ascending, as SQL orders nulls), ties broken by `id_key`."""
    ordered = sorted(docs, key=lambda doc: str(doc.get(id_key) or ""))
    clauses = [part.split() for part in (order_by or "").split(",") if part.strip()]
    for clause in reversed(clauses):  # stable sorts, last key first
        if len(clause) > 2 or (len(clause) == 2 and clause[1].lower() not in ("asc", "desc")):
            raise ValueError(f"cannot order by {' '.join(clause)!r}")
        descending = len(clause) == 2 and clause[1].lower() == "desc"
        ordered.sort(key=_sort_by(clause[0].split("/")), reverse=descending)
    return ordered


def _sort_by(path: list[str]) -> Callable[[Doc], tuple[int, Any]]:
    return lambda doc: _sort_key(lookup(doc, path))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, float(value))
    return (2, str(value))
