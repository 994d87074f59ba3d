"""One exception tree for amlctl, its exit codes, and the error boundary.

    AmlctlError                     anything amlctl reports to the user (exit 1)
    ├── UsageError                  bad command-line use
    ├── DiagnosticsError            input that failed validation; carries every Diagnostic
    │   ├── ManifestError
    │   └── CatalogError
    ├── ExpandError                 a URL template that cannot be expanded safely
    ├── AuthError                   no credential, or a token would go where it must not
    ├── ApiError                    an HTTP call failed (method, url, status, service error code)
    ├── PlanFileError               a plan file that is unreadable, tampered with or stale
    ├── ApplyRefused                apply stopped before changing anything
    ├── LimitExceeded               more deletes than limits.maxDeletes allows
    └── UnknownField                a `where` path that no item of its kind has

Library code raises; only `error_boundary` prints. An unexpected exception is a bug: the boundary
prints one line and the path of a file holding the traceback, never the traceback itself.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from amlctl.terminal import visible_lines

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2  # plan --detailed-exitcode only
EXIT_PARTIAL = 3  # apply changed some things, re-run to resume
EXIT_INTERRUPTED = 130

JsonPath = tuple[str | int, ...]  # keys and list indexes from the document root
NO_PLACE = 0  # Diagnostic line and col in a file without line marks (plan files are plain JSON)


def format_path(where: JsonPath) -> str:
    """`('delete', 'select', 1, 'kind')` -> `$.delete.select[1].kind`; odd keys as `['a b']`."""
    out = "$"
    for part in where:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in an input file, with the place it points to.

    `line` and `col` are 1-based, or both NO_PLACE when the file has no marks to point into;
    then the JSON path alone says where, and `str` shows `FILE: error: PATH: MESSAGE`.
    """

    file: str
    line: int
    col: int
    path: str  # JSON path (`format_path`), e.g. $.delete.select[1].kind
    message: str

    def __str__(self) -> str:
        place = self.file if self.line == NO_PLACE else f"{self.file}:{self.line}:{self.col}"
        return f"{place}: error: {self.path}: {self.message}"

    def to_json(self) -> dict[str, str | int | None]:
        """{file, line, col, path, message}; line and col are null when there is no place."""
        placed = self.line != NO_PLACE
        return {
            "file": self.file,
            "line": self.line if placed else None,
            "col": self.col if placed else None,
            "path": self.path,
            "message": self.message,
        }


class AmlctlError(Exception):
    """Base of every error amlctl reports to the user."""

    exit_code = EXIT_ERROR


class UsageError(AmlctlError):
    pass


class DiagnosticsError(AmlctlError):
    """Validation failed; `diagnostics` holds every problem found, sorted by place."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class ManifestError(DiagnosticsError):
    pass


class CatalogError(DiagnosticsError):
    pass


class ExpandError(AmlctlError):
    pass


class AuthError(AmlctlError):
    pass


class ApiError(AmlctlError):
    """An HTTP call that failed for good (after retries)."""

    def __init__(
        self,
        method: str,
        url: str,
        status: int | None,
        code: str = "",
        message: str = "",
        *,
        via: str | None = None,
    ) -> None:
        self.method, self.url, self.status, self.code = method, url, status, code
        self.message, self.via = message, via
        shown = f"{status}" if status is not None else "no response"
        detail = f" ({code})" if code else ""
        text = f"{method} {url} -> {shown}{detail}: {message}".rstrip(": ")
        # Against an emulator, the URL is the Azure one it stands for: say who answered.
        super().__init__(text + (f" [sent to {via}]" if via else ""))

    def sent_to(self, origin: str) -> ApiError:
        """The same error, naming the origin the request actually went to."""
        return ApiError(
            self.method, self.url, self.status, self.code, self.message, via=origin
        )


class PlanFileError(AmlctlError):
    pass


class ApplyRefused(AmlctlError):
    pass


def _write_traceback() -> str:
    with tempfile.NamedTemporaryFile(
        "w", prefix="amlctl-crash-", suffix=".log", delete=False
    ) as handle:
        traceback.print_exc(file=handle)
        return handle.name


@contextmanager
def error_boundary(set_exit: Callable[[int], None]) -> Iterator[None]:
    """Turn every exception into a message on stderr and an exit code passed to `set_exit`."""
    try:
        yield
    except AmlctlError as error:
        # Messages quote what servers and files said: shown, never obeyed by the terminal.
        print(visible_lines(str(error) or type(error).__name__), file=sys.stderr)
        set_exit(error.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        set_exit(EXIT_INTERRUPTED)
    except Exception as error:  # a bug: one line, and where the trace went
        where = _write_traceback()
        print(
            f"internal error: {type(error).__name__}: {error} (traceback in {where})",
            file=sys.stderr,
        )
        set_exit(EXIT_ERROR)


class LimitExceeded(AmlctlError):
    """A plan would touch more than the manifest's safety limits allow."""


class UnknownField(AmlctlError):
    """A selector tests a field that no listed item of its kind has: a misspelt path, which
    must never quietly match every item (or none)."""
