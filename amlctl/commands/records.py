"""The evidence of a request: `amlctl receipt` (one record of it) and `amlctl package` (the
data subject's zip)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from amlctl.errors import EXIT_OK, UsageError

_RECORD_FORMATS = ("text", "markdown", "json")
_RECORD_SUFFIXES = {".json": "json", ".md": "markdown", ".markdown": "markdown"}


def request_record(request_id: str, plans: Path, fmt: str | None, out: Path | None) -> int:
    """`amlctl receipt`: one record of a GDPR request from every plan, receipt and verify
    record under `plans` that answers it; 0 whenever the record could be built."""
    from amlctl.apply import dossier, dossier_render
    from amlctl.canonical import pretty_json
    from amlctl.fsio import write_file_atomic

    chosen = _record_format(fmt, out)
    doc = dossier.build(request_id, dossier.gather(request_id, plans), dossier.today(os.environ))
    if chosen == "json":
        data = pretty_json(doc)
    else:
        render = dossier_render.markdown if chosen == "markdown" else dossier_render.text
        data = render(doc).encode("utf-8")
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
        return EXIT_OK
    out.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomic(out, data, mode=0o600)
    complete = "complete" if doc["complete"] else "not complete"
    print(f"Saved the record of {request_id} ({complete}) to {out}", file=sys.stderr)
    return EXIT_OK


def _record_format(fmt: str | None, out: Path | None) -> str:
    """--format, else what -o's suffix says, else text on a terminal and JSON for a program."""
    if fmt is not None:
        if fmt not in _RECORD_FORMATS:
            raise UsageError(f"--format must be text, markdown or json, not {fmt!r}")
        return fmt
    if out is not None:
        return _RECORD_SUFFIXES.get(out.suffix.lower(), "text")
    return "text" if sys.stdout.isatty() else "json"


def package(plan_file: Path, out: Path) -> int:
    """`amlctl package`: the data subject's zip of what an applied plan exported, checked
    against the export index first; refused (1), naming the file, when any file differs."""
    from amlctl.apply import package as packaging

    packed = packaging.make(plan_file, out, os.environ)
    print(
        f"Wrote {packed.path}: {packed.items} item(s) in {packed.files} exported file(s), "
        f"{packed.size} bytes, sha256 {packed.sha256}"
    )
    if packed.left:
        print(
            f"warning: {packed.left} item(s) the plan meant to export are not in the package; "
            "its README.txt says which and why",
            file=sys.stderr,
        )
    return EXIT_OK
