"""Fixtures of the alert tests: a module-wide local webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.alerts import Receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()
