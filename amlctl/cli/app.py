"""The typer apps, amlctl's help style, the options several commands share, and `main`."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from typing import Annotated, Any, NoReturn, Optional

import typer
from typer.core import TyperArgument, TyperCommand, TyperOption

from amlctl import __version__
from amlctl.errors import EXIT_ERROR, error_boundary

# The exit code of the command that ran. typer exits 2 for usage errors; amlctl keeps 2 for
# "changes present", so main() tells the two apart by whether a command ran at all.
_command_exit: ContextVar[int | None] = ContextVar("_command_exit", default=None)

# typer labels every value with its Python type (`<str>`, `<list[Path]>`, `{FILE}`): noise to
# a reader. amlctl's help names values the Unix way (TEXT, N, PATH) unless a metavar says more.
_METAVARS = {"str": "TEXT", "int": "N", "int range": "N", "float": "NUMBER",
             "float range": "NUMBER", "path": "PATH", "Path": "PATH"}
_BRACES = re.compile(r"\{([^{}]+)\}")


class TidyCommand(TyperCommand):
    """Every amlctl command: values named TEXT, N, PATH (or by their metavar), no braces."""

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


def choices(*names: str) -> dict[str, Any]:
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


def run_command(command: str, **kwargs: object) -> NoReturn:
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
    str, typer.Option("--format", **choices("text", "markdown", "json"),
                      help="markdown: a pull-request comment; json: the plan file.")
]


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
