"""Selectors applied to inventory items: ids, name globs, field conditions, subject, all."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any

from amlctl.catalog import Catalog, Kind, SubjectLink
from amlctl.inventory import Item
from amlctl.manifest import Condition, Selector
from amlctl.subject import SubjectMatcher


class SubjectLinks:
    """The data subject's items in one workspace, and the keys other kinds reach them by.

    For every kind that others reach the subject through (runs), the keys of her items of it,
    per key field the links name (run ids for metrics and models, data container ids for
    artifacts); each kind's own link is read from the catalog (`Catalog.subject_link`).
    """

    def __init__(
        self, matcher: SubjectMatcher | None, catalog: Catalog, items: Mapping[str, Iterable[Item]]
    ) -> None:
        self.matcher, self.catalog = matcher, catalog
        self.keys: dict[tuple[str, str | None], set[str]] = {}
        # Keys of the items of `via` that name someone else: what belongs to them is nobody's
        # candidate, whatever display name it shows.
        self.others: dict[tuple[str, str | None], set[str]] = {}
        # (workspace, kind, id, name) of shared holders `owns` turned down, for the plan to say
        self.shared: set[tuple[str, str, str, str]] = set()
        if matcher is None:
            return
        for kind in catalog.kinds.values():
            link = kind.subject
            if link is None or link.via is None or (link.via, link.key) in self.keys:
                continue
            via = catalog.kind(link.via)
            listed = list(items.get(link.via, ()))
            mine = [matcher.matches(via, item.fields) for item in listed]
            self.keys[(link.via, link.key)] = {
                _key(item, link.key) for item, hers in zip(listed, mine, strict=True) if hers
            }
            self.others[(link.via, link.key)] = {
                _key(item, link.key)
                for item, hers in zip(listed, mine, strict=True)
                if not hers and _names_creator(via, item)
            }

    def owns(self, kind: Kind, item: Item) -> bool:
        link = self.catalog.subject_link(kind.name)
        if self.matcher is None or link is None:
            return False
        if link.creator:
            return self.matcher.matches(kind, item.fields)
        value = item.fields.get(link.field or "")
        key = (link.via or "", link.key)
        if value is None or str(value) not in self.keys.get(key, ()):
            return False
        if self._holds(kind, link) and str(value) in self.others.get(key, ()):
            # It holds her items and other people's (an experiment with her runs and theirs):
            # shared, so not hers; what of it is hers is erased by itself.
            self.shared.add((item.workspace, kind.name, item.id, item.name))
            return False
        return True

    def _holds(self, kind: Kind, link: SubjectLink) -> bool:
        """Whether items of `kind` hold the items they reach the subject through (runs lie
        under their experiment), rather than belong to one."""
        return link.via is not None and self.catalog.kind(link.via).parent == kind.name


    def candidate(self, kind: Kind, item: Item) -> bool:
        """Whether the item names the subject only by a display name (see SubjectMatcher),
        and the item it belongs to (a job's run) does not name somebody else."""
        if self.matcher is None or not self.matcher.candidate(kind, item.fields):
            return False
        link = kind.subject
        if link is None or link.via is None:
            return True
        value = item.fields.get(link.field or "")
        return value is None or str(value) not in self.others.get((link.via, link.key), ())


def _names_creator(kind: Kind, item: Item) -> bool:
    """Whether the item names its creator by object id (so it tells whose it is)."""
    creator = kind.subject.creator if kind.subject else ()
    return bool(creator) and bool(item.fields.get(creator[0]))


def _key(item: Item, field: str | None) -> str:
    return item.id if field is None else str(item.fields.get(field))


def matches(selector: Selector, kind: Kind, item: Item, subject: SubjectLinks) -> bool:
    """Whether `item` is selected: every criterion the selector gives must hold, and its
    `not:` (if any) must not."""
    if selector.exclude is not None and _picks(selector.exclude, kind, item, subject):
        return False
    return _picks(selector, kind, item, subject)


def _picks(selector: Selector, kind: Kind, item: Item, subject: SubjectLinks) -> bool:
    if selector.all:
        return True
    if selector.ids is not None and item.id not in selector.ids:
        return False
    if selector.name is not None and not fnmatch.fnmatchcase(item.name, selector.name):
        return False
    if not all(_holds(c, c.path in item.fields, item.fields.get(c.path)) for c in selector.where):
        return False
    return not selector.subject or subject.owns(kind, item)


def _holds(condition: Condition, present: bool, value: Any) -> bool:
    test, wanted = condition.test, condition.value
    if test == "absent":
        return present is not bool(wanted)
    if not present:
        return False  # a field the item lacks equals nothing, not even null: say `absent`
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
