"""What amlctl keeps for the user who runs it, outside any project: the pseudonym key.

The folder is `$XDG_STATE_HOME/amlctl` (else `~/.local/state/amlctl`), 0700, never a repository
folder, so what is kept there reaches no plan, pull-request comment or commit.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from amlctl.errors import UsageError
from amlctl.fsio import FsError, write_file_atomic

KEY_FILE_ENV = "AMLCTL_PSEUDONYM_KEY_FILE"
KEY_BYTES = 32


def state_dir() -> Path:
    """`$XDG_STATE_HOME/amlctl`, else `~/.local/state/amlctl` (not created here)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "amlctl"


def pseudonym_key() -> bytes:
    """The key the subject's pseudonym is made with: the file `$AMLCTL_PSEUDONYM_KEY_FILE`
    names (a team that shares one key gets the same pseudonym from every planner), else
    `pseudonym.key` in the state folder, made at random on first use (0600)."""
    named = os.environ.get(KEY_FILE_ENV)
    path = Path(named) if named else state_dir() / "pseudonym.key"
    if not named and not path.exists():
        _create_key(path)
    return _read_key(path)


def _create_key(path: Path) -> None:
    """Write a new key whole under a temp name, then link it into place: two first plans at
    once keep one key (the later link fails), never half a key or two in turn."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    try:
        write_file_atomic(temp, secrets.token_hex(KEY_BYTES).encode() + b"\n", mode=0o600)
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    except (OSError, FsError) as error:
        why = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"{path}: cannot create the pseudonym key: {why}") from None
    finally:
        temp.unlink(missing_ok=True)


def _read_key(path: Path) -> bytes:
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        why = getattr(error, "strerror", None) or "not a key file"
        raise UsageError(f"{path}: cannot read the pseudonym key: {why}") from None
    if not stat.S_ISREG(info.st_mode) or len(text) < 2 * 16:
        raise UsageError(
            f"{path}: not a pseudonym key (expected at least 32 hex digits, as amlctl writes)"
        )
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise UsageError(f"{path}: not a pseudonym key (not hex digits)") from None
