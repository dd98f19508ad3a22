"""Every valid user id maps to a distinct, valid Prefect block name (ids may contain '_', block names may not)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tasks.credentials import grant_block_name

IDS = st.from_regex(r"[a-z0-9_-]{1,64}", fullmatch=True)
BLOCK_NAME = re.compile(r"[a-z0-9-]+")


@given(IDS)
def test_a_block_name_is_valid(uid: str) -> None:
    assert BLOCK_NAME.fullmatch(grant_block_name(uid))


@given(IDS, IDS)
def test_the_mapping_is_one_to_one(a: str, b: str) -> None:
    assert (grant_block_name(a) == grant_block_name(b)) == (a == b)


def test_existing_names_do_not_move() -> None:
    assert grant_block_name("alice") == "novel-events-google-alice"
    assert grant_block_name("team_lead") != grant_block_name("team-lead")
    assert grant_block_name("x-7465616d5f6c656164") != grant_block_name("team_lead")
