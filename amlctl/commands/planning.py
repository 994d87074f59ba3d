"""`amlctl plan` and `amlctl show`: read the workspaces, write the plan file, print it."""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from amlctl.catalog import load_catalog
from amlctl.errors import EXIT_CHANGES, EXIT_OK, UsageError
from amlctl.manifest import load_manifest

if TYPE_CHECKING:  # the HTTP stack is imported only by the commands that use it
    from amlctl.azure.target import Connection


def plan(
    manifests: list[Path],
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    catalog: str | None,
    connection: Connection,
    replace: bool = False,
) -> int:
    """Read the workspaces (GETs only), write the plan file, print it; several manifests (a
    folder, a glob) are planned one by one, with one summary and one exit code."""
    from amlctl import batch
    from amlctl.render import get_renderer

    get_renderer(fmt)  # refuse an unknown format before reading any workspace
    found = batch.expand(manifests)
    if len(found) > 1:
        if out is not None:
            raise UsageError("-o names the plan of one manifest; several go to plans/<stem>")
        with fewer_collections():
            return _plan_several(found, fmt, detailed_exitcode, catalog, connection, replace)
    with fewer_collections():
        doc, path = make_plan_file(found[0], out, catalog, connection, replace=replace)
        _print_plan(doc, fmt, path)
    print(f"Saved the plan to {path}", file=sys.stderr)
    changes = doc["summary"]["export"] + doc["summary"]["delete"]
    return EXIT_CHANGES if detailed_exitcode and changes else EXIT_OK


def _plan_several(
    manifests: list[Path],
    fmt: str,
    detailed_exitcode: bool,
    catalog: str | None,
    connection: Connection,
    replace: bool,
) -> int:
    """Plan each manifest; one that fails is reported and the others still planned. Text and
    Markdown print each plan, then the summary; json prints one document of every outcome."""
    from amlctl import batch
    from amlctl.errors import AmlctlError
    from amlctl.terminal import visible_lines

    outcomes: list[batch.Outcome] = []
    for manifest, path in zip(manifests, batch.default_plan_paths(manifests), strict=True):
        try:
            doc, path = make_plan_file(manifest, path, catalog, connection, replace=replace)
        except AmlctlError as error:
            print(visible_lines(f"{manifest}: {error}"), file=sys.stderr)
            outcomes.append(batch.Outcome(manifest, path, error=str(error)))
            continue
        outcomes.append(batch.Outcome(manifest, path, doc["digest"], doc["summary"]))
        if fmt != "json":
            if len(outcomes) > 1:
                print("\n---\n" if fmt == "markdown" else "")  # one plan from the next
            _print_plan(doc, fmt, path)
    code = batch.exit_code(outcomes, detailed_exitcode)
    if fmt == "json":
        every = [o.to_json() for o in outcomes]
        print(json.dumps({"plans": every, "exit_code": code}, indent=2, ensure_ascii=False))
    else:
        print(batch.summary_text(outcomes), file=sys.stdout if fmt == "text" else sys.stderr)
    return code


# A plan of a whole big workspace lists every export (17 MB of text for 20,000 runs): past this
# many changes, `plan` prints what a reviewer must read (deletes, refusals, candidates, manual
# steps) and the whole summary, and names the command that renders everything.
PRINT_IN_FULL = 2000
_ABRIDGED = ("export", "unchanged", "absent")


def _print_abridged(doc: dict[str, Any], path: Path) -> None:
    from amlctl.render import render
    from amlctl.render.wording import summary_counts, summary_line

    kept = [change for change in doc["changes"] if change["action"] not in _ABRIDGED]
    shown = {**doc, "changes": kept}
    # The rendering counts what it lists; the summary a reviewer reads is of the whole plan.
    text = render(shown, "text", color=_color("text")).replace(
        summary_line(summary_counts(shown)), summary_line(summary_counts(doc))
    )
    print(text, end="" if text.endswith("\n") else "\n")
    left = len(doc["changes"]) - len(kept)
    print(
        f"{left} exports, unchanged and absent items are not listed here "
        f"(over {PRINT_IN_FULL} changes); all of them: amlctl show {path}"
    )


