"""`amlctl package PLAN -o FILE.zip`: the data subject's copy of her data (GDPR Art. 15 and 20).

The package is a zip with one folder, named after the request, holding:

- the files the plan exported (as its receipt and the export index list them): each item's
  JSON and, for artifacts, its bytes, at the paths the index names;
- `index.json`: the export index's entries for those items only (source URL, HTTP request id,
  time, SHA-256 and size), in the index's own format;
- `README.txt`: a summary for her (what is in it, from which workspaces, per kind how many
  items, the date, the request id, what was not exported and why, what it leaves out);
- `contents.json`: every other file of the package with its SHA-256 and size (named so, not
  `manifest.json`, so that no one takes it for an amlctl manifest).

Every file is checked against the index before anything is written, and hashed again as it is
packed: a file that is missing, changed, or differs from what this plan's receipt recorded
(exported again since by a later plan) refuses the package, naming the file. The zip is
deterministic (sorted entries, one timestamp: SOURCE_DATE_EPOCH when set, else the receipt's
finish time; fixed permissions), so the same export gives the same bytes, and it is written
through `amlctl.fsio` (temp file, fsync, rename; mode 0600).

The summary and contents.json name no person: not the identity that applied the plan, not
its reviewers, not the subject's object id or user name. The exported items are hers and go in
as they are.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from amlctl.apply import receipt
from amlctl.apply.evidence import read_receipt
from amlctl.apply.export import index as exportindex
from amlctl.apply.export.exporter import verify_files
from amlctl.apply.package_summary import summary
from amlctl.canonical import pretty_json
from amlctl.errors import AmlctlError, UsageError
from amlctl.fsio import confined_path, write_stream_atomic
from amlctl.plan.model import Action, Change, Plan
from amlctl.plan.serialize import from_doc, load_doc, plan_timestamp
from amlctl.timestamps import rfc3339

FORMAT_VERSION = "1.0"
SUMMARY_NAME = "README.txt"
INDEX_NAME = "index.json"
CONTENTS_NAME = "contents.json"
_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# What a zip's DOS timestamps can hold.
_ZIP_FIRST = datetime(1980, 1, 1, tzinfo=UTC)
_ZIP_LAST = datetime(2107, 12, 31, 23, 59, 58, tzinfo=UTC)
_NOT_EXPORTED = {
    "failed": "the export failed; it is tried again when the plan is applied again",
    "skipped": "it changed or disappeared after the plan was made; a new plan covers it",
    "not-done": "the export was interrupted before it reached this item",
}


class PackageRefused(AmlctlError):
    """The package cannot be made truthfully; nothing was written."""


@dataclass(frozen=True)
class Left:
    """An item the plan meant to export that is not in the package, and why (plain words)."""

    workspace: str
    kind: str
    id: str
    why: str


@dataclass
class Selection:
    """What goes in the package, and what the plan meant to export but does not."""

    plan: Plan
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> index entry
    left: list[Left] = field(default_factory=list)
    candidates: int = 0  # items named by display name only: held back, never listed
    manual: list[tuple[str, str]] = field(default_factory=list)  # (workspace, title)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Member:
    """One file of the package: its path under the package folder, and where its bytes are."""

    path: str
    sha256: str
    size: int
    data: bytes | None = None  # the summary, index and contents, made here
    source: Path | None = None  # an exported file, read (and hashed again) while packing


@dataclass(frozen=True)
class Packed:
    path: Path
    sha256: str
    size: int
    files: int
    items: int
    left: int


def make(plan_path: Path, out: Path, environ: Mapping[str, str]) -> Packed:
    """Check and pack the exports of the plan at `plan_path` into the zip `out`."""
    plan = from_doc(load_doc(plan_path))
    if plan.request is None:
        raise UsageError(f"{plan_path}: answers no data-subject request; nothing to package")
    if plan.export_to is None or not any(c.phase == "export" for c in plan.changes):
        raise UsageError(f"{plan_path}: exports nothing; nothing to package")
    receipt_path = receipt.receipt_paths(plan_path, plan.digest)[0]
    if not receipt_path.exists():
        raise UsageError(f"{plan_path}: no receipt next to it; apply the plan first")
    applied = read_receipt(receipt_path)
    exported = {c.address for c in plan.changes if c.phase == "export"}
    chosen = select(plan, applied, exportindex.entries_for(plan.export_to, exported))
    root = Path(plan.export_to)
    problems = chosen.problems + verify_files(root, chosen.entries)
    if problems:
        raise PackageRefused(
            f"{plan_path}: refusing to package: the export does not match its index:\n"
            + "\n".join(f"  {problem}" for problem in problems)
        )
    if not chosen.entries:
        raise UsageError(f"{plan_path}: nothing was exported yet; apply the plan first")
    moment = _moment(environ, str(applied["finished"]))
    members = _members(chosen, root, moment)
    folder = _folder_name(plan.request.id)
    written = write_stream_atomic(out.parent, out.name, _zip_chunks(folder, members, moment))
    files = sum(1 for m in members if m.source is not None)
    left = len(chosen.left) + chosen.candidates
    return Packed(out, written.sha256, written.size, files, len(chosen.entries), left)


def select(
    plan: Plan, applied: Mapping[str, Any], index: Mapping[str, dict[str, Any]]
) -> Selection:
    """The index entries of what the plan exported (or found current), and what it did not."""
    items = {item["address"]: item for item in applied["items"]}
    chosen = Selection(plan)
    for change in plan.changes:
        if change.action is Action.MANUAL and change.reason.startswith("export"):
            chosen.manual.append((change.workspace, change.title or change.id))
        elif change.phase != "export":
            continue
        elif change.action is Action.CANDIDATE:
            chosen.candidates += 1
        elif change.action is Action.ABSENT:
            chosen.left.append(_left(change, "asked for by its id, but no such item was found"))
        elif change.action is Action.UNCHANGED:
            _take(chosen, change, index.get(change.address), None)
        elif change.action is Action.EXPORT:
            item = items.get(change.address)
            result = str(item["result"]) if item else "not-done"
            if result == "exported":
                _take(chosen, change, index.get(change.address), item)
            else:
                chosen.left.append(_left(change, _NOT_EXPORTED.get(result, "it was not exported")))
    return chosen


def _take(
    chosen: Selection,
    change: Change,
    entry: dict[str, Any] | None,
    item: Mapping[str, Any] | None,
) -> None:
    if entry is None:
        file = (item or {}).get("file") or change.file or change.address
        chosen.problems.append(f"{change.address}: {file}: the export index lacks it")
        return
    if item is not None:
        for key in ("sha256", "content_sha256"):
            if item.get(key) != entry.get(key):
                file = entry.get("content_file" if key == "content_sha256" else "file")
                chosen.problems.append(
                    f"{change.address}: {file}: exported again since this plan (the index says "
                    f"{entry.get(key)}, this plan's receipt {item.get(key)}); package the plan "
                    "that exported it last"
                )
                return
    chosen.entries[change.address] = entry


def _left(change: Change, why: str) -> Left:
    return Left(change.workspace, change.kind, change.id, why)


def _moment(environ: Mapping[str, str], finished: str) -> datetime:
    """The package's one timestamp: SOURCE_DATE_EPOCH, else when the apply finished."""
    try:
        applied = datetime.fromisoformat(finished).astimezone(UTC)
    except ValueError:
        raise UsageError(f"the receipt's finish time {finished!r} is not a time") from None
    moment = datetime.fromisoformat(plan_timestamp(environ, applied))
    return min(max(moment, _ZIP_FIRST), _ZIP_LAST)


