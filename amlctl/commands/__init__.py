"""Commands: small functions that take explicit arguments, print results and return an exit code.

They raise AmlctlError for anything the user must fix; the error boundary in amlctl.cli prints it.
`amlctl.cli.app.run_command` finds each command here by name.
"""

from amlctl.commands.applying import apply, verify
from amlctl.commands.planning import plan, show
from amlctl.commands.records import package, request_record
from amlctl.commands.review import catalog_list, validate
from amlctl.commands.tools import (
    emulator_info,
    emulator_serve,
    github_comment,
    github_step,
    init,
    schema,
)

__all__ = [
    "apply",
    "catalog_list",
    "emulator_info",
    "emulator_serve",
    "github_comment",
    "github_step",
    "init",
    "package",
    "plan",
    "request_record",
    "schema",
    "show",
    "validate",
    "verify",
]
