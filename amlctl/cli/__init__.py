"""The command line: parse options, call one function in `amlctl.commands`, return its exit code.
No logic here.

`app` holds the typer apps, amlctl's help style, the options several commands share and `main`;
`pipeline` the commands of a request's life (validate, plan, show, apply, verify, receipt,
package); `tools` the emulator, the pull-request workflow's steps and the starters. Importing
the package registers every command.
"""

from amlctl.cli import pipeline, tools
from amlctl.cli.app import app, main

__all__ = ["app", "main", "pipeline", "tools"]