def _members(chosen: Selection, root: Path, moment: datetime) -> list[Member]:
    """Every file of the package, the contents list last (it lists the others)."""
    exported: list[Member] = []
    for address in sorted(chosen.entries):
        entry = chosen.entries[address]
        exported.append(_exported(root, entry, "file", "sha256", "size"))
        if entry.get("content_file") is not None:
            exported.append(
                _exported(root, entry, "content_file", "content_sha256", "content_size")
            )
    index_doc = {"format_version": exportindex.FORMAT_VERSION, "items": chosen.entries}
    made = [
        _made(SUMMARY_NAME, summary(chosen, moment).encode("utf-8")),
        _made(INDEX_NAME, pretty_json(index_doc)),
    ]
    contents = _contents(chosen, moment, [*made, *exported])
    return [*made, *exported, _made(CONTENTS_NAME, pretty_json(contents))]


def _exported(root: Path, entry: Mapping[str, Any], file: str, sha: str, size: str) -> Member:
    relative = str(entry[file])
    return Member(relative, str(entry[sha]), int(entry[size]), source=confined_path(root, relative))


def _made(path: str, data: bytes) -> Member:
    return Member(path, hashlib.sha256(data).hexdigest(), len(data), data=data)


def _contents(chosen: Selection, moment: datetime, members: Iterable[Member]) -> dict[str, Any]:
    owners = {}
    for address, entry in chosen.entries.items():
        for key in ("file", "content_file"):
            if entry.get(key) is not None:
                owners[str(entry[key])] = address
    files = []
    for member in sorted(members, key=lambda m: m.path):
        row: dict[str, Any] = {"path": member.path, "sha256": member.sha256, "size": member.size}
        if member.path in owners:
            row["address"] = owners[member.path]
        files.append(row)
    assert chosen.plan.request is not None
    return {
        "format_version": FORMAT_VERSION,
        "request": chosen.plan.request.id,
        "prepared": rfc3339(moment),
        "plan": {"name": chosen.plan.name, "digest": chosen.plan.digest},
        "files": files,
    }


def _folder_name(request_id: str) -> str:
    return _UNSAFE.sub("_", request_id).strip("._-") or "request"


# -- the zip ----------------------------------------------------------------------------------


class _Sink:
    """Where zipfile writes: bytes collected until the next `take`. Not seekable, so zipfile
    writes each entry's sizes after its data, and the archive streams to its temp file."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _zip_chunks(folder: str, members: list[Member], moment: datetime) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(members, key=lambda m: m.path):
            info = _zip_info(f"{folder}/{member.path}", member.size, moment)
            with archive.open(info, "w") as out:
                for block in _blocks(member):
                    out.write(block)
                    if chunk := sink.take():
                        yield chunk
    if chunk := sink.take():
        yield chunk


def _zip_info(name: str, size: int, moment: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix, whatever the platform, so the mode below is read
    info.external_attr = (stat.S_IFREG | 0o600) << 16
    info.file_size = size  # tells zipfile whether the entry needs zip64
    return info


def _blocks(member: Member) -> Iterator[bytes]:
    """The member's bytes; an exported file is hashed as it is read and must still match."""
    if member.data is not None:
        yield member.data
        return
    assert member.source is not None
    digest, size = hashlib.sha256(), 0
    fd = os.open(member.source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as stream:
        while block := stream.read(_CHUNK):
            digest.update(block)
            size += len(block)
            yield block
    if (digest.hexdigest(), size) != (member.sha256, member.size):
        raise PackageRefused(
            f"{member.path}: changed while it was packed (SHA-256 {digest.hexdigest()}, the "
            f"index says {member.sha256}); nothing was written"
        )
