"""A URL from a feed becomes a link in the email only if it cannot forge lines of the plain-text part."""

from __future__ import annotations

import pytest

from novel_events.render import safe_url


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/x\r\nBcc: victim@example.org",
        "https://example.org/x\nForged line",
        "https://example.org/\u2028x",
        "https://example.org/\x00",
        "https://example.org/a\tb",
        "https://example.org/" + "a" * 3000,
        "javascript:alert(1)",
    ],
)
def test_unsafe_urls_are_dropped(url: str) -> None:
    assert safe_url(url) is None


def test_a_normal_url_is_kept() -> None:
    assert safe_url("https://example.org/event?id=1&x=%20") == "https://example.org/event?id=1&x=%20"
