"""The fake Google, by its historical name: see :mod:`tests.fakes.google` (split into small modules).

Command line::

    python -m tests.fakes.google_calendar DUMP.json [--port N] [--refresh-token T]
"""

from __future__ import annotations

from tests.fakes.google import *  # noqa: F403  (the public API, re-exported)
from tests.fakes.google import __all__ as _public
from tests.fakes.google.cli import main

__all__ = [*_public, "main"]

if __name__ == "__main__":
    main()
