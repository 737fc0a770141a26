"""The machine a benchmark ran on, as its recordings name it (shared by the bench scripts, run from bench/)."""

from __future__ import annotations

import os
import platform
import subprocess


def describe() -> str:
    """CPUs and their model, memory and the platform: `4 CPUs (AMD EPYC …), 23.5 GiB RAM, Linux-…`."""
    model = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs ({model}), {memory:.1f} GiB RAM, {platform.platform()}"
