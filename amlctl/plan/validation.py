"""Every check a plan document must pass before anything reads it: version, schema, integrity.

`problems(doc, file)` returns all problems found, each a Diagnostic naming the file and the JSON
path (a plan file is JSON without line marks, so line and col are NO_PLACE), so one error can list
them together. Order of the checks: the major version first (a 2.x plan is rejected with one clear
message rather than a wall of schema errors), then the JSON Schema, then what a schema cannot say:
the digest, the summary, the order and uniqueness of changes, and the safety of URLs and paths.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema

from amlctl import schemacheck
from amlctl.canonical import Made, compute_digest
from amlctl.errors import NO_PLACE, Diagnostic, format_path
from amlctl.plan import shape
from amlctl.plan.model import ACTION_ORDER, Action, phase_of

FORMAT_VERSION = "1.1"
SUPPORTED_MAJOR = 1
MAX_PROBLEMS = 50  # a plan with 100k broken changes must still give a readable error

_ACTION_RANK = {action.value: rank for rank, action in enumerate(ACTION_ORDER)}
# Query parameters that carry credentials in Azure URLs (SAS signatures, OAuth tokens, keys).
_SECRET_PARAMS = frozenset(
    {"access_token", "token", "sig", "signature", "client_secret", "password", "api-key",
     "api_key", "apikey", "code", "key"}
)

_Problem = tuple[str, str]  # (JSON path, message), until `problems` names the file


def major_minor(version: object) -> tuple[int, int] | None:
    """Parse "1.0" into (1, 0); None when it is not a MAJOR.MINOR string."""
    if not isinstance(version, str):
        return None
    match = re.fullmatch(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", version)
    return (int(match[1]), int(match[2])) if match else None


def problems(doc: object, file: str) -> list[Diagnostic]:
    """Every problem with the plan document of `file`; an empty list means it is a valid plan."""
    return [Diagnostic(file, NO_PLACE, NO_PLACE, where, message) for where, message in _all(doc)]


def _all(doc: object) -> list[_Problem]:
    if not isinstance(doc, dict):
        return [("$", "a plan must be a JSON object")]
    version = major_minor(doc.get("format_version"))
    if version is None:
        return [("$.format_version", "missing or not a version like \"1.0\"")]
    if version[0] != SUPPORTED_MAJOR:
        return [("$.format_version", f"unsupported plan format {doc['format_version']}: this "
                 f"amlctl reads format {SUPPORTED_MAJOR}.x; use the amlctl that wrote the plan")]
    if version < (1, 1):
        return [("$.format_version", f"plan format {doc['format_version']} has no delete "
                 "order (format 1.1 added it); make a new plan")]
    found = _schema_problems(doc, strict=version[1] == 1)
    if not found:  # the remaining checks rely on the shape the schema guarantees
        found += _summary_problems(doc)
        found += list(_change_problems(doc))
        found += _order_problems(doc["changes"])
    found += _digest_problems(doc)
    return found[:MAX_PROBLEMS] + _overflow(len(found))


def _overflow(count: int) -> list[_Problem]:
    if count <= MAX_PROBLEMS:
        return []
    return [("$", f"... and {count - MAX_PROBLEMS} more problems")]


@cache
def _schema(strict: bool) -> Mapping[str, Any]:
    schema = schemacheck.load_schema("plan")
    # A newer 1.x may add properties; an older reader ignores them (additive minor bumps).
    return schema if strict else _without_additional_properties(schema)


@cache
def _validator(strict: bool, part: str) -> jsonschema.Draft202012Validator:
    """The validator of the whole document ("plan") or of one change ("change")."""
    schema = _schema(strict)
    if part == "change":
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"],
                  "$ref": "#/$defs/change"}
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _without_additional_properties(schema: Any) -> Any:
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("additionalProperties") is False:
                del node["additionalProperties"]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return schema


def _schema_problems(doc: Mapping[str, Any], *, strict: bool) -> list[_Problem]:
    changes = doc.get("changes")
    if not isinstance(changes, list | Made):  # Made: the changes of a plan being written
        return _errors(_validator(strict, "plan"), doc, ())
    # The document without its changes, then only the changes the fast check refuses.
    found = _errors(_validator(strict, "plan"), {**doc, "changes": []}, ())
    for index, change in enumerate(changes):
        if not shape.change_conforms(change, strict=strict):
            found += _errors(_validator(strict, "change"), change, ("changes", index))
    return found


def _errors(
    validator: jsonschema.Draft202012Validator, instance: Any, prefix: tuple[str | int, ...]
) -> list[_Problem]:
    errors = sorted(validator.iter_errors(instance), key=_error_order)
    is_change = bool(prefix) and isinstance(instance, dict)
    return [
        (format_path((*prefix, *error.absolute_path)), _explain(error, instance, is_change))
        for error in errors
    ]


def _error_order(error: jsonschema.ValidationError) -> list[tuple[int, int, str]]:
    """Errors in document order: indexes compare as numbers, keys as text."""
    return [(1, part, "") if isinstance(part, int) else (0, 0, part) for part in error.path]


def _explain(error: jsonschema.ValidationError, instance: Any, is_change: bool) -> str:
    """The schema's message; for a change, with its action, since the rules depend on it."""
    about = list(error.absolute_path)
    if is_change and about and about[0] != "action" and isinstance(instance.get("action"), str):
        return f"{error.message} (for action {instance['action']!r})"
    return error.message


