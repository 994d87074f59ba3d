"""The command line: parse options, call one function, return its exit code. No logic here."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from amlctl import __version__
from amlctl.errors import EXIT_ERROR, error_boundary

# The exit code of the command that ran. typer exits 2 for usage errors; amlctl keeps 2 for
# "changes present", so main() tells the two apart by whether a command ran at all.
_command_exit: ContextVar[int | None] = ContextVar("_command_exit", default=None)

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


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Manifest files to validate.")],
    catalog: CatalogOption = None,
) -> None:
    """Validate manifests; print every problem as FILE:LINE:COL: error: PATH: MESSAGE."""
    _run("validate", files=files, catalog=catalog)


@catalog_app.command("list")
def catalog_list(
    catalog: CatalogOption = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """List every operation of a catalog."""
    _run("catalog_list", catalog=catalog, fmt=format)


def main(argv: list[str] | None = None) -> int:
    """Entry point. Usage errors exit 1 (not 2), so that 2 always means "changes present"."""
    command = typer.main.get_command(app)
    reset = _command_exit.set(None)
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
