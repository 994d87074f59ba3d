"""The gate of `amlctl apply`: every check that a plan may be applied, in order, then the run.

All apply-time safety lives here, before the first request that changes anything. `load_for_apply`
checks the plan file is intact (schema + digest), was made from the manifest and catalog that are
here now, and stays within its delete limit; `approve` then checks it is for this target, takes
the plan's lock (no one else is applying it), finds it not applied yet, shows it and gets a
person's confirmation (the workspace names typed back for deletes), and hands back an `Approved`
plan, the only thing `run` accepts.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from amlctl.apply import receipt
from amlctl.apply.executor import Executor
from amlctl.apply.export.exporter import Exporter
from amlctl.apply.journal import FINISH, JOURNAL_SUFFIX, RESUME, START, Journal, PlanLock
from amlctl.apply.outcomes import ApplyResult
from amlctl.azure.client import Client
from amlctl.catalog import Catalog
from amlctl.errors import (
    EXIT_OK,
    ApplyRefused,
    LimitExceeded,
    PlanFileError,
)
from amlctl.fsio import clean_temp
from amlctl.manifest import load_manifest
from amlctl.plan.model import Action
from amlctl.plan.reading import PlanView, changes_of, load_plan
from amlctl.timestamps import rfc3339

Ask = Callable[[str], str]


@dataclass(frozen=True)
class LoadedPlan:
    path: Path
    doc: dict[str, Any]  # its changes read from disk when asked for (plan.reading)
    plan: PlanView
    catalog: Catalog

    @property
    def journal_path(self) -> Path:
        stem = receipt.run_stem(self.path, self.plan.digest)
        return stem.with_name(stem.name + ".journal.jsonl")


@dataclass(frozen=True)
class Approved:
    """A plan that passed every check and was confirmed, with its lock held and its journal
    open: valid only inside the `approve` block that made it."""

    loaded: LoadedPlan
    journal: Journal


def find_pending(folder: Path = Path("plans")) -> list[Path]:
    """Saved plans in `folder` (where `amlctl plan` writes them; not its subfolders, which hold
    examples and archives) with no complete receipt. Unreadable ones count: apply will say
    what is wrong with them."""
    found = []
    for path in sorted(folder.glob("*.plan.json")):
        digest = _digest_of(path)
        done = receipt.load(evidence_owner(path, digest), digest) if digest else None
        if not (done and done.get("complete")):
            found.append(path)
    return found


def evidence_of(path: Path) -> list[Path]:
    """The journal and receipts an apply of the plan file at `path` left (none when it was
    never applied, or is not a readable plan)."""
    digest = _digest_of(path)
    if not digest:
        return []
    # Its own evidence only: the receipt names this file; a copy's evidence is the original's.
    stem = receipt.run_stem(path, digest)
    names = (".journal.jsonl", ".receipt.json", ".receipt.md", ".verify.json")
    return [p for p in (stem.with_name(stem.name + n) for n in names) if p.exists()]


def evidence_owner(path: Path, digest: str) -> Path:
    """The plan file whose name the evidence of this plan version bears: `path` itself, unless
    it is a copy (same digest) of a plan beside it whose apply already started, whose journal
    and receipt are then this plan's too. A plan is keyed by its digest, never its file name,
    so a reviewed plan copied under another name is not applied twice."""
    stem = receipt.run_stem(path, digest)
    if stem.with_name(stem.name + JOURNAL_SUFFIX).exists():
        return path
    short = stem.name.rsplit(".", 1)[-1]
    for journal in sorted(path.parent.glob(f"*.{short}{JOURNAL_SUFFIX}")):
        if _journal_digest(journal) == digest:
            plan_stem = journal.name.removesuffix(f".{short}{JOURNAL_SUFFIX}")
            return journal.with_name(f"{plan_stem}.plan.json")
    return path


def _journal_digest(journal: Path) -> str:
    """The plan digest a journal's header records ("" when it cannot be read)."""
    try:
        with journal.open("rb") as stream:
            header = json.loads(stream.readline())
    except (OSError, ValueError):
        return ""
    return str(header.get("plan_digest", "")) if isinstance(header, dict) else ""