def _digest_problems(doc: Mapping[str, Any]) -> list[_Problem]:
    recorded = doc.get("digest")
    if not isinstance(recorded, str):
        return []  # the schema reports it
    try:
        actual = compute_digest(doc)
    except (TypeError, ValueError) as error:
        return [("$", f"cannot compute the digest: {error}")]
    if recorded == actual:
        return []
    return [("$.digest", f"the plan does not match its digest ({recorded} recorded, {actual} "
             "computed): it was changed after amlctl wrote it; run `amlctl plan` again")]


def _summary_problems(doc: Mapping[str, Any]) -> list[_Problem]:
    counts = Counter(change["action"] for change in doc["changes"])
    return [
        (format_path(("summary", action)), f"says {doc['summary'][action]} but the plan has "
         f"{counts[action]} {action} changes")
        for action in _ACTION_RANK
        if doc["summary"][action] != counts[action]
    ]


def _change_problems(doc: Mapping[str, Any]) -> Iterator[_Problem]:
    names = [ws["workspace"] for ws in doc["workspaces"]]
    for name, count in Counter(names).items():
        if count > 1:
            yield "$.workspaces", f"workspace name {name!r} appears {count} times"
    seen: set[str] = set()
    previous: tuple[str, int, str, str, str] | None = None
    for index, change in enumerate(doc["changes"]):
        where = format_path(("changes", index))
        yield from _one_change_problems(change, where, set(names))
        if change["address"] in seen:
            yield f"{where}.address", f"duplicate address {change['address']!r}"
        seen.add(change["address"])
        key = (change["workspace"], _ACTION_RANK[change["action"]], change["kind"], change["id"],
               change["address"])
        if previous is not None and key < previous:
            yield where, "changes are not in plan order (workspace, action, kind, id)"
        previous = key


def _order_problems(changes: list[dict[str, Any]]) -> list[_Problem]:
    """Every `after` names a delete of this plan, and the order has no cycle (apply could
    never start a delete that waits on itself)."""
    deletes = {c["address"]: i for i, c in enumerate(changes) if c["action"] == "delete"}
    found = [
        (format_path(("changes", i, "after")), f"{before!r} is not a delete of this plan")
        for i, change in enumerate(changes)
        for before in change["after"]
        if before not in deletes
    ]
    if found:
        return found
    waiting = {address: len(changes[i]["after"]) for address, i in deletes.items()}
    unblocks: dict[str, list[str]] = {}
    for address, i in deletes.items():
        for before in changes[i]["after"]:
            unblocks.setdefault(before, []).append(address)
    ready = [address for address, count in waiting.items() if count == 0]
    while ready:
        for follower in unblocks.get(ready.pop(), ()):
            waiting[follower] -= 1
            if waiting[follower] == 0:
                ready.append(follower)
    stuck = sorted(deletes[address] for address, count in waiting.items() if count)
    where = [format_path(("changes", i, "after")) for i in stuck[:1]]
    return [(path, "is part of a cycle of deletes") for path in where]


def _one_change_problems(
    change: Mapping[str, Any], where: str, names: set[str]
) -> Iterator[_Problem]:
    phase = phase_of(Action(change["action"]), change["method"])
    expected = f"{phase}:{change['workspace']}/{change['kind']}/{change['id']}"
    if change["address"] != expected:
        yield f"{where}.address", f"is {change['address']!r}, expected {expected!r}"
    if change["workspace"] not in names:
        yield f"{where}.workspace", f"{change['workspace']!r} is not one of $.workspaces"
    if change["url"] is not None and _url_has_secret(change["url"]):
        yield f"{where}.url", "carries a credential in its query; plans never hold tokens"
    if change["file"] is not None and not _is_confined(change["file"]):
        yield f"{where}.file", f"{change['file']!r} must be a relative path inside export_to"


def _url_has_secret(url: str) -> bool:
    query = urlsplit(url).query
    return any(key.lower() in _SECRET_PARAMS for key, _ in parse_qsl(query, True))


def _is_confined(path: str) -> bool:
    """A relative posix path that cannot climb out of the export folder."""
    if path.startswith("/") or "\\" in path or "\x00" in path or re.match(r"[A-Za-z]:", path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))
