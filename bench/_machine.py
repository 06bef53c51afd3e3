"""What the benchmarks record about the machine they ran on."""
from __future__ import annotations


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo ("unknown CPU" where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"
