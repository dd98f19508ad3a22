"""What the wheel installs: the domain, the rooms under one private directory, nothing generic on top.

Builds a real wheel (hatchling, offline) and reads it, then puts it on a site directory the way pip
would and checks what ``import flows.digest`` resolves to. See ARCHITECTURE.md, "Packaging".
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support.env import ROOT

ROOMS: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["novel-events"]["rooms"]
PRIVATE = "novel_events_rooms"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    uv = Path(sys.executable).with_name("uv")
    subprocess.run(
        [str(uv), "build", "--wheel", "--no-build-isolation", "--quiet", "--out-dir", str(out)],
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    (built,) = out.glob("novel_events-*.whl")
    assert not list(out.glob("*.pth"))  # the build leaves nothing of its own next to the wheel
    return built


def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def test_only_project_named_top_level_entries(wheel: Path) -> None:
    tops = {n.split("/")[0] for n in names(wheel)}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"novel_events", PRIVATE, f"{PRIVATE}.pth"}
    assert not tops & {"tasks", "flows", "deployments", "cli", "web"}


def test_every_room_file_is_shipped_under_the_private_root(wheel: Path) -> None:
    shipped = set(names(wheel))
    for room in ROOMS:
        wanted = {
            f"{PRIVATE}/{p.relative_to(ROOT).as_posix()}"
            for p in (ROOT / room).rglob("*.py")
            if "__pycache__" not in p.parts
        }
        assert f"{PRIVATE}/{room}/__init__.py" in wanted
        assert wanted <= shipped, sorted(wanted - shipped)
    domain = {
        f"{p.relative_to(ROOT).as_posix()}"
        for p in (ROOT / "novel_events").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert domain <= shipped, sorted(domain - shipped)  # templates and migrations too
    assert not [n for n in shipped if "__pycache__" in n or n.endswith(".pyc")]


def test_pth_appends_the_private_root(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read(f"{PRIVATE}.pth").decode().splitlines() == [PRIVATE]
        entry_points = zf.read(next(n for n in zf.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "novel-events = cli.app:run" in entry_points


def probe(site_dir: Path, code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter whose only paths are ``site_dir`` (processed like a real
    site-packages, .pth files included) and then the dependencies' site-packages."""
    script = (
        "import site\n"
        f"site.addsitedir({str(site_dir)!r})\n"
        f"site.addsitedir({sysconfig.get_paths()['purelib']!r})\n" + code
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", script], cwd=site_dir.parent, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_installed_rooms_import_by_their_names(wheel: Path, tmp_path: Path) -> None:
    """The CLI entry point (``cli.app``) and the worker's entrypoint (``flows.digest.digest_flow``) resolve
    to the installed copy, with no wrapper and no PYTHONPATH."""
    site_dir = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site_dir)
    domain, digest, app, flow = probe(
        site_dir,
        (
            "import novel_events, flows.digest, cli.app\n"
            "print(novel_events.__file__, flows.digest.__file__, cli.app.__file__, flows.digest.digest_flow.name)\n"
        ),
    )
    assert Path(domain).is_relative_to(site_dir / "novel_events")
    assert Path(digest).is_relative_to(site_dir / PRIVATE / "flows")
    assert Path(app).is_relative_to(site_dir / PRIVATE / "cli")
    assert flow == "novel-events-digest"


def test_installed_rooms_never_shadow_a_foreign_package(wheel: Path, tmp_path: Path) -> None:
    """Another distribution's top-level ``tasks`` in the same environment keeps its files and wins imports:
    our rooms are appended to sys.path after site-packages."""
    site_dir = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site_dir)
    (site_dir / "tasks").mkdir()
    (site_dir / "tasks" / "__init__.py").write_text("FOREIGN = True\n")
    (origin,) = probe(site_dir, "import tasks\nprint(getattr(tasks, 'FOREIGN', False))\n")
    assert origin == "True"
    assert (site_dir / PRIVATE / "tasks" / "__init__.py").exists()  # ours untouched, in its own directory
