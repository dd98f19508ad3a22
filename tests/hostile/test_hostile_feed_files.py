"""Hostile local sources: only regular files inside ICS_ROOT, bounded, nothing echoed."""

from __future__ import annotations

import os
import threading
import tracemalloc
from pathlib import Path

import pytest

from novel_events.errors import InvalidInput, PermanentError
from novel_events.sources.feeds import MAX_BYTES, FeedPolicy, check_feed_source, read_feed

MARK = "SECRET-FILE-CONTENT-42"


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    r = tmp_path / "feeds"
    r.mkdir()
    (r / "ok.ics").write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    (tmp_path / "outside.txt").write_text(f"{MARK}\n")
    return r


def refused(source: str, policy: FeedPolicy, match: str) -> str:
    with pytest.raises(PermanentError, match=match) as info:
        read_feed(source, policy)
    assert MARK not in str(info.value) and "HOME=" not in str(info.value)
    return str(info.value)


def test_a_file_inside_the_root_is_read(root: Path) -> None:
    assert read_feed(f"ics:{root / 'ok.ics'}", FeedPolicy(ics_root=root)).startswith(b"BEGIN:VCALENDAR")
    assert read_feed(f"ics:file://{root / 'ok.ics'}", FeedPolicy(ics_root=root)).startswith(b"BEGIN:VCALENDAR")
    assert read_feed("ics:ok.ics", FeedPolicy(ics_root=root)).startswith(b"BEGIN")  # relative to the root


def test_no_root_means_no_local_files(root: Path) -> None:
    refused(f"ics:{root / 'ok.ics'}", FeedPolicy(), "not allowed")


@pytest.mark.parametrize(
    "source",
    [
        "ics:/proc/self/environ",
        "ics:file:///proc/self/environ",
        "ics:/etc/hostname",
        "ics:/dev/zero",
        "ics:~/.env",
    ],
)
def test_system_files_are_outside_the_root(root: Path, source: str) -> None:
    refused(source, FeedPolicy(ics_root=root), "outside ICS_ROOT|not found")


def test_dotdot_cannot_escape(root: Path) -> None:
    refused(f"ics:{root}/../outside.txt", FeedPolicy(ics_root=root), "outside ICS_ROOT")
    refused("ics:../outside.txt", FeedPolicy(ics_root=root), "outside ICS_ROOT")
    refused(f"ics:file://{root}/%2e%2e/outside.txt", FeedPolicy(ics_root=root), "outside ICS_ROOT")


def test_symlinks_cannot_escape(root: Path) -> None:
    (root / "env.ics").symlink_to("/proc/self/environ")
    (root / "out.ics").symlink_to(root.parent / "outside.txt")
    (root / "dir").symlink_to(root.parent)
    refused(f"ics:{root / 'env.ics'}", FeedPolicy(ics_root=root), "outside ICS_ROOT")
    refused(f"ics:{root / 'out.ics'}", FeedPolicy(ics_root=root), "outside ICS_ROOT")
    refused(f"ics:{root / 'dir' / 'outside.txt'}", FeedPolicy(ics_root=root), "outside ICS_ROOT")


def test_a_symlink_inside_the_root_to_a_file_inside_is_fine(root: Path) -> None:
    (root / "alias.ics").symlink_to(root / "ok.ics")
    assert read_feed(f"ics:{root / 'alias.ics'}", FeedPolicy(ics_root=root)).startswith(b"BEGIN")


def test_a_fifo_is_refused_not_waited_on(root: Path) -> None:
    fifo = root / "pipe.ics"
    os.mkfifo(fifo)
    result: list[BaseException] = []

    def attempt() -> None:
        try:
            read_feed(f"ics:{fifo}", FeedPolicy(ics_root=root))
        except BaseException as exc:
            result.append(exc)

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(30)
    if t.is_alive():  # unblock the reader so the test process can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert isinstance(result[0], PermanentError) and "not a regular file" in str(result[0])


def test_devices_and_directories_are_refused(root: Path) -> None:
    (root / "zero.ics").symlink_to("/dev/zero")
    refused(f"ics:{root / 'zero.ics'}", FeedPolicy(ics_root=root), "outside ICS_ROOT")
    refused(f"ics:{root}", FeedPolicy(ics_root=root.parent), "not a regular file")
    refused(f"ics:{root}", FeedPolicy(ics_root=root), "not a regular file")


def test_a_big_file_is_refused_with_bounded_memory(root: Path) -> None:
    big = root / "big.ics"
    with open(big, "wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: 20 MiB + 1 byte
    tracemalloc.start()
    try:
        refused(f"ics:{big}", FeedPolicy(ics_root=root), "feed larger than 20 MiB")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


def test_up_front_check_gives_invalid_input_on_source(root: Path) -> None:
    assert check_feed_source(f"ics:{root / 'ok.ics'}", FeedPolicy(ics_root=root)) == f"ics:{root / 'ok.ics'}"
    for bad in (
        "ics:/proc/self/environ",
        f"ics:{root}/../outside.txt",
        "ics:http://127.0.0.1:9/x.ics",
        "ics:http://169.254.169.254/",
        "ics:ftp://example.org/x.ics",
        "ics:http://[::ffff:10.0.0.1]/",
    ):
        with pytest.raises(InvalidInput) as info:
            check_feed_source(bad, FeedPolicy(ics_root=root))
        assert info.value.field == "--source"
