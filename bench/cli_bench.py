"""Time the one-off command line: `unstuck bias check "…"` against the aim of issue 16 (item 6).

    uv run python bench/cli_bench.py [--runs 7] [--uv]

Runs the command as a new process each time (after one warm-up run, which fills the page cache),
and prints the median and p95 wall time, the median CPU time (user + system of the child), the
machine's load average, and PASS/FAIL against the aim (under 1 s). The reference is the floor
any command that uses numpy pays: a new interpreter that only imports numpy. On a shared
machine the wall time grows with the load while the CPU time stays close to what an idle
machine would take as wall time, so both are printed. --uv runs it through `uv run`, as a person
would type it (uv adds its own start-up: checking the environment is in sync).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

AIM_SECONDS = 1.0
STATEMENT = "We've always sold it this way."


def run(command: list[str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of the command in a new process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(name: str, command: list[str], runs: int) -> tuple[float, float, float]:
    run(command)  # warm-up
    samples = [run(command) for _ in range(runs)]
    walls = sorted(w for w, _ in samples)
    wall = statistics.median(walls)
    p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
    cpu = statistics.median(c for _, c in samples)
    print(f"{name:34} wall median {wall:.2f} s, p95 {p95:.2f} s; CPU median {cpu:.2f} s")
    return wall, p95, cpu


def bytecode_note() -> str:
    """Whether the installed packages carry their bytecode: with PYTHONDONTWRITEBYTECODE set and
    none installed (uv does not compile by default), every run recompiles numpy's and the
    detector's sources, which more than doubles the CPU time."""
    import numpy

    cached = any(Path(numpy.__file__).parent.glob("__pycache__/*.pyc"))
    no_write = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    state = "installed" if cached else "missing"
    hint = (
        " — every run recompiles; `uv sync --compile-bytecode` fixes it"
        if no_write and not cached
        else ""
    )
    flag = "set" if no_write else "unset"
    return f"bytecode of the installed packages: {state}; PYTHONDONTWRITEBYTECODE {flag}{hint}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--uv", action="store_true", help="Run the command through `uv run`.")
    args = parser.parse_args()
    script = Path(sys.executable).parent / "unstuck"
    command = [str(script), "bias", "check", STATEMENT]
    if args.uv:
        uv = shutil.which("uv")
        if uv is None:
            sys.exit("uv is not on PATH")
        command = [uv, "run", "unstuck", "bias", "check", STATEMENT]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the runs")
    print(bytecode_note())
    ref_wall, _, ref_cpu = measure(
        "reference: python -c 'import numpy'", [sys.executable, "-c", "import numpy"], args.runs
    )
    wall, _, cpu = measure(
        " ".join(["uv run" if args.uv else "", "unstuck bias check"]).strip(), command, args.runs
    )
    print(f"load average {os.getloadavg()[0]:.1f} after the runs")
    print(
        f"ratio to the reference: wall {wall / ref_wall:.1f}x, CPU {cpu / max(ref_cpu, 1e-9):.1f}x"
    )
    verdict = {True: "PASS", False: "FAIL"}
    print(
        f"aim under {AIM_SECONDS:.0f} s: wall {wall:.2f} s {verdict[wall < AIM_SECONDS]}; "
        f"CPU {cpu:.2f} s {verdict[cpu < AIM_SECONDS]} "
        "(the CPU time is what an idle machine would take)"
    )


if __name__ == "__main__":
    main()
