"""Selectors applied to inventory items: ids, name globs, field conditions, subject, all."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable
from typing import Any

from amlctl.catalog import Catalog, Kind
from amlctl.inventory import Item
from amlctl.manifest import Condition, Selector
from amlctl.subject import SubjectMatcher


class SubjectLinks:
    """The data subject's runs in one workspace, and how other kinds point at them."""

    def __init__(
        self, matcher: SubjectMatcher | None, run_kind: Kind | None, runs: Iterable[Item]
    ) -> None:
        self.matcher = matcher
        self.run_ids: set[str] = set()
        self.run_keys: set[str] = set()  # run ids and their data container ids (dcid.<runId>)
        if matcher is None or run_kind is None:
            return
        for run in runs:
            if matcher.matches(run_kind, run.fields):
                self.run_ids.add(run.id)
                self.run_keys.add(run.id)
                self.run_keys |= {
                    str(v)
                    for v in run.fields.values()
                    if isinstance(v, str) and v.startswith("dcid.")
                }

    def owns(self, kind: Kind, catalog: Catalog, item: Item) -> bool:
        if self.matcher is None:
            return False
        if kind.subject_fields:
            return self.matcher.matches(kind, item.fields)
        if kind.run_field:
            return str(item.fields.get(kind.run_field)) in self.run_keys
        parent = catalog.kinds.get(kind.parent) if kind.parent else None
        return bool(parent and parent.subject_fields) and item.parent in self.run_ids


def matches(
    selector: Selector, kind: Kind, catalog: Catalog, item: Item, subject: SubjectLinks
) -> bool:
    """Whether `item` is selected: every criterion the selector gives must hold."""
    if selector.all:
        return True
    if selector.ids is not None and item.id not in selector.ids:
        return False
    if selector.name is not None and not fnmatch.fnmatchcase(item.name, selector.name):
        return False
    if not all(_holds(c, item.fields.get(c.path)) for c in selector.where):
        return False
    return not selector.subject or subject.owns(kind, catalog, item)


def _holds(condition: Condition, value: Any) -> bool:
    test, wanted = condition.test, condition.value
    if test == "equals":
        return _same(value, wanted)
    if test == "in":
        return isinstance(wanted, list) and any(_same(value, choice) for choice in wanted)
    if not isinstance(value, str):
        return False
    if test == "glob":
        return fnmatch.fnmatchcase(value, str(wanted))
    if test == "regex":
        # The whole value must match: a partial match would quietly widen a delete.
        return re.fullmatch(str(wanted), value) is not None
    when, bound = _moment(value), _moment(str(wanted))
    if when is None or bound is None:
        return False
    return when < bound if test == "before" else when > bound


def _same(value: Any, wanted: Any) -> bool:
    """JSON equality: a boolean equals only a boolean. Python's `False == 0` would let
    `{equals: 0}` select every item whose field is false, quietly widening a delete."""
    if isinstance(value, bool) or isinstance(wanted, bool):
        return type(value) is type(wanted) and value == wanted
    return bool(value == wanted)


def _moment(text: str) -> dt.datetime | None:
    """A date or an RFC 3339 time as an aware datetime (dates are midnight UTC). Azure writes
    seven fractional digits, which Python does not parse, so they are trimmed to six."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
