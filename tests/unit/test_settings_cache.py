"""`load_settings` builds once per environment: the same object until a NOVEL_EVENTS_* variable changes."""

from __future__ import annotations

import pydantic
import pytest

from novel_events.settings import load_settings


def test_same_environment_same_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVEL_EVENTS_FROM_EMAIL", "digest@one.example")
    first = load_settings()
    assert load_settings() is first
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")  # only our prefix counts
    assert load_settings() is first


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        (("NOVEL_EVENTS_FROM_EMAIL", "digest@two.example"), "from_email", "digest@two.example"),
        (("novel_events_smtp_timeout", "30"), "smtp_timeout", 30.0),  # pydantic-settings ignores case
    ],
)
def test_a_changed_variable_is_read_again(
    monkeypatch: pytest.MonkeyPatch, change: tuple[str, str], field: str, expected: object
) -> None:
    before = load_settings()
    monkeypatch.setenv(*change)
    after = load_settings()
    assert after is not before
    assert getattr(after, field) == expected
    monkeypatch.delenv(change[0])
    assert getattr(load_settings(), field) == getattr(before, field)


def test_shared_settings_cannot_be_changed_in_place() -> None:
    with pytest.raises(pydantic.ValidationError):
        load_settings().email_backend = "smtp"  # type: ignore[misc]
