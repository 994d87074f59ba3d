"""A fast, conservative check that one change object satisfies `$defs/change` of the schema.

jsonschema spends about 0.2 ms on each change, so checking a 100,000-change plan would take
20 s. `change_conforms` returns True only for changes the schema accepts (tests compare the two
on thousands of mutated changes); the validator then runs jsonschema only on the changes this
check refuses, to report them in the schema's own words. It may refuse more than the schema
does: that only costs time, never correctness.
"""

from __future__ import annotations

import re
from typing import Any

CHANGE_KEYS = frozenset({
    "address", "workspace", "kind", "id", "name", "action", "export_state", "method", "url",
    "fingerprint", "file", "long_running", "after", "erasure", "reason", "title", "instructions",
})
_KIND = re.compile(r"[a-z][a-z0-9_-]*")
_URL = re.compile(r"https://[^/?#@\s]+/\S*")
_FINGERPRINT = re.compile(r"etag:.+|sha256:[0-9a-f]{64}")

# Per action: allowed methods, which of url/fingerprint/export_state/file/title/instructions
# must be a string (True) or null (False) (a field left out may be either), and whether
# long_running may be true.
_RULES: dict[str, tuple[frozenset[str | None], dict[str, bool], bool]] = {
    "delete": (frozenset({"DELETE", "POST"}), {"url": True, "fingerprint": True,
                                               "export_state": False, "file": False,
                                               "title": False, "instructions": False},
               True),
    "blocked": (frozenset({"DELETE", "POST"}), {"url": True, "fingerprint": True,
                                                "export_state": False, "file": False,
                                                "title": False, "instructions": False},
                True),
    "candidate": (frozenset({"GET", "DELETE", "POST"}), {"url": True, "fingerprint": True,
                                                         "export_state": False, "file": False,
                                                         "title": False, "instructions": False},
                  False),
    "export": (frozenset({"GET"}), {"url": True, "fingerprint": True, "export_state": True,
                                    "file": True, "title": False, "instructions": False},
               False),
    "unchanged": (frozenset({"GET"}), {"url": True, "fingerprint": True, "export_state": False,
                                       "file": True, "title": False, "instructions": False},
                  False),
    # An absent item may have no URL: the planner cannot always address what is not there.
    "absent": (frozenset({"GET", "DELETE", "POST"}), {"fingerprint": False, "export_state": False,
                                              "file": False, "title": False,
                                              "instructions": False},
               True),
    "manual": (frozenset({None}), {"url": False, "fingerprint": False, "export_state": False,
                                   "file": False, "title": True, "instructions": True},
               False),
}


def change_conforms(change: Any, *, strict: bool = True) -> bool:
    """True only if the schema accepts `change`; `strict` forbids keys beyond format 1.1's."""
    if type(change) is not dict:
        return False
    keys = change.keys()
    if (keys != CHANGE_KEYS) if strict else not (keys >= CHANGE_KEYS):
        return False
    return _fields_conform(change) and _action_conforms(change)


def _fields_conform(c: dict[str, Any]) -> bool:
    return (
        _text(c["address"]) and _text(c["id"])
        and _text(c["workspace"]) and "/" not in c["workspace"]
        and type(c["kind"]) is str and _KIND.fullmatch(c["kind"]) is not None
        and _str_or_none(c["name"]) and type(c["reason"]) is str
        and _str_or_none(c["title"]) and _str_or_none(c["instructions"])
        and c["export_state"] in (None, "new", "changed")
        and c["method"] in (None, "GET", "DELETE", "POST")
        and type(c["after"]) is list and all(_text(a) for a in c["after"])
        and len(set(c["after"])) == len(c["after"])
        and (c["action"] == "delete" or not c["after"])
        and (c["url"] is None or (type(c["url"]) is str and _URL.fullmatch(c["url"]) is not None))
        and (c["fingerprint"] is None or (type(c["fingerprint"]) is str
                                          and _FINGERPRINT.fullmatch(c["fingerprint"]) is not None))
        and (c["file"] is None or (_text(c["file"]) and c["file"][0] not in "/\\"))
        and type(c["long_running"]) is bool
        and c["erasure"] in (None, "soft", "hard", "irreversible")
    )


def _action_conforms(c: dict[str, Any]) -> bool:
    rule = _RULES.get(c["action"]) if type(c["action"]) is str else None
    if rule is None:
        return False
    methods, strings, long_running_allowed = rule
    if c["method"] not in methods or (c["long_running"] and not long_running_allowed):
        return False
    return all((c[key] is not None) is wanted for key, wanted in strings.items())


def _text(value: Any) -> bool:
    return type(value) is str and value != ""


def _str_or_none(value: Any) -> bool:
    return value is None or type(value) is str
