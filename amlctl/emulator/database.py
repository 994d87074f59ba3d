"""Where the emulator keeps its database by default, and opening (and seeding) one."""

from __future__ import annotations

import os
from pathlib import Path

from amlctl.emulator.seed import apply_seed, parse_seed
from amlctl.emulator.store import Store

ENV_DB = "AMLCTL_EMULATOR_DB"


def default_db_path() -> Path:
    """`$AMLCTL_EMULATOR_DB`, else `${XDG_DATA_HOME:-~/.local/share}/amlctl/emulator.sqlite3`."""
    explicit = os.environ.get(ENV_DB)
    if explicit:
        return Path(explicit).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser() / "amlctl" / "emulator.sqlite3"


def open_store(path: Path | None = None, seed: str = "demo") -> Store:
    """Open (creating if needed) the database at `path` (default: `default_db_path()`), and
    seed it when it is empty. A bad seed spec raises UsageError before anything is created."""
    parse_seed(seed)
    store = Store(path or default_db_path())
    try:
        apply_seed(store, seed)
    except BaseException:
        store.close()
        raise
    return store
