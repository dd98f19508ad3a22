"""The machine line every benchmark prints with its table (CPU model, cores, Python, extras)."""

from __future__ import annotations

import os
import platform
import subprocess


def describe(*extra: str) -> str:
    model = platform.processor() or platform.machine() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    parts = [model, f"{os.cpu_count()} cores", f"Python {platform.python_version()} ({platform.system()})", *extra]
    return ", ".join(parts)
