"""What `amlctl plan` imports: only what planning uses, so a small plan is not mostly start-up.
Each check runs in a fresh interpreter, since this one has imported everything already."""

from __future__ import annotations

import subprocess
import sys

import pytest

from amlctl import commands


def imported_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=60)
    return set(done.stdout.split())


def test_the_plan_command_does_not_import_apply_or_jinja2() -> None:
    loaded = imported_after(
        "import amlctl.cli\nfrom amlctl import commands\ncommands.plan\n"
        "from amlctl.render import get_renderer\nget_renderer('json')"
    )
    assert "amlctl.commands.planning" in loaded
    assert not {m for m in loaded if m.startswith(("amlctl.apply.gate", "amlctl.apply.executor",
                                                   "amlctl.commands.applying", "jinja2"))}


def test_every_command_is_found_by_name() -> None:
    for name in commands.__all__:
        assert callable(getattr(commands, name))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        commands.nothing  # noqa: B018
