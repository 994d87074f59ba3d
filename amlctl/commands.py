"""Commands: small functions that take explicit arguments, print results and return an exit code.

They raise AmlctlError for anything the user must fix; the error boundary in amlctl.cli prints it.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from amlctl.catalog import Catalog, load_catalog
from amlctl.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    ApplyRefused,
    CatalogError,
    Diagnostic,
    DiagnosticsError,
    UsageError,
)
from amlctl.manifest import load_manifest
from amlctl.terminal import visible

if TYPE_CHECKING:  # the HTTP stack is imported only by the commands that use it
    from amlctl.apply.gate import Approved
    from amlctl.apply.progress import Progress
    from amlctl.azure.target import Connection
    from amlctl.starter import Workspace


def validate(files: list[Path], catalog: str | None, fmt: str = "text") -> int:
    """Validate manifests (and a --catalog file); print every problem; 0 when all are valid.

    `fmt` "json" prints one document instead: {valid, files: [{file, valid}], problems: [...]}.
    """
    if fmt not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {fmt!r}")
    checked: list[tuple[str, bool]] = []  # (file, valid), the --catalog file first
    problems: list[Diagnostic] = []
    override: Catalog | None = None
    if catalog is not None:
        try:
            override = load_catalog(catalog)
            checked.append((catalog, True))
        except CatalogError as error:
            checked.append((catalog, False))
            problems += error.diagnostics
    for path in files:
        try:
            load_manifest(path, override)
            checked.append((str(path), True))
        except DiagnosticsError as error:
            checked.append((str(path), False))
            problems += error.diagnostics
    valid = not problems and all(ok for _file, ok in checked)
    if fmt == "json":
        doc = {
            "valid": valid,
            "files": [{"file": file, "valid": ok} for file, ok in checked],
            "problems": [problem.to_json() for problem in problems],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        for problem in problems:
            print(problem)
    if not valid:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
        return EXIT_ERROR
    if fmt == "text":
        for path in files:
            print(f"{path}: valid")
    return EXIT_OK


def catalog_list(catalog: str | None, fmt: str) -> int:
    """Print every operation of a catalog as a table or JSON."""
    if fmt not in ("table", "json"):
        raise UsageError(f"--format must be table or json, not {fmt!r}")
    loaded = load_catalog(catalog)
    rows = [
        _operation_row(
            op.kind,
            op.name,
            op.method,
            op.url,
            op.doc_url,
            op.note,
            op.paging.style if op.paging else None,
        )
        for op in loaded.operations()
    ]
    if fmt == "json":
        print(json.dumps(rows, indent=2))
    else:
        print(_table(loaded, rows))
    return EXIT_OK


def _operation_row(
    kind: str,
    operation: str,
    method: str,
    url: str,
    doc_url: str | None,
    note: str | None,
    paging: str | None,
) -> dict[str, str]:
    row = {"kind": kind, "operation": operation, "method": method, "url": url}
    if paging:
        row["paging"] = paging
    if doc_url:
        row["doc_url"] = doc_url
        row["note"] = note or ""
    return row


def _table(catalog: Catalog, rows: list[dict[str, str]]) -> str:
    width = max(len(row["kind"]) for row in rows)
    lines = [f"{catalog.name}: {catalog.title}", ""]
    for row in rows:
        mark = "  *" if "doc_url" in row else ""
        lines.append(
            f"{row['kind']:<{width}}  {row['operation']:<6}  {row['method']:<6}  {row['url']}{mark}"
        )
    if any("doc_url" in row for row in rows):
        lines += [
            "",
            "* differs from the article on purpose; `--format json` shows doc_url and note",
        ]
    return "\n".join(lines)


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
        return _plan_several(found, fmt, detailed_exitcode, catalog, connection, replace)
    doc, path = _make_plan(found[0], out, catalog, connection, replace=replace)
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
            doc, path = _make_plan(manifest, path, catalog, connection, replace=replace)
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
    print(f"{left} exports, unchanged and absent items are not listed here "
          f"(over {PRINT_IN_FULL} changes); all of them: amlctl show {path}")


def _print_plan(doc: dict[str, Any], fmt: str, path: Path) -> None:
    if fmt == "json":  # the file just written is its JSON rendering: streamed, not re-encoded
        from amlctl.render.json import saved_json

        for piece in saved_json(path):
            sys.stdout.write(piece)
    elif fmt == "text" and len(doc["changes"]) > PRINT_IN_FULL:
        _print_abridged(doc, path)
    else:
        _print_rendered(doc, fmt)


def show(plan_file: Path, fmt: str) -> int:
    """Render a saved plan; a stale plan still renders (only apply checks staleness)."""
    from amlctl.show import show as show_plan

    print(show_plan(plan_file, fmt, _color(fmt)), end="")  # an unknown format is refused there
    return EXIT_OK


def _make_plan(
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
    if not replace:
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


def _print_brief(doc: dict[str, Any], path: Path, stream: TextIO) -> None:
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


def emulator_serve(**options: Any) -> int:
    """`amlctl emulator serve`: see amlctl.emulator.commands.serve."""
    from amlctl.emulator import commands as emulator

    return emulator.serve(**options)


def emulator_info(db: Path | None, fmt: str) -> int:
    from amlctl.emulator import commands as emulator

    return emulator.info(db, fmt)


def github_comment(
    plan_file: Path, pr: int | None, print_only: bool, approver: list[str],
    repo: str | None, api_url: str | None, author: str | None,
) -> int:
    """`amlctl github comment`: see amlctl.github.commands.comment."""
    from amlctl.github import commands as github

    if (pr is None) != print_only:
        raise UsageError("pass --pr N to post the comment, or --print to print it")
    where = None if pr is None else github.pull_request(repo, pr, api_url, author, os.environ)
    return github.comment(plan_file, where, approver, os.environ)


def github_step(
    step: str, plan_file: Path, pr: int, repo: str | None, api_url: str | None,
    author: str | None,
) -> int:
    """`amlctl github approved|receipt`: see amlctl.github.commands."""
    from amlctl.github import commands as github

    where = github.pull_request(repo, pr, api_url, author, os.environ)
    run = github.approved if step == "approved" else github.receipt
    return run(plan_file, where, os.environ)


def apply(
    target: Path | None, yes: bool, fmt: str, connection: Connection,
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
    show = partial(_print_brief, path=path, stream=people)
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
        print(f"Stopped: the service at {result.unreachable} is unreachable; run apply again "
              "once it answers.", file=people)
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
        _, path = _make_plan(target, None, None, connection)
        return path
    require_plan_file(target)
    return target


def _apply_progress(approved: Approved, fmt: str) -> Progress:
    """Progress for the plan's exports and deletes; what the journal says an earlier run
    finished is counted once, not announced again."""
    from amlctl.apply.progress import Progress
    from amlctl.plan.model import Action

    acting = [c for c in approved.loaded.plan.changes if c.action in (Action.EXPORT, Action.DELETE)]
    finished = [
        c.address for c in acting
        if (state := approved.journal.state(c.address)) is not None and state.terminal
    ]
    live = fmt == "text" and sys.stderr.isatty()
    return Progress(len(acting), sys.stderr if live else sys.stdout, live=live, fmt=fmt,
                    finished=finished)


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


def _apply_summary(
    doc: dict[str, Any], plan_path: Path, digest: str, code: int
) -> dict[str, Any]:
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


# -- the evidence of a request: `amlctl receipt` and `amlctl package` -------------------------

_RECORD_FORMATS = ("text", "markdown", "json")
_RECORD_SUFFIXES = {".json": "json", ".md": "markdown", ".markdown": "markdown"}


def request_record(request_id: str, plans: Path, fmt: str | None, out: Path | None) -> int:
    """`amlctl receipt`: one record of a GDPR request from every plan, receipt and verify
    record under `plans` that answers it; 0 whenever the record could be built."""
    from amlctl.apply import dossier, dossier_render
    from amlctl.canonical import pretty_json
    from amlctl.fsio import write_file_atomic

    chosen = _record_format(fmt, out)
    doc = dossier.build(request_id, dossier.gather(request_id, plans), dossier.today(os.environ))
    if chosen == "json":
        data = pretty_json(doc)
    else:
        render = dossier_render.markdown if chosen == "markdown" else dossier_render.text
        data = render(doc).encode("utf-8")
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
        return EXIT_OK
    out.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomic(out, data, mode=0o600)
    complete = "complete" if doc["complete"] else "not complete"
    print(f"Saved the record of {request_id} ({complete}) to {out}", file=sys.stderr)
    return EXIT_OK


def _record_format(fmt: str | None, out: Path | None) -> str:
    """--format, else what -o's suffix says, else text on a terminal and JSON for a program."""
    if fmt is not None:
        if fmt not in _RECORD_FORMATS:
            raise UsageError(f"--format must be text, markdown or json, not {fmt!r}")
        return fmt
    if out is not None:
        return _RECORD_SUFFIXES.get(out.suffix.lower(), "text")
    return "text" if sys.stdout.isatty() else "json"


