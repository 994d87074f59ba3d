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
from urllib.parse import unquote, urlsplit

import jsonschema

from amlctl import schemacheck
from amlctl.canonical import DigestStream, Made, compute_digest
from amlctl.errors import NO_PLACE, Diagnostic, format_path
from amlctl.plan import shape
from amlctl.plan.model import ACTION_ORDER, Action, phase_of

FORMAT_VERSION = "1.1"
SUPPORTED_MAJOR = 1
MAX_PROBLEMS = 50  # a plan with 100k broken changes must still give a readable error

_ACTION_RANK = {action.value: rank for rank, action in enumerate(ACTION_ORDER)}
_ACTIONS = {action.value: action for action in Action}
_DRIVE = re.compile(r"[A-Za-z]:")  # a Windows drive, as in C:
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
    return _diagnostics(file, _all(doc))


class Sealing:
    """The checks of a plan document being written, given its changes one at a time as they
    are written (`see`), and its digest: the checks and the digest read each change once, as
    the file does. `finish` gives the problems and the digest of what was seen.

    `doc` is the document without its changes and digest (they are ignored if there)."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        head = {**doc, "changes": [], "digest": _UNSEALED}
        version = major_minor(head.get("format_version"))
        if version is None or _version_problems(head):
            raise ValueError(f"not a plan document of format {SUPPORTED_MAJOR}.x to write")
        self._pass = _Pass(head, strict=version[1] == 1, digest=True)

    def see(self, change: Any) -> Any:
        """Check and digest the next change; return it as it is."""
        return self._pass.see(change)

    def finish(self, file: str) -> tuple[list[Diagnostic], str | None]:
        found, actual = self._pass.result(None)
        return _diagnostics(file, found), actual


def seal(doc: dict[str, Any], file: str) -> list[Diagnostic]:
    """The problems of the plan document `doc`, whose digest is not known yet; sets
    `doc["digest"]` to the digest of what was checked, in the same pass over its changes."""
    sealing = Sealing(doc)
    for change in doc["changes"]:
        sealing.see(change)
    found, actual = sealing.finish(file)
    doc["digest"] = actual if actual is not None else _UNSEALED
    return found


# A digest of the right shape, so the document's schema check passes while the real one is
# computed in the same pass as the other checks.
_UNSEALED = "sha256:" + "0" * 64


def _version_problems(doc: object) -> list[_Problem]:
    """Why `doc` is no plan of a format this amlctl reads; [] when it may be one."""
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
    return []


def _diagnostics(file: str, found: list[_Problem]) -> list[Diagnostic]:
    return [Diagnostic(file, NO_PLACE, NO_PLACE, where, message) for where, message in found]


def _all(doc: object) -> list[_Problem]:
    refused = _version_problems(doc)
    if refused or not isinstance(doc, dict):
        return refused
    version = major_minor(doc["format_version"])
    assert version is not None
    recorded = doc.get("digest")
    digest = isinstance(recorded, str)
    changes = doc.get("changes")
    if not isinstance(changes, list | Made):  # Made: the changes of a plan being written
        found = _errors(_validator(version[1] == 1, "plan"), doc, ())
        if digest:
            actual, error = _digest(doc)
            found += _digest_problems(recorded, actual, error)
        return _bounded(found)
    check = _Pass(doc, strict=version[1] == 1, digest=digest)
    for change in changes:
        check.see(change)
    return check.result(recorded if digest else None)[0]


def _digest_problems(
    recorded: object, actual: str | None, error: BaseException | None
) -> list[_Problem]:
    if error is not None:
        return [("$", f"cannot compute the digest: {error}")]
    if recorded is None or recorded == actual:
        return []
    return [("$.digest", f"the plan does not match its digest ({recorded} recorded, {actual} "
             "computed): it was changed after amlctl wrote it; run `amlctl plan` again")]


def _bounded(found: list[_Problem]) -> list[_Problem]:
    return found[:MAX_PROBLEMS] + _overflow(len(found))


class _Pass:
    """The checks of one plan document, and its digest, in one pass over its changes: each
    change is read once (from a `Made`, a spilled file or a list) and checked as it is read.

    In the order a reader gets them: the schema (the document, then each change), then, once
    the schema holds, the summary, each change's own problems, and the delete order; then the
    digest. A change that breaks the schema stops the checks that rely on its shape.
    """

    def __init__(self, doc: dict[str, Any], *, strict: bool, digest: bool) -> None:
        self.doc, self.strict = doc, strict
        self.changes: list[_Problem] = []  # each change's own problems, and duplicate names
        self.count = 0  # changes read so far
        self.actions: Counter[str] = Counter()
        # The addresses seen, as a dict's keys: a set's table takes 16 bytes a slot and keeps
        # 2-4 slots an entry; a dict's 4 bytes a slot and 24 an entry (2 MiB -> 0.6 at 20k).
        self.seen: dict[str, None] = {}
        self.previous: tuple[str, int, str, str, str] | None = None
        self.deletes: dict[str, int] = {}  # address -> index
        self.after: dict[int, list[str]] = {}  # index -> its `after`, where it has one
        self.names: set[str] = set()
        # The document without its changes, then only the changes the fast check refuses.
        self.schema = _errors(_validator(strict, "plan"), {**doc, "changes": []}, ())
        if not self.schema:
            self._workspaces()
        self.stream: DigestStream | None = None
        self.error: BaseException | None = None  # what stopped the digest
        if digest:
            try:
                self.stream = DigestStream(doc, "changes")
            except (TypeError, ValueError) as error:
                self.error = error

    def see(self, change: Any) -> Any:
        """Check one change, the next in the plan, and digest it; return it as it is."""
        index = self.count
        self.count += 1
        if self.stream is not None:
            try:
                self.stream.add(change)
            except (TypeError, ValueError) as error:  # the checks go on; the digest stops
                self.stream, self.error = None, error
        if not shape.change_conforms(change, strict=self.strict):
            errors = _errors(_validator(self.strict, "change"), change, ("changes", index))
            if errors:
                self.schema += errors
                return change
        if not self.schema:  # once the schema fails, what follows would not be reported
            self._own(index, change)
        return change

    def result(self, recorded: object) -> tuple[list[_Problem], str | None]:
        """Every problem, bounded, and the digest of what was seen (None if there is none);
        `recorded`, the digest the document says it has, is checked unless None."""
        actual = None
        if self.stream is not None:
            try:
                actual = self.stream.digest()
            except (TypeError, ValueError) as error:
                self.error = error
        found = list(self.schema)
        if not found:  # the remaining checks rely on the shape the schema guarantees
            found += self.summary_problems()
            found += self.changes
            found += self.order_problems()
        found += _digest_problems(recorded, actual, self.error)
        return _bounded(found), actual

    def _workspaces(self) -> None:
        names = [ws["workspace"] for ws in self.doc["workspaces"]]
        self.names = set(names)
        for name, count in Counter(names).items():
            if count > 1:
                self.changes.append(("$.workspaces", f"workspace name {name!r} appears {count} "
                                     "times"))

    def _own(self, index: int, change: dict[str, Any]) -> None:
        """What one change must be beyond its schema, and its place among the others."""
        action, address = change["action"], change["address"]
        self.actions[action] += 1
        found = list(_one_change_problems(change, self.names))
        if address in self.seen:
            found.append((".address", f"duplicate address {address!r}"))
        self.seen[address] = None
        key = (change["workspace"], _ACTION_RANK[action], change["kind"], change["id"], address)
        if self.previous is not None and key < self.previous:
            found.append(("", "changes are not in plan order (workspace, action, kind, id)"))
        self.previous = key
        if found:
            where = format_path(("changes", index))
            self.changes += [(where + field, message) for field, message in found]
        if action == "delete":
            self.deletes[address] = index
        if change["after"]:
            self.after[index] = change["after"]

    def summary_problems(self) -> list[_Problem]:
        summary = self.doc["summary"]
        return [
            (format_path(("summary", action)), f"says {summary[action]} but the plan has "
             f"{self.actions[action]} {action} changes")
            for action in _ACTION_RANK
            if summary[action] != self.actions[action]
        ]

    def order_problems(self) -> list[_Problem]:
        """Every `after` names a delete of this plan, and the order has no cycle (apply could
        never start a delete that waits on itself)."""
        deletes, after = self.deletes, self.after
        found = [
            (format_path(("changes", i, "after")), f"{before!r} is not a delete of this plan")
            for i, befores in after.items()
            for before in befores
            if before not in deletes
        ]
        if found:
            return found
        waiting = {address: len(after.get(i, ())) for address, i in deletes.items()}
        unblocks: dict[str, list[str]] = {}
        for address, i in deletes.items():
            for before in after.get(i, ()):
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


def _digest(doc: Mapping[str, Any]) -> tuple[str | None, BaseException | None]:
    try:
        return compute_digest(doc), None
    except (TypeError, ValueError) as error:
        return None, error


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


def _one_change_problems(change: Mapping[str, Any], names: set[str]) -> Iterator[_Problem]:
    """A change's own problems, each with the field it is about (".url"), "" for the whole."""
    phase = phase_of(_ACTIONS[change["action"]], change["method"])
    expected = f"{phase}:{change['workspace']}/{change['kind']}/{change['id']}"
    if change["address"] != expected:
        yield ".address", f"is {change['address']!r}, expected {expected!r}"
    if change["workspace"] not in names:
        yield ".workspace", f"{change['workspace']!r} is not one of $.workspaces"
    if change["url"] is not None and _url_has_secret(change["url"]):
        yield ".url", "carries a credential in its query; plans never hold tokens"
    if change["file"] is not None and not _is_confined(change["file"]):
        yield ".file", f"{change['file']!r} must be a relative path inside export_to"


def _url_has_secret(url: str) -> bool:
    return any(key.lower() in _SECRET_PARAMS for key in _query_keys(url))


def _query_keys(url: str) -> Iterator[str]:
    """The names of `url`'s query parameters, as `parse_qsl(urlsplit(url).query, True)` reads
    them, without parsing what most URLs do not need: in a URL the schema accepts with no
    control character (urlsplit drops tabs and newlines), the query is what lies between the
    first `?` and the first `#`, and a name without `%` or `+` is its own unquoted form. The
    others, and a bracketed host (IPv6, which urlsplit checks), are left to urlsplit."""
    if not url.isprintable() or "[" in url or "]" in url:
        query = urlsplit(url).query
    else:
        query = url.split("#", 1)[0].partition("?")[2]
    for part in query.split("&"):
        name = part.partition("=")[0]
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "))
        yield name


def _is_confined(path: str) -> bool:
    """A relative posix path that cannot climb out of the export folder."""
    if path.startswith("/") or "\\" in path or "\x00" in path or _DRIVE.match(path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))
