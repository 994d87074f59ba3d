"""The command line: parse options, call one function, return its exit code. No logic here."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from typer.core import TyperArgument, TyperCommand, TyperOption

from amlctl import __version__
from amlctl.azure.target import Connection
from amlctl.errors import EXIT_ERROR, error_boundary

# The exit code of the command that ran. typer exits 2 for usage errors; amlctl keeps 2 for
# "changes present", so main() tells the two apart by whether a command ran at all.
_command_exit: ContextVar[int | None] = ContextVar("_command_exit", default=None)

# typer labels every value with its Python type (`<str>`, `<list[Path]>`, `{FILE}`): noise to
# a reader. amlctl's help names values the Unix way (TEXT, N, PATH) unless a metavar says more.
_METAVARS = {"str": "TEXT", "int": "N", "int range": "N", "float": "NUMBER",
             "float range": "NUMBER", "path": "PATH", "Path": "PATH"}
_BRACES = re.compile(r"\{([^{}]+)\}")


class _TidyCommand(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.metavar = param.metavar or param.name.upper() if param.name else None
                param.display_type_rich = _no_label  # type: ignore[method-assign]
            elif isinstance(param, TyperOption) and not param.is_flag and param.metavar is None:
                label = param.display_type(None).strip("<>")  # type: ignore[arg-type]
                param.metavar = _METAVARS.get(label, label)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:  # typer's click Context
        return [_BRACES.sub(r"\1", piece) for piece in super().collect_usage_pieces(ctx)]


def _no_label(ctx: Any) -> None:
    return None


def _choices(*names: str) -> dict[str, Any]:
    """An option's choices, shown as its value (`--format text|json`) and completed by the
    shell; amlctl itself checks the value, so a wrong one gets amlctl's own message."""

    def complete(incomplete: str) -> list[str]:
        return [name for name in names if name.startswith(incomplete)]

    return {"metavar": "|".join(names), "autocompletion": complete}


def _typer(**options: Any) -> typer.Typer:
    """A typer app with amlctl's help: -h as well as --help, plain text, no type labels."""
    return typer.Typer(
        no_args_is_help=True, rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]}, **options,
    )


app = _typer(
    name="amlctl",
    help="Plan and apply exports and erasures of Azure Machine Learning workspace data.",
    add_completion=True,  # --install-completion, --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
)
catalog_app = _typer(help="Inspect endpoint catalogs.")
emulator_app = _typer(help="The local Azure ML emulator.")
app.add_typer(catalog_app, name="catalog")
github_app = _typer(
    help="Steps of the pull-request workflow (examples/github/): plan comments, the reviewed "
    "digest, the receipt.",
)
app.add_typer(emulator_app, name="emulator")
app.add_typer(github_app, name="github")

CatalogOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional at runtime on some versions
    typer.Option("--catalog", help="Built-in catalog name or path to a catalog YAML file."),
]


def _version(value: bool) -> None:
    if value:
        print(f"amlctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour, as with NO_COLOR=1.")
    ] = False,
) -> None:
    """amlctl: validate a manifest, plan, review, apply."""
    if no_color:  # every colour decision reads NO_COLOR (render.text.use_color); main restores it
        os.environ["NO_COLOR"] = "1"


def _run(command: str, **kwargs: object) -> NoReturn:
    """Call `amlctl.commands.<command>` inside the error boundary and return its exit code."""
    from amlctl import commands

    code = EXIT_ERROR

    def set_exit(value: int) -> None:
        nonlocal code
        code = value

    with error_boundary(set_exit):
        code = getattr(commands, command)(**kwargs)
    _command_exit.set(code)
    raise typer.Exit(code)


@app.command(cls=_TidyCommand)
def validate(
    files: Annotated[list[Path], typer.Argument(help="Manifest files to validate.")],
    catalog: CatalogOption = None,
    format: Annotated[
        str,
        typer.Option("--format", **_choices("text", "json"), help="json: one document on stdout."),
    ] = "text",
) -> None:
    """Validate manifests; print every problem as FILE:LINE:COL: error: PATH: MESSAGE."""
    _run("validate", files=files, catalog=catalog, fmt=format)


@catalog_app.command("list", cls=_TidyCommand)
def catalog_list(
    catalog: CatalogOption = None,
    format: Annotated[str, typer.Option("--format", **_choices("table", "json"))] = "table",
) -> None:
    """List every operation of a catalog."""
    _run("catalog_list", catalog=catalog, fmt=format)


EndpointOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--endpoint",
        help="Emulator origin standing in for every Azure host (or AMLCTL_ENDPOINT).",
        show_default=False,
    ),
]
EmulatorFlag = Annotated[
    bool, typer.Option("--emulator", help="Run against an embedded emulator on demo data.")
]
ParallelismOption = Annotated[
    int, typer.Option("--parallelism", help="Concurrent requests.", min=1, max=64)
]
MaxPerHostOption = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--max-per-host",
        help="At most this many requests in flight to one host.",
        min=1,
        show_default=False,
    ),
]
FormatOption = Annotated[
    str, typer.Option("--format", **_choices("text", "markdown", "json"),
                      help="markdown: a pull-request comment; json: the plan file.")
]