def _print_plan(doc: dict[str, Any], fmt: str, path: Path) -> None:
    if fmt == "json":  # the file just written is its JSON rendering: streamed, not re-encoded
        from amlctl.render.json import saved_json

        for piece in saved_json(path):
            sys.stdout.write(piece)
    elif fmt == "text" and len(doc["changes"]) > PRINT_IN_FULL:
        _print_abridged(doc, path)
    else:
        _print_rendered(doc, fmt)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cycle collector, tuned for a plan: it scanned every young object 700
    allocations apart, and the whole heap (imports included) as the inventory grew, for
    objects that all live on (items, changes) and cycles that hardly occur: 4% of a big
    plan's CPU. Meanwhile the objects of start-up are frozen out of its scans and it runs
    every 10,000 allocations; as before afterwards (tests plan in one process many times)."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 10_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def show(plan_file: Path, fmt: str) -> int:
    """Render a saved plan; a stale plan still renders (only apply checks staleness)."""
    from amlctl.show import show as show_plan

    print(show_plan(plan_file, fmt, _color(fmt)), end="")  # an unknown format is refused there
    return EXIT_OK


def make_plan_file(
    manifest_path: Path,
    out: Path | None,
    catalog: str | None,
    connection: Connection,
    *,
    replace: bool = False,
) -> tuple[dict[str, Any], Path]:
    from amlctl import __version__, inventory
    from amlctl.apply.export import index as exportindex
    from amlctl.azure.connect import open_client
    from amlctl.plan.serialize import plan_timestamp, write_plan
    from amlctl.planning.planner import PlanContext, decide, lay_out
    from amlctl.userstate import pseudonym_key

    path = out or Path("plans") / f"{manifest_path.stem}.plan.json"
    if not replace and path.exists():  # no plan file, no evidence of its apply: no need to look
        _refuse_to_replace_applied(path)
    override = load_catalog(catalog) if catalog else None
    manifest, loaded = load_manifest(manifest_path, override)
    index = exportindex.fingerprints(manifest.export_to)
    with open_client(loaded, connection) as client:
        status = _StatusLine(sys.stderr)
        try:
            found = inventory.fetch(
                manifest, loaded, client, parallelism=connection.parallelism, progress=status
            )
        finally:
            status.close()
        target = client.target.recorded
    created = plan_timestamp(os.environ, datetime.now(UTC))
    key = pseudonym_key() if manifest.request is not None else None
    context = PlanContext(target, created, __version__, index, key)
    decided = decide(manifest, loaded, found, context)
    del found  # the inventory is not needed to lay out and write the plan: its memory goes first
    return write_plan(lay_out(manifest, loaded, context, decided), path), path


def _refuse_to_replace_applied(path: Path) -> None:
    """The plan file an apply's evidence (journal, receipt) belongs to is not overwritten by
    accident: the receipt names it by path and digest."""
    from amlctl.apply.gate import evidence_of

    evidence = evidence_of(path)
    if evidence:
        names = ", ".join(p.name for p in evidence)
        raise UsageError(
            f"{path} was applied (its evidence: {names}); write the new plan elsewhere with "
            "-o, or pass --replace to replace it (the evidence stays, named by its digest)"
        )


def _print_rendered(doc: dict[str, Any], fmt: str, stream: TextIO | None = None) -> None:
    from amlctl.render import render

    out = stream or sys.stdout
    text = render(doc, fmt, color=_color(fmt, out))
    print(text, end="" if text.endswith("\n") else "\n", file=out)


def print_brief(doc: dict[str, Any], path: Path, stream: TextIO) -> None:
    """Before apply's prompt: the summary and every delete, not the whole plan."""
    from amlctl.render.text import render_brief

    print(render_brief(doc, path.as_posix(), color=_color("text", stream)), end="", file=stream)


def _color(fmt: str, stream: TextIO | None = None) -> bool:
    from amlctl.render.text import use_color

    return fmt == "text" and use_color(stream or sys.stdout)


class _StatusLine:
    """Plan's progress: one line rewritten in place on a terminal, plain lines otherwise (CI)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.live, self.shown = stream, stream.isatty(), False

    def __call__(self, message: str) -> None:
        if self.live:
            self.stream.write(f"\ramlctl: {message}\x1b[K")
            self.shown = True
        else:
            self.stream.write(f"amlctl: {message}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
