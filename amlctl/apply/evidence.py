"""The evidence a plan version leaves in `plans/`, read for `amlctl receipt` and `amlctl package`.

Each version of a plan (its digest) may have a receipt (`<plan>.<digest12>.receipt.json`), a
verify record (`<plan>.<digest12>.verify.json`) and a journal. A version whose plan file was
since replaced by a new plan at the same path is known from its receipt alone. Every file is
checked for the fields its readers use; one that cannot be read is an error naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amlctl.apply import receipt
from amlctl.errors import PlanFileError, UsageError
from amlctl.plan.serialize import load_doc

_RECEIPT_NAME = re.compile(r"^(?P<stem>.+)\.(?P<short>[0-9a-f]{12})\.receipt\.json$")


@dataclass
class Version:
    """One version (digest) of one plan, with the evidence found for it."""

    path: Path  # the plan file this version is, or was, saved at
    name: str
    digest: str
    request: dict[str, Any]  # id, due, subject (the pseudonym), received when known
    plan: dict[str, Any] | None = None  # the plan document, while the plan file holds it
    receipt: dict[str, Any] | None = None
    receipt_path: Path | None = None
    verify: dict[str, Any] | None = None
    verify_path: Path | None = None
    journal_time: str | None = None  # the journal's first line: when apply first started
    order: str = ""  # when it was planned (or applied, for a replaced version); see _ordered

    @property
    def short(self) -> str:
        return self.digest.removeprefix("sha256:")[:12]

    @property
    def label(self) -> str:
        return f"plan {self.name} ({self.path.as_posix()}, {self.short})"

    @property
    def verify_fresh(self) -> bool:
        """A verify record that passed judgement on the last apply run (not an earlier one)."""
        if self.verify is None or self.receipt is None:
            return False
        return str(self.verify["verified"]) >= str(self.receipt["finished"])


def gather(request_id: str, folder: Path) -> list[Version]:
    """Every version of every plan in `folder` (not its subfolders) that answers `request_id`,
    with its receipt, verify record and journal time, in the order they were planned.

    Raises UsageError when no plan or receipt names the request, and PlanFileError naming the
    file when a plan file, receipt or verify record there cannot be read.
    """
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder of plans")
    found: dict[tuple[Path, str], Version] = {}
    for path in sorted(folder.glob("*.plan.json")):
        doc = load_doc(path)
        if doc["request"] is not None and doc["request"]["id"] == request_id:
            request = dict(doc["request"], subject=doc["request"]["subject"]["pseudonym"])
            found[path, doc["digest"]] = Version(
                path, doc["name"], doc["digest"], request, plan=doc
            )
    for path in sorted(folder.glob("*.receipt.json")):
        _add_receipt(found, path, request_id)
    if not found:
        raise UsageError(f"no plan under {folder} answers request {request_id}")
    for version in found.values():
        _add_evidence(version)
    return _ordered(_one_per_digest(found.values()))


def _one_per_digest(versions: Iterable[Version]) -> list[Version]:
    """A plan file copied under another name is the same plan (apply refuses the copy): one
    version per digest, the one whose name its journal and receipt bear."""
    kept: dict[str, Version] = {}
    for version in versions:
        seen = kept.get(version.digest)
        if seen is None or (_applied(version) and not _applied(seen)):
            kept[version.digest] = version
    return list(kept.values())


def _applied(version: Version) -> bool:
    return version.receipt is not None or version.journal_time is not None


def _add_receipt(found: dict[tuple[Path, str], Version], path: Path, request_id: str) -> None:
    doc = read_receipt(path)
    request = doc.get("request")
    if not isinstance(request, dict) or request.get("id") != request_id:
        return
    named = _RECEIPT_NAME.match(path.name)
    stem = named.group("stem") if named else path.name.removesuffix(".receipt.json")
    plan_path = path.with_name(f"{stem}.plan.json")
    digest = str(doc["plan"]["digest"])
    version = found.get((plan_path, digest))
    if version is None:  # the plan file now holds a later version, or is gone
        version = Version(plan_path, str(doc["plan"]["name"]), digest, dict(request))
        found[plan_path, digest] = version
    version.receipt, version.receipt_path = doc, path


def _add_evidence(version: Version) -> None:
    stem = receipt.run_stem(version.path, version.digest)
    if version.receipt is None:
        json_path = receipt.receipt_paths(version.path, version.digest)[0]
        if json_path.exists():
            version.receipt, version.receipt_path = read_receipt(json_path), json_path
    verify_path = stem.with_name(stem.name + ".verify.json")
    if verify_path.exists():
        version.verify, version.verify_path = read_verify(verify_path), verify_path
    journal_path = stem.with_name(stem.name + ".journal.jsonl")
    if journal_path.exists():
        version.journal_time = _first_time(journal_path)


def read_json(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in `path`; PlanFileError naming the file when it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PlanFileError(f"{path}: cannot read {what}: {error.strerror}") from None
    except ValueError as error:
        raise PlanFileError(f"{path}: unreadable {what}: {error}") from None
    if not isinstance(doc, dict):
        raise PlanFileError(f"{path}: unreadable {what}: not a JSON object")
    return doc


def read_receipt(path: Path) -> dict[str, Any]:
    """A receipt file, checked for the fields the record and the package read."""
    doc = read_json(path, "receipt")
    plan = doc.get("plan")
    fields_ok = (
        isinstance(plan, dict)
        and isinstance(plan.get("digest"), str)
        and isinstance(plan.get("name"), str)
        and all(isinstance(doc.get(key), str) for key in ("identity", "started", "finished"))
        and isinstance(doc.get("complete"), bool)
        and isinstance(doc.get("items"), list)
        and all(_has_strings(item, "address", "result") for item in doc["items"])
    )
    if not fields_ok:
        raise PlanFileError(f"{path}: not an amlctl receipt (format_version 1.x)")
    return doc


def read_verify(path: Path) -> dict[str, Any]:
    doc = read_json(path, "verify record")
    fields_ok = (
        isinstance(doc.get("verified"), str)
        and isinstance(doc.get("ok"), bool)
        and isinstance(doc.get("checks"), list)
        and all(_has_strings(check, "address", "detail") for check in doc["checks"])
        and all(isinstance(check.get("ok"), bool) for check in doc["checks"])
    )
    if not fields_ok:
        raise PlanFileError(f"{path}: not an amlctl verify record (format_version 1.x)")
    return doc


def _has_strings(value: object, *keys: str) -> bool:
    return isinstance(value, dict) and all(isinstance(value.get(key), str) for key in keys)


def _first_time(journal: Path) -> str | None:
    try:
        with journal.open("rb") as stream:
            first = json.loads(stream.readline())
    except (OSError, ValueError):
        return None  # a journal is no evidence the record needs; the receipt is
    return str(first["time"]) if isinstance(first, dict) and "time" in first else None


def _ordered(versions: list[Version]) -> list[Version]:
    """Versions in the order they were planned.

    A replaced version (receipt only) was applied before the version that replaced it at its
    path was planned, so its apply time stands for its planning time; a plan file's `created`
    is no earlier than that (it may be SOURCE_DATE_EPOCH, not a clock). Ties are broken by
    when apply first started (the journal, to the millisecond), then by path.
    """
    replaced_until: dict[Path, str] = {}
    for version in versions:
        if version.plan is None and version.receipt is not None:
            version.order = str(version.receipt["started"])
            replaced_until[version.path] = max(replaced_until.get(version.path, ""), version.order)
    for version in versions:
        if version.plan is not None:
            version.order = max(str(version.plan["created"]), replaced_until.get(version.path, ""))
    return sorted(
        versions,
        key=lambda v: (v.order, v.journal_time or "~", v.path.as_posix(), v.plan is not None),
    )