def package(plan_file: Path, out: Path) -> int:
    """`amlctl package`: the data subject's zip of what an applied plan exported, checked
    against the export index first; refused (1), naming the file, when any file differs."""
    from amlctl.apply import package as packaging

    packed = packaging.make(plan_file, out, os.environ)
    print(
        f"Wrote {packed.path}: {packed.items} item(s) in {packed.files} exported file(s), "
        f"{packed.size} bytes, sha256 {packed.sha256}"
    )
    if packed.left:
        print(
            f"warning: {packed.left} item(s) the plan meant to export are not in the package; "
            "its README.txt says which and why",
            file=sys.stderr,
        )
    return EXIT_OK


# -- for editors and new users: `amlctl schema` and `amlctl init` ------------------------------


def schema(name: str) -> int:
    """Print a shipped JSON Schema (manifest, catalog or plan) as it is in the package."""
    from amlctl.starter import schema_text

    sys.stdout.write(schema_text(name))
    return EXIT_OK


def init(
    path: Path | None, kind: str, workspace: Workspace, request_id: str, force: bool,
) -> int:
    """Write a commented starter manifest (and the manifest schema beside it, for editors),
    checked by the loader `validate` uses; an existing file is kept unless `force`."""
    from amlctl import starter
    from amlctl.apply.dossier import today
    from amlctl.fsio import write_file_atomic

    target = path or starter.default_path(kind, workspace, request_id)
    if target.exists() and not force:
        raise UsageError(f"{target} exists; pass --force to replace it")
    text = starter.starter(kind, workspace, request_id, today(os.environ))
    target.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomic(target, text.encode("utf-8"), mode=0o644)
    schema_file = target.parent / "manifest.schema.json"
    if not schema_file.exists():
        write_file_atomic(schema_file, starter.schema_text("manifest").encode("utf-8"), mode=0o644)
    try:
        load_manifest(target)  # e.g. a workspace name Azure would refuse: said with its place
    except DiagnosticsError:
        target.unlink()
        raise
    print(f"Wrote {target} ({kind}); check it with: amlctl validate {target}")
    return EXIT_OK
