"""Copy the .ics files of locally mirrored public repositories into a corpus folder (never committed).

    python benchmarks/ics_corpus_collect.py OUT_DIR GIT_DIR[=owner/name] ...

Each GIT_DIR is a bare or normal git directory (e.g. a snapshot the ``fetch`` tool brought). Time-zone
database folders (``zoneinfo``) are skipped: they hold VTIMEZONEs, not calendars. ``OUT_DIR/manifest.json``
records, for every file, its repository, path, commit and the repository's licence file.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

MAX_BYTES = 4 * 1024 * 1024


def _git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, check=True).stdout


def _licence(git_dir: str) -> dict[str, str]:
    names = _git(git_dir, "ls-tree", "--name-only", "HEAD").decode().split()
    for name in names:
        if name.upper().startswith(("LICEN", "COPYING")):
            head = _git(git_dir, "show", f"HEAD:{name}")[:400].decode("utf-8", "replace")
            return {"file": name, "first_line": next((ln.strip() for ln in head.splitlines() if ln.strip()), "")}
    return {"file": "", "first_line": "unknown"}


def collect(out: Path, sources: list[str]) -> list[dict[str, object]]:
    out.mkdir(parents=True, exist_ok=True)
    manifest: list[dict[str, object]] = []
    for source in sources:
        git_dir, _, repo = source.partition("=")
        repo = repo or Path(git_dir).parent.name.replace("+", "/")
        commit = _git(git_dir, "rev-parse", "HEAD").decode().strip()
        licence = _licence(git_dir)
        listing = _git(git_dir, "ls-tree", "-r", "-l", "HEAD").decode("utf-8", "replace").splitlines()
        for line in listing:
            meta, _, path = line.partition("\t")
            size = meta.split()[3]
            if not path.lower().endswith(".ics") or "zoneinfo" in path.lower() or not size.isdigit():
                continue
            if int(size) > MAX_BYTES:
                continue
            data = _git(git_dir, "show", f"HEAD:{path}")
            digest = hashlib.sha1(data).hexdigest()[:10]
            name = f"{repo.replace('/', '+')}__{digest}__{Path(path).name}"
            (out / name).write_bytes(data)
            manifest.append(
                {"file": name, "repo": repo, "path": path, "commit": commit, "bytes": len(data), "licence": licence}
            )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rows = collect(Path(sys.argv[1]), sys.argv[2:])
    print(f"{len(rows)} files from {len({r['repo'] for r in rows})} repositories -> {sys.argv[1]}")
