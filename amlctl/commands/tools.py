"""The helpers around the pipeline: the emulator, GitHub pull requests, and for editors and new
users `amlctl schema` and `amlctl init`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amlctl.errors import EXIT_OK, DiagnosticsError, UsageError
from amlctl.manifest import load_manifest

if TYPE_CHECKING:
    from amlctl.starter import Workspace


def emulator_serve(**options: Any) -> int:
    """`amlctl emulator serve`: see amlctl.emulator.commands.serve."""
    from amlctl.emulator import commands as emulator

    return emulator.serve(**options)


def emulator_info(db: Path | None, fmt: str) -> int:
    from amlctl.emulator import commands as emulator

    return emulator.info(db, fmt)


def github_comment(
    plan_file: Path,
    pr: int | None,
    print_only: bool,
    approver: list[str],
    repo: str | None,
    api_url: str | None,
    author: str | None,
) -> int:
    """`amlctl github comment`: see amlctl.github.commands.comment."""
    from amlctl.github import commands as github

    if (pr is None) != print_only:
        raise UsageError("pass --pr N to post the comment, or --print to print it")
    where = None if pr is None else github.pull_request(repo, pr, api_url, author, os.environ)
    return github.comment(plan_file, where, approver, os.environ)


def github_step(
    step: str,
    plan_file: Path,
    pr: int,
    repo: str | None,
    api_url: str | None,
    author: str | None,
) -> int:
    """`amlctl github approved|receipt`: see amlctl.github.commands."""
    from amlctl.github import commands as github

    where = github.pull_request(repo, pr, api_url, author, os.environ)
    run = github.approved if step == "approved" else github.receipt
    return run(plan_file, where, os.environ)


def schema(name: str) -> int:
    """Print a shipped JSON Schema (manifest, catalog or plan) as it is in the package."""
    from amlctl.starter import schema_text

    sys.stdout.write(schema_text(name))
    return EXIT_OK


def init(
    path: Path | None,
    kind: str,
    workspace: Workspace,
    request_id: str,
    force: bool,
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
