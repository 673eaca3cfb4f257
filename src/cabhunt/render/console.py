"""The terminal console every command prints tables with.

Rich falls back to 80 columns when output is not a terminal (a pipe, a file, CI logs), which
folds paths and command lines into unreadable slivers; analysts pipe output to files, so a
non-terminal console gets a wide fixed width instead (``COLUMNS`` still wins when set).
"""

from __future__ import annotations

import os
import sys
from typing import Any

PIPE_WIDTH = 200


def make_console(*, stderr: bool = False, **kwargs: Any) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not os.environ.get("COLUMNS") and not getattr(stream, "isatty", lambda: False)():
        width = PIPE_WIDTH
    return Console(stderr=stderr, width=width, **kwargs)
