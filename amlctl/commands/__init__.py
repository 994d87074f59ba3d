"""Commands: small functions that take explicit arguments, print results and return an exit code.

They raise AmlctlError for anything the user must fix; the error boundary in amlctl.cli prints it.
`amlctl.cli.app.run_command` finds each command here by name.

Each command's module is imported when the command is first looked up, not with the package:
`plan` need not import apply's modules, nor `apply` the emulator's (start-up is CPU that every
run pays, and a plan of a small workspace is mostly start-up).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# command -> the module of amlctl.commands that holds it
_MODULES = {
    "apply": "applying",
    "verify": "applying",
    "plan": "planning",
    "show": "planning",
    "package": "records",
    "request_record": "records",
    "catalog_list": "review",
    "validate": "review",
    "emulator_info": "tools",
    "emulator_serve": "tools",
    "github_comment": "tools",
    "github_step": "tools",
    "init": "tools",
    "schema": "tools",
}

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


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
