from __future__ import annotations

from amlctl.cli import main

raise SystemExit(main())