@app.command(cls=_TidyCommand)
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
    _run(
        "plan",
        manifests=manifests,
        out=out,
        fmt=format,
        detailed_exitcode=detailed_exitcode,
        catalog=catalog,
        connection=Connection(endpoint, emulator, parallelism, max_per_host),
        replace=replace,
    )


@app.command(cls=_TidyCommand)
def show(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="A saved plan file.")],
    format: FormatOption = "text",
) -> None:
    """Render a saved plan (text, markdown for a pull request, or json)."""
    _run("show", plan_file=plan_file, fmt=format)


@app.command(cls=_TidyCommand)
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
        str, typer.Option("--format", **_choices("text", "json"), help="Progress as json lines.")
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
    _run(
        "apply",
        target=target,
        yes=yes,
        fmt=format,
        expect_digest=expect_digest,
        connection=Connection(endpoint, emulator, parallelism, max_per_host),
    )


@app.command(cls=_TidyCommand)
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
    _run(
        "verify",
        plan_file=plan_file,
        manual_done=manual_done or [],
        connection=Connection(endpoint, emulator, parallelism=4),
    )


@emulator_app.command("serve", cls=_TidyCommand)
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
    _run(
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


@emulator_app.command("info", cls=_TidyCommand)
def emulator_info(
    db: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--db", help="SQLite database (default: the default emulator database)."),
    ] = None,
    format: Annotated[str, typer.Option("--format", **_choices("table", "json"))] = "table",
) -> None:
    """The workspaces in an emulator database, with item counts per kind."""
    _run("emulator_info", db=db, fmt=format)


def main(argv: list[str] | None = None) -> int:
    """Entry point. Usage errors exit 1 (not 2), so that 2 always means "changes present"."""
    command = typer.main.get_command(app)
    reset = _command_exit.set(None)
    no_color = os.environ.get("NO_COLOR")
    try:
        command.main(args=argv, prog_name="amlctl", standalone_mode=True)
        return 0
    except SystemExit as done:
        ran = _command_exit.get()
        if ran is not None:
            return ran
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        return EXIT_ERROR if code == 2 else code
    finally:
        _command_exit.reset(reset)
        if no_color is None:
            os.environ.pop("NO_COLOR", None)


# -- the evidence of a request (defined after main() only to keep them together at the end) ---


@app.command("receipt", cls=_TidyCommand)
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
            **_choices("text", "markdown", "json"),
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
    _run("request_record", request_id=request_id, plans=plans, fmt=format, out=out)


@app.command("package", cls=_TidyCommand)
def package(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="An applied plan file.")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="The zip to write (0600), e.g. DSR-1.zip.")
    ],
) -> None:
    """A zip for the data subject: the plan's exported files (checked against the export
    index first), the index, a readable README.txt and contents.json with SHA-256 per file."""
    _run("package", plan_file=plan_file, out=out)


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


@github_app.command("comment", cls=_TidyCommand)
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
    _run("github_comment", plan_file=plan_file, pr=pr, print_only=print_only,
         approver=approver or [], repo=repo, api_url=api_url, author=author)


@github_app.command("approved", cls=_TidyCommand)
def github_approved(
    manifest: Annotated[Path, typer.Argument(metavar="MANIFEST", help="A manifest's path.")],
    pr: PrOption, repo: RepoOption = None, api_url: ApiUrlOption = None,
    author: AuthorOption = None,
) -> None:
    """Print the plan the pull request's comment showed reviewers for MANIFEST, as lines for
    $GITHUB_OUTPUT: digest, run, artifact, plan. Exit 1 when there is none or several."""
    _run("github_step", step="approved", plan_file=manifest, pr=pr, repo=repo,
         api_url=api_url, author=author)


@github_app.command("receipt", cls=_TidyCommand)
def github_receipt(
    plan_file: PlanArgument, pr: PrOption, repo: RepoOption = None, api_url: ApiUrlOption = None,
    author: AuthorOption = None,
) -> None:
    """Post what apply did (from the plan's receipt) to the pull request."""
    _run("github_step", step="receipt", plan_file=plan_file, pr=pr, repo=repo,
         api_url=api_url, author=author)


# -- for editors and new users ------------------------------------------------------------------


@app.command("schema", cls=_TidyCommand)
def schema(
    name: Annotated[
        str, typer.Argument(metavar="manifest|catalog|plan", help="Which schema to print.")
    ],
) -> None:
    """Print a shipped JSON Schema, for editors: amlctl schema manifest > manifest.schema.json"""
    _run("schema", name=name)


@app.command("init", cls=_TidyCommand)
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

    _run("init", path=path, kind=kind, request_id=request_id, force=force,
         workspace=Workspace(subscription, resource_group, workspace, location))
