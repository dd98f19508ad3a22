"""Print the fault table at the end of the session (it is also in docs/faults.md after a full run)."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    from tests.faults.table import TABLE

    table = config.stash.get(TABLE, None)
    if table:
        terminalreporter.write_sep("=", "faults")
        terminalreporter.write_line(table)
