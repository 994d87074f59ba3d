"""Ctrl-C during apply: the first stops it cleanly, the second stops it at once.

The first SIGINT raises KeyboardInterrupt as Python does: the executor starts nothing new, lets
what is in flight answer for a few seconds, journals it, and apply writes the receipt and says
how to resume. A second SIGINT while that happens ends the process at once with exit 130 and
one line, no traceback: everything done so far is in the journal, which a re-run reads.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from amlctl.errors import EXIT_INTERRUPTED


@contextmanager
def second_interrupt_exits() -> Iterator[None]:
    """Within the block, a second Ctrl-C exits at once; the previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    seen = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal seen
        seen += 1
        if seen == 1:
            raise KeyboardInterrupt
        sys.stderr.write(
            "\ninterrupted again: stopping now; run the same `amlctl apply` to resume\n"
        )
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)  # no cleanup: the journal already holds what was done

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def leave_now(code: int) -> None:
    """Exit without waiting for worker threads still blocked in a request an interrupted run
    abandoned (the interpreter would join them, for up to a minute)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
