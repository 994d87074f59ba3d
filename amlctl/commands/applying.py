"""`amlctl apply` and `amlctl verify`: carry out a reviewed plan, then check its end state."""

from __future__ import annotations

import json
import sys
from collections import Counter
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from amlctl.commands.planning import make_plan_file, print_brief
from amlctl.errors import EXIT_ERROR, EXIT_OK, ApplyRefused, UsageError
from amlctl.terminal import visible

if TYPE_CHECKING:  # the HTTP stack is imported only by the commands that use it
    from amlctl.apply.gate import Approved
    from amlctl.apply.progress import Progress
    from amlctl.azure.target import Connection


def apply(
    target: Path | None,
    yes: bool,
    fmt: str,
    connection: Connection,
    expect_digest: str | None = None,
) -> int:
    """Apply a saved plan (or plan a manifest first), after every check and a confirmation."""
    from amlctl.apply import gate
    from amlctl.apply.interrupts import leave_now, second_interrupt_exits
    from amlctl.azure.connect import open_client

    if fmt not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {fmt!r}")
    path = _plan_to_apply(target, yes, connection)
    loaded = gate.load_for_apply(path)
    if expect_digest is not None and loaded.plan.digest != expect_digest:
        raise ApplyRefused(
            f"{path}: its digest {loaded.plan.digest} is not the expected {expect_digest}; "
            "nothing was applied"
        )
    # With --format json, stdout carries JSON only (one object per item, then the summary);
    # what people read goes to stderr.
    people = sys.stderr if fmt == "json" else sys.stdout
    show = partial(print_brief, path=path, stream=people)
    with (
        open_client(loaded.catalog, connection) as client,
        gate.approve(loaded, client, confirmed=yes, show=show) as approved,
    ):
        plan = loaded.plan
        progress = _apply_progress(approved, fmt)
        with second_interrupt_exits():
            result, doc = gate.run(
                approved, client, parallelism=connection.parallelism, on_outcome=progress
            )
        progress.close()
    _print_apply_summary(doc, path, plan.digest, people, interrupted=result.interrupted)
    if result.unreachable:
        print(
            f"Stopped: the service at {result.unreachable} is unreachable; run apply again "
            "once it answers.",
            file=people,
        )
    if fmt == "json":
        print(json.dumps(_apply_summary(doc, path, plan.digest, result.exit_code), sort_keys=True))
    if result.abandoned:
        leave_now(result.exit_code)
    return result.exit_code


def _plan_to_apply(target: Path | None, yes: bool, connection: Connection) -> Path:
    from amlctl.apply.gate import find_pending, require_plan_file

    if target is None:
        pending = find_pending()
        if len(pending) != 1:
            listed = "".join(f"\n  {p}" for p in pending) or " none found under plans/"
            raise UsageError(f"name the plan to apply; pending plans:{listed}")
        return pending[0]
    if target.suffix in (".yaml", ".yml"):
        if yes:
            raise UsageError(
                "--yes applies only to a saved plan file that was reviewed; plan "
                "the manifest first (amlctl plan) or answer the prompt"
            )
        _, path = make_plan_file(target, None, None, connection)
        return path
    require_plan_file(target)
    return target


def _apply_progress(approved: Approved, fmt: str) -> Progress:
    """Progress for the plan's exports and deletes; what the journal says an earlier run
    finished is counted once, not announced again (read from the plan only on a resume: a
    first run's journal holds nothing yet)."""
    from amlctl.apply.progress import Progress
    from amlctl.plan.model import Action
    from amlctl.plan.reading import changes_of

    plan, journal = approved.loaded.plan, approved.journal
    acting = (Action.EXPORT, Action.DELETE)
    finished = [] if journal.header is None else [
        c.address
        for c in changes_of(plan, *acting)
        if (state := journal.state(c.address)) is not None and state.terminal
    ]
    live = fmt == "text" and sys.stderr.isatty()
    return Progress(
        sum(plan.summary[action] for action in acting), sys.stderr if live else sys.stdout,
        live=live, fmt=fmt, finished=finished,
    )


def _print_apply_summary(
    doc: dict[str, Any], plan_path: Path, digest: str, out: TextIO, *, interrupted: bool = False
) -> None:
    from amlctl.apply.receipt import receipt_paths

    summary = doc["summary"]
    parts = ", ".join(f"{n} {name}" for name, n in summary.items() if n) or "nothing to do"
    if interrupted or summary["failed"] or summary["not-done"]:
        print(f"Apply {'interrupted' if interrupted else 'incomplete'}: {parts}.", file=out)
        print(
            "Run the same `amlctl apply` again to resume; finished items are not redone.",
            file=out,
        )
    elif summary["skipped"] or summary["blocked"]:
        print(f"Apply finished with items left: {parts}.", file=out)
        print(
            "Skipped items changed since the plan and blocked ones are in use: see the "
            "receipt, then make a new plan for them.",
            file=out,
        )
    else:
        print(f"Apply complete: {parts}.", file=out)
    print(f"Receipt: {receipt_paths(plan_path, digest)[0]}", file=out)


def _apply_summary(doc: dict[str, Any], plan_path: Path, digest: str, code: int) -> dict[str, Any]:
    """The last JSON line of `apply --format json`: the outcome, for scripts."""
    from amlctl.apply.receipt import receipt_paths

    return {
        "summary": doc["summary"],
        "complete": doc["complete"],
        "exit_code": code,
        "plan": plan_path.as_posix(),
        "digest": digest,
        "receipt": receipt_paths(plan_path, digest)[0].as_posix(),
    }


def verify(plan_file: Path, manual_done: list[str], connection: Connection) -> int:
    """Check the end state an applied plan promised: planned deletes gone, planned exports
    present and matching, manual steps confirmed; anything else fails, with its reason."""
    from amlctl.apply import receipt
    from amlctl.apply import verify as verifying
    from amlctl.azure.connect import open_client
    from amlctl.plan.serialize import from_doc, load_doc

    plan = from_doc(load_doc(plan_file))
    done = receipt.load(plan_file, plan.digest)
    if done is None:
        raise UsageError(f"{plan_file}: no receipt next to it; apply the plan first")
    unknown = verifying.unknown_steps(plan, manual_done)
    if unknown:
        raise UsageError(f"--manual-done {', '.join(unknown)}: not a manual step of this plan")
    catalog = verifying.plan_catalog(plan)
    with open_client(catalog, connection) as client:
        checks = verifying.check(
            plan,
            done,
            client,
            catalog,
            manual_done=manual_done,
            parallelism=connection.parallelism,
        )
        kept = verifying.record(plan, plan_file, checks, client.tokens.identity())
    failed = list(verifying.failures(checks))
    for failure in failed:
        print(visible(f"{failure.address}: {failure.detail}"))
    if failed:
        print(
            f"verify failed: {len(failed)} of {len(checks)} planned items not done "
            f"(recorded in {kept})",
            file=sys.stderr,
        )
        return EXIT_ERROR
    counts = Counter(c.address.split(":", 1)[0] for c in checks)
    print(
        f"verified: all {len(checks)} planned items: {counts['delete']} deleted item(s) gone, "
        f"{counts['export']} exported file(s) match, {counts['manual']} manual step(s) "
        f"confirmed (recorded in {kept})"
    )
    return EXIT_OK
