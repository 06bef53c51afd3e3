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


def update_results(name: str, block: str) -> str:
    """Put ``block`` into bench/RESULTS.md between ``<!-- name start -->`` and ``<!-- name end -->``
    (replacing what was there, or appended at the end); returns the file's path."""
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmark results\n"
    start, end = f"<!-- {name} start -->", f"<!-- {name} end -->"
    block = f"{start}\n{block.strip()}\n{end}"
    if start in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
    return path
