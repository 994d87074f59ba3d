"""The commands of a request's life: validate, plan, show, apply, verify, receipt, package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from amlctl.azure.target import Connection
from amlctl.cli.app import (
    CatalogOption,
    EmulatorFlag,
    EndpointOption,
    FormatOption,
    MaxPerHostOption,
    ParallelismOption,
    TidyCommand,
    app,
    catalog_app,
    choices,
    run_command,
)


@app.command(cls=TidyCommand)
def validate(
    files: Annotated[list[Path], typer.Argument(help="Manifest files to validate.")],
    catalog: CatalogOption = None,
    format: Annotated[
        str,
        typer.Option("--format", **choices("text", "json"), help="json: one document on stdout."),
    ] = "text",
) -> None:
    """Validate manifests; print every problem as FILE:LINE:COL: error: PATH: MESSAGE."""
    run_command("validate", files=files, catalog=catalog, fmt=format)


@catalog_app.command("list", cls=TidyCommand)
def catalog_list(
    catalog: CatalogOption = None,
    format: Annotated[str, typer.Option("--format", **choices("table", "json"))] = "table",
) -> None:
    """List every operation of a catalog."""
    run_command("catalog_list", catalog=catalog, fmt=format)


@app.command(cls=TidyCommand)
def plan(
    manifests: Annotated[
        list[Path],
        typer.Argument(
            metavar="MANIFEST|DIR|GLOB",
            help="Manifests to plan: files, folders (their *.yaml) or quoted globs.",
        ),
    ],
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "-o", "--out", help="Plan file (one manifest; default plans/<manifest stem>.plan.json)."
        ),
    ] = None,
    format: FormatOption = "text",
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when the plan has changes.")
    ] = False,
    catalog: CatalogOption = None,
    endpoint: EndpointOption = None,
    emulator: EmulatorFlag = False,
    parallelism: ParallelismOption = 10,
    max_per_host: MaxPerHostOption = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Replace a plan file that was applied already."),
    ] = False,
) -> None:
    """Read the workspaces (never changing them) and write the plan of what apply would do."""
    run_command(
        "plan",
        manifests=manifests,
        out=out,
        fmt=format,
        detailed_exitcode=detailed_exitcode,
        catalog=catalog,
        connection=Connection(endpoint, emulator, parallelism, max_per_host),
        replace=replace,
    )


@app.command(cls=TidyCommand)
def show(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="A saved plan file.")],
    format: FormatOption = "text",
) -> None:
    """Render a saved plan (text, markdown for a pull request, or json)."""
    run_command("show", plan_file=plan_file, fmt=format)


@app.command(cls=TidyCommand)
def apply(
    target: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(
            metavar="PLAN|MANIFEST",
            help="A saved plan, or a manifest to plan "
            "first; default: the one pending plan under plans/.",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Skip the prompt (saved plan files only).")
    ] = False,
    parallelism: ParallelismOption = 10,
    max_per_host: MaxPerHostOption = None,
    endpoint: EndpointOption = None,
    emulator: EmulatorFlag = False,
    format: Annotated[
        str, typer.Option("--format", **choices("text", "json"), help="Progress as json lines.")
    ] = "text",
    expect_digest: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--expect-digest",
            metavar="DIGEST",
            help="Refuse unless the plan's digest is this one (the reviewed plan's).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Apply exactly a reviewed plan: exports, then deletes; resumable; leaves a receipt."""
    run_command(
        "apply",
        target=target,
        yes=yes,
        fmt=format,
        expect_digest=expect_digest,
        connection=Connection(endpoint, emulator, parallelism, max_per_host),
    )


@app.command(cls=TidyCommand)
def verify(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="An applied plan file.")],
    manual_done: Annotated[
        list[str] | None,
        typer.Option(
            "--manual-done",
            metavar="STEP",
            help="A manual step (its id) you have done by hand; repeat for each, or `all`.",
        ),
    ] = None,
    endpoint: EndpointOption = None,
    emulator: EmulatorFlag = False,
) -> None:
    """After apply: every planned delete is gone, every planned export matches its hash, every
    manual step is confirmed; anything not done fails it, with its reason."""
    run_command(
        "verify",
        plan_file=plan_file,
        manual_done=manual_done or [],
        connection=Connection(endpoint, emulator, parallelism=4),
    )


@app.command("receipt", cls=TidyCommand)
def receipt(
    request_id: Annotated[
        str, typer.Argument(metavar="REQUEST-ID", help="The GDPR request, e.g. DSR-2026-0042.")
    ],
    plans: Annotated[
        Path,
        typer.Option("--plans", help="Folder of plan files, receipts and verify records "
                     "(its subfolders are not read)."),
    ] = Path("plans"),
    format: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--format",
            **choices("text", "markdown", "json"),
            help="Default: -o's suffix, else text on a terminal and "
            "json otherwise).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("-o", "--out", help="Write the record to this file (0600) instead."),
    ] = None,
) -> None:
    """One record of a GDPR request: every plan answering it, what was done, what is still
    owed and why, the deadline, and whether it is complete (verified)."""
    run_command("request_record", request_id=request_id, plans=plans, fmt=format, out=out)


@app.command("package", cls=TidyCommand)
def package(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="An applied plan file.")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="The zip to write (0600), e.g. DSR-1.zip.")
    ],
) -> None:
    """A zip for the data subject: the plan's exported files (checked against the export
    index first), the index, a readable README.txt and contents.json with SHA-256 per file."""
    run_command("package", plan_file=plan_file, out=out)
