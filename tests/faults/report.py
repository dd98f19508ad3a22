"""The table from scenario folders (``row.json`` each), e.g. after running scenarios one by one:

.venv/bin/python -m tests.faults.report /tmp/faults            # prints the table
.venv/bin/python -m tests.faults.report /tmp/faults --write [--note TEXT]   # and writes docs/faults.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.faults import knobs
from tests.faults.scenarios import SCENARIOS
from tests.faults.table import Row, failures, markdown, write_doc

ROOT = Path(__file__).resolve().parents[2]


def machine() -> str:
    import prefect

    from benchmarks.instrument import describe

    return describe(f"Prefect {prefect.__version__}", "store and a Prefect server per scenario, on PostgreSQL")


def load(base: Path) -> list[Row]:
    return [Row.from_json((base / k / "row.json").read_text()) for k in SCENARIOS if (base / k / "row.json").exists()]


def main(argv: list[str]) -> int:
    rows = load(Path(argv[0]))
    print(markdown(rows, knobs.RECOVERY_TARGET_SECONDS))
    print(failures(rows, knobs.RECOVERY_TARGET_SECONDS))
    if "--write" in argv:
        note = argv[argv.index("--note") + 1] if "--note" in argv else ""
        write_doc(ROOT / "docs" / "faults.md", rows, knobs.RECOVERY_TARGET_SECONDS, machine(), None, note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