def _digest_of(path: Path) -> str:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("digest", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def load_for_apply(path: Path) -> LoadedPlan:
    """The plan file, checked (digest, manifest and catalog unchanged, delete limit), with the
    catalog it was made from. Its changes stay on disk (`amlctl.plan.reading`)."""
    read = load_plan(path)
    try:
        return _checked(path, read.plan, read.doc)
    except BaseException:
        read.plan.changes.close()
        raise


def _checked(path: Path, plan: PlanView, doc: dict[str, Any]) -> LoadedPlan:
    manifest_path = Path(plan.manifest.path)
    if not manifest_path.is_file():
        raise ApplyRefused(
            f"{path}: the manifest it was made from, {manifest_path}, is not "
            "here; apply from the folder you planned in"
        )
    manifest, catalog = load_manifest(manifest_path)
    if manifest.sha256 != plan.manifest.sha256:
        raise ApplyRefused(
            f"{path}: {manifest_path} changed since this plan was made; make a new plan"
        )
    if catalog.sha256 != plan.catalog.sha256 or catalog.name != plan.catalog.name:
        raise ApplyRefused(
            f"{path}: catalog {plan.catalog.name} changed since this plan was made; make a new plan"
        )
    check_limits(plan)
    return LoadedPlan(path, doc, plan, catalog)


@contextmanager
def approve(
    loaded: LoadedPlan,
    client: Client,
    *,
    confirmed: bool,
    show: Callable[[dict[str, Any]], None],
    out: TextIO = sys.stderr,
) -> Iterator[Approved]:
    """The remaining checks, in order: the target, the lock (a second apply is refused at once,
    before it asks, reads or writes anything), not applied yet, then the plan shown and
    confirmed unless `confirmed` (--yes on a reviewed plan file). The lock is held and the
    journal open until the block ends."""
    check_target(loaded, client)
    with PlanLock(loaded.path, loaded.plan.digest):
        journal = open_journal(loaded)
        try:
            show(loaded.doc)
            plan = loaded.plan
            if plan.summary[Action.EXPORT] + plan.summary[Action.DELETE] and not confirmed:
                confirm(plan, terminal_ask(), out)
            yield Approved(loaded, journal)
        finally:
            journal.close()


def check_target(loaded: LoadedPlan, client: Client) -> None:
    made, asked = loaded.plan.target, client.target.recorded
    if made != asked:
        raise ApplyRefused(
            f"{loaded.path}: made for target {made}, not {asked}; apply it "
            "against the target it was made for"
        )


def check_limits(plan: PlanView) -> None:
    deletes = plan.summary[Action.DELETE]
    if plan.max_deletes is not None and deletes > plan.max_deletes:
        raise LimitExceeded(
            f"the plan deletes {deletes} items; limits.maxDeletes is {plan.max_deletes}"
        )


def open_journal(loaded: LoadedPlan) -> Journal:
    """The journal of this version of the plan; refuses a plan already applied. Open it only
    while holding the plan's lock: the journal assumes a single writing process."""
    digest = loaded.plan.digest
    owner = evidence_owner(loaded.path, digest)
    if owner != loaded.path:
        _refuse_copy(loaded.path, owner, digest)
    journal = Journal.open(loaded.journal_path)
    if journal.finished is not None:
        journal.close()
        done = receipt.receipt_paths(loaded.path, digest)[0]
        raise AlreadyApplied(
            f"{loaded.path} was already applied, completely (see {done}): nothing left to do; "
            "make a new plan to act again"
        )
    return journal


def _refuse_copy(path: Path, owner: Path, digest: str) -> None:
    """`path` holds the same plan as `owner`, whose apply started: its journal says what
    became of every item, so applying the copy would act on them all a second time."""
    stem = receipt.run_stem(owner, digest)
    with Journal.open(stem.with_name(stem.name + JOURNAL_SUFFIX)) as journal:
        finished = journal.finished is not None
    if finished:
        raise AlreadyApplied(
            f"{path} is a copy of {owner} (the same plan, digest {digest[:19]}), which was "
            f"already applied completely (see {receipt.receipt_paths(owner, digest)[0]}): "
            "nothing left to do"
        )
    raise ApplyRefused(
        f"{path} is a copy of {owner} (the same plan, digest {digest[:19]}), whose apply "
        f"started and is not finished: resume it with `amlctl apply {owner}`"
    )


class AlreadyApplied(ApplyRefused):
    """The plan was applied to the end before (its journal says finish): a re-run has nothing
    to do, which is success, so a retry loop around apply ends (exit 0)."""

    exit_code = EXIT_OK


def confirm(plan: PlanView, ask: Ask | None, out: TextIO) -> None:
    """Ask for `yes` (exports only) or the workspace names typed back (any delete)."""
    if ask is None:
        raise ApplyRefused(
            "apply needs a confirmation: run it in a terminal, or pass --yes "
            "with a saved plan file you have reviewed"
        )
    deleting = sorted({c.workspace for c in changes_of(plan, Action.DELETE)})
    if deleting:
        expected = " ".join(deleting)
        print(
            f"\nThis plan deletes {plan.summary[Action.DELETE]} items in {', '.join(deleting)}. "
            "There is no undo.",
            file=out,
        )
        answer = ask(
            f"Type the workspace name{'s' if len(deleting) > 1 else ''} to confirm ({expected}): "
        )
    else:
        expected = "yes"
        answer = ask("Export these items? Only 'yes' will be accepted: ")
    if answer.strip() != expected:
        raise ApplyRefused("apply cancelled: the confirmation did not match; nothing was changed")


def run(
    approved: Approved,
    client: Client,
    *,
    parallelism: int,
    on_outcome: Callable[..., None] | None = None,
) -> tuple[ApplyResult, dict[str, Any]]:
    """Execute an approved plan; write the receipt; return the result and the receipt."""
    loaded, journal = approved.loaded, approved.journal
    plan = loaded.plan
    _record_run(loaded, journal)
    started = _header_time(journal)
    exporter = None
    if plan.export_to is not None and plan.summary[Action.EXPORT]:
        if Path(plan.export_to).exists():
            clean_temp(Path(plan.export_to))  # leftovers of a crashed run; we hold the lock
        exporter = Exporter(Path(plan.export_to))
    executor = Executor(
        plan,
        loaded.catalog,
        client,
        journal,
        exporter,
        parallelism=parallelism,
        on_outcome=on_outcome,
    )
    result = executor.run()
    doc = receipt.build(
        plan,
        plan.digest,
        loaded.path,
        result,
        identity=client.tokens.identity(),
        started=started,
        finished=_now(),
    )
    receipt.write(doc, loaded.path)
    if doc["complete"]:
        journal.append(FINISH, summary=doc["summary"])
    return result, doc


def _record_run(loaded: LoadedPlan, journal: Journal) -> None:
    """Journal that a run starts, once it is confirmed: the first run writes the header, a
    later one a resume record, so the evidence shows which runs resumed."""
    if journal.header is None:
        journal.append(
            START, plan_digest=loaded.plan.digest, target=loaded.doc["target"], started=_now()
        )
    else:
        journal.append(RESUME, pid=os.getpid(), host=socket.gethostname(), resumed=_now())


def _header_time(journal: Journal) -> str:
    header = journal.header
    return str(header.get("started")) if header is not None else _now()


def _now() -> str:
    return rfc3339(datetime.now(UTC))


def terminal_ask(stdin: TextIO = sys.stdin) -> Ask | None:
    """A prompt reading the terminal, or None when there is no terminal to ask."""
    if not stdin.isatty():
        return None

    def ask(question: str) -> str:
        print(question, end="", file=sys.stderr, flush=True)
        line = stdin.readline()
        if not line:
            raise ApplyRefused("apply cancelled: no answer")
        return line

    return ask


def require_plan_file(path: Path) -> None:
    if not path.is_file():
        raise PlanFileError(f"{path}: no such plan file")
