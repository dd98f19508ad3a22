"""Wheel build hook: ship the rooms under one project-named directory, never as generic top-level names.

The source layout keeps ``tasks/``, ``flows/``, ``deployments/``, ``cli/`` (and later ``web/``) at the
top, and the code imports them by those names. Installed as top-level packages they would share
site-packages with any other distribution using the same generic names (files overwritten, one
uninstall deleting the other's code). So the wheel holds:

- ``novel_events/``            the domain (a name only we use);
- ``novel_events_rooms/<room>`` each room listed in ``[tool.novel-events] rooms`` of pyproject.toml;
- ``novel_events_rooms.pth``   one line, ``novel_events_rooms``: the interpreter appends that directory
                               to ``sys.path`` at start-up, so ``import flows.digest`` works in the CLI,
                               the worker and ``python -m prefect.engine`` without any wrapper.

Appended, not prepended: a foreign top-level ``tasks`` installed in the same environment is never
shadowed by ours (tests/unit/test_packaging.py builds a wheel and checks all of this). Editable
installs (``make install``) are untouched: the repository root is on the path as usual.
"""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PRIVATE_ROOT = "novel_events_rooms"


def rooms(root: Path) -> list[str]:
    """The one list of rooms, from pyproject.toml."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["novel-events"]["rooms"])


class RoomsBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        for room in rooms(root):
            for source in sorted((root / room).rglob("*")):
                if source.is_file() and "__pycache__" not in source.parts and source.suffix != ".pyc":
                    target = f"{PRIVATE_ROOT}/{source.relative_to(root).as_posix()}"
                    build_data["force_include"][str(source)] = target
        self._scratch = Path(tempfile.mkdtemp(prefix="novel-events-build-"))
        pth = self._scratch / f"{PRIVATE_ROOT}.pth"
        pth.write_text(f"{PRIVATE_ROOT}\n", encoding="utf-8")
        build_data["force_include"][str(pth)] = f"{PRIVATE_ROOT}.pth"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
