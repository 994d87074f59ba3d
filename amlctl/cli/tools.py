"""The emulator, the pull-request workflow's steps (`amlctl github ...`), and the starters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from amlctl.cli.app import TidyCommand, app, choices, emulator_app, github_app, run_command


@emulator_app.command("serve", cls=TidyCommand)
def emulator_serve(
    host: Annotated[str, typer.Option("--host", help="Loopback address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0 picks a free one).")] = 8765,
    db: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--db",
            help="SQLite database (default: AMLCTL_EMULATOR_DB or "
            "~/.local/share/amlctl/emulator.sqlite3).",
        ),
    ] = None,
    seed: Annotated[
        str, typer.Option("--seed", help="demo, none or scale:N (new database only).")
    ] = "demo",
    latency_ms: Annotated[int, typer.Option("--latency-ms", help="Added to every request.")] = 0,
    fault_rate: Annotated[
        float,
        typer.Option(
            "--fault-rate", help="Share of requests hit by 500/503, resets, truncation or stalls."
        ),
    ] = 0.0,
    fault_seed: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--fault-seed", help="Seed for reproducible faults."),
    ] = None,
    access_log: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--access-log", help="One JSON line per request."),
    ] = None,
    page_size: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--page-size", help="Items per list page, every family."),
    ] = None,
    throttle: Annotated[
        bool, typer.Option("--throttle/--no-throttle", help="ARM token-bucket throttling.")
    ] = True,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Serve https with a self-signed certificate kept beside the database as "
            "<db>.pem (made on first use; its path is printed on start).",
        ),
    ] = False,
) -> None:
    """Serve the local Azure ML emulator until Ctrl-C."""
    run_command(
        "emulator_serve",
        host=host,
        port=port,
        db=db,
        seed=seed,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        fault_seed=fault_seed,
        access_log=access_log,
        page_size=page_size,
        throttle=throttle,
        tls=tls,
    )


@emulator_app.command("info", cls=TidyCommand)
def emulator_info(
    db: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--db", help="SQLite database (default: the default emulator database)."),
    ] = None,
    format: Annotated[str, typer.Option("--format", **choices("table", "json"))] = "table",
) -> None:
    """The workspaces in an emulator database, with item counts per kind."""
    run_command("emulator_info", db=db, fmt=format)


# -- the pull-request workflow: `amlctl github ...` -------------------------------------------

PlanArgument = Annotated[Path, typer.Argument(metavar="PLAN", help="A plan file.")]
PrOption = Annotated[int, typer.Option("--pr", help="The pull request's number.", min=1)]
RepoOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--repo", help="OWNER/NAME (default: GITHUB_REPOSITORY).", show_default=False),
]
ApiUrlOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--api-url", help="GitHub's REST API (default: GITHUB_API_URL, else api.github.com).",
        show_default=False,
    ),
]
AuthorOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--author", help="Whose plan comments count (default: github-actions[bot]).",
        show_default=False,
    ),
]


@github_app.command("comment", cls=TidyCommand)
def github_comment(
    plan_file: PlanArgument,
    pr: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--pr", help="The pull request's number (leave out with --print).", min=1),
    ] = None,
    approver: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--approver", metavar="USER|ORG/TEAM", help="Who must approve; repeat."),
    ] = None,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the comment instead of posting it.")
    ] = False,
    repo: RepoOption = None,
    api_url: ApiUrlOption = None,
    author: AuthorOption = None,
) -> None:
    """Create or update the one comment showing this manifest's plan (found by its hidden
    marker); older ones are marked outdated. Exit 1 when the request is past its due date."""
    run_command("github_comment", plan_file=plan_file, pr=pr, print_only=print_only,
         approver=approver or [], repo=repo, api_url=api_url, author=author)


@github_app.command("approved", cls=TidyCommand)
def github_approved(
    manifest: Annotated[Path, typer.Argument(metavar="MANIFEST", help="A manifest's path.")],
    pr: PrOption, repo: RepoOption = None, api_url: ApiUrlOption = None,
    author: AuthorOption = None,
) -> None:
    """Print the plan the pull request's comment showed reviewers for MANIFEST, as lines for
    $GITHUB_OUTPUT: digest, run, artifact, plan. Exit 1 when there is none or several."""
    run_command("github_step", step="approved", plan_file=manifest, pr=pr, repo=repo,
         api_url=api_url, author=author)


@github_app.command("receipt", cls=TidyCommand)
def github_receipt(
    plan_file: PlanArgument, pr: PrOption, repo: RepoOption = None, api_url: ApiUrlOption = None,
    author: AuthorOption = None,
) -> None:
    """Post what apply did (from the plan's receipt) to the pull request."""
    run_command("github_step", step="receipt", plan_file=plan_file, pr=pr, repo=repo,
         api_url=api_url, author=author)


# -- for editors and new users ------------------------------------------------------------------


@app.command("schema", cls=TidyCommand)
def schema(
    name: Annotated[
        str, typer.Argument(metavar="manifest|catalog|plan", help="Which schema to print.")
    ],
) -> None:
    """Print a shipped JSON Schema, for editors: amlctl schema manifest > manifest.schema.json"""
    run_command("schema", name=name)


@app.command("init", cls=TidyCommand)
def init(
    path: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(metavar="FILE", help="Where to write (default manifests/<name>.yaml)."),
    ] = None,
    kind: Annotated[
        str, typer.Option("--kind", help="dsr (a data-subject request), export or teardown.")
    ] = "dsr",
    workspace: Annotated[str, typer.Option("--workspace", help="The workspace's name.")] = (
        "my-workspace"),
    resource_group: Annotated[
        str, typer.Option("--resource-group", help="Its resource group.")] = "my-rg",
    subscription: Annotated[
        str, typer.Option("--subscription", help="Its subscription id.")
    ] = "00000000-0000-0000-0000-000000000000",
    location: Annotated[str, typer.Option("--location", help="Its region.")] = "westeurope",
    request_id: Annotated[
        str, typer.Option("--request-id", help="The GDPR request's id (dsr).")] = "DSR-0001",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a commented starter manifest that validates as written (and the manifest schema
    beside it, for editors); fill in the workspace and the subject, then plan it."""
    from amlctl.starter import Workspace

    run_command("init", path=path, kind=kind, request_id=request_id, force=force,
         workspace=Workspace(subscription, resource_group, workspace, location))

