"""The command line: parse options, call one function, return its exit code. No logic here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

from amlctl import __version__
from amlctl.errors import EXIT_ERROR, EXIT_INTERRUPTED, error_boundary

app = typer.Typer(
    name="amlctl",
    help="Plan and apply exports and erasures of Azure Machine Learning workspace data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="Inspect endpoint catalogs.", no_args_is_help=True)
emulator_app = typer.Typer(help="The local Azure ML emulator.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
app.add_typer(emulator_app, name="emulator")

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
) -> None:
    """amlctl: validate a manifest, plan, review, apply."""


def _run(command: str, **kwargs: object) -> int:
    """Call `amlctl.commands.<command>` inside the error boundary and return its exit code."""
    from amlctl import commands

    code = EXIT_ERROR

    def set_exit(value: int) -> None:
        nonlocal code
        code = value

    with error_boundary(set_exit):
        code = getattr(commands, command)(**kwargs)
    return code


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Manifest files to validate.")],
    catalog: CatalogOption = None,
) -> int:
    """Validate manifests; print every problem as FILE:LINE:COL: error: PATH: MESSAGE."""
    return _run("validate", files=files, catalog=catalog)


@catalog_app.command("list")
def catalog_list(
    catalog: CatalogOption = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> int:
    """List every operation of a catalog."""
    return _run("catalog_list", catalog=catalog, fmt=format)


def main(argv: list[str] | None = None) -> int:
    """Entry point. Usage errors exit 1 (not click's 2), so that 2 always means "changes"."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="amlctl", standalone_mode=False)
    except click.exceptions.UsageError as error:
        error.show()
        return EXIT_ERROR
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    return int(result) if isinstance(result, int) else 0
