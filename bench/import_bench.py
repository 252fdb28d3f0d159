"""Import benchmark: a generated Salesforce export (N deals, ~5 history rows each) into
PostgreSQL and SQLite, timed, with peak RSS, beside a plain COPY of the same two CSVs.

    uv run python bench/import_bench.py --deals 1000000
    uv run python bench/import_bench.py --deals 20000 --only sqlite
    uv run python bench/import_bench.py --folder /tmp/me-sf-1m   # keep the export for next time

Each database is a run of its own (bench/common.py: unique names, removed afterwards); the
export goes to a temporary folder unless --folder names one to keep. The import runs as a
child process (`unstuck import salesforce …`) so its peak RSS is its own. Then the same
files are imported again (nothing changed), and once more with --changed N deals edited
(amount, stage or close date) and new history rows for them, which must update exactly
those deals.

Targets on the 2-core machine, for 1,000,000 deals: a first import under 3 minutes, under
600 MB and within 3x the plain COPY; a re-import of unchanged files, and one with 1,000
deals (0.1 %) changed, each within 2x the plain COPY (issue 16).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import random
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    BenchRun,
    machine,
    peak_rss_mb,
    summary,
    temp_folder,
    verdict,
)

FILES = ("Opportunity.csv", "OpportunityHistory.csv")
TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process of this machine has used so far; 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


class BackendCpu:
    """The CPU the PostgreSQL backends of this database use while the block runs (other
    than the bench's own connection): polled from pg_stat_activity and /proc every 0.1 s, so
    a backend's last tenth of a second may be missed. The server runs on this machine."""

    def __init__(self) -> None:
        from django.db import connection

        self.dsn = connection.get_connection_params()
        self.seen: dict[int, tuple[float, float]] = {}  # pid: (first, last) CPU seen
        self.stop = threading.Event()

    def _poll(self) -> None:
        import psycopg

        params = {k: v for k, v in self.dsn.items() if k != "cursor_factory"}
        with psycopg.connect(**params, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ).fetchall()
                for (pid,) in rows:
                    cpu = _proc_cpu(pid)
                    first = self.seen.get(pid, (cpu, cpu))[0]
                    self.seen[pid] = (first, max(cpu, first))
                self.stop.wait(0.1)

    def __enter__(self) -> BackendCpu:
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(last - first for first, last in self.seen.values())


def generate(folder: Path, deals: int) -> None:
    from unstuck.imports.generator import generate_salesforce_export

    marker = folder / f".complete-{deals}"
    started = time.perf_counter()
    if not marker.exists():
        files = generate_salesforce_export(folder, deals=deals, seed=42)
        marker.write_text(str(files.history_rows))
        print(f"generated {deals:,} deals, {files.history_rows:,} history rows "
              f"in {time.perf_counter() - started:.1f}s")  # fmt: skip
    sizes = {p.name: p.stat().st_size for p in folder.glob("*.csv")}
    print("files: " + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sorted(sizes.items())))


def prepare_database() -> None:
    """Create the workspace and the members who own the deals."""
    from django.db import connection

    from unstuck.core.services import member_add, workspace_create

    workspace = workspace_create(name="Bench", slug="bench")
    for i in range(20):
        member_add(
            workspace=workspace,
            email=f"rep{i + 1}@example.com",
            role="rep",
            name=f"Rep {i + 1}",
            team_name=f"Team {i % 4 + 1}",
        )
    connection.close()


def copy_reference(folder: Path) -> tuple[float, float]:
    """COPY the two CSVs as they are into bare text tables: the floor for any import.
    Returns (wall seconds, CPU seconds of this process and its backend)."""
    from django.db import connection

    with connection.cursor() as cursor:
        raw = cursor.cursor
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
        cpu_before = time.process_time() + _proc_cpu(backend)
        started = time.perf_counter()
        for name in FILES:
            path = folder / name
            header = path.open().readline().strip().split(",")
            table = "bare_" + name.split(".")[0].lower()
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} ({', '.join(f'{h} text' for h in header)})")
            with (
                path.open("rb") as fh,
                raw.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            ):
                while block := fh.read(1 << 20):
                    copy.write(block)
        connection.commit() if not connection.get_autocommit() else None
        elapsed = time.perf_counter() - started
        cpu = time.process_time() + _proc_cpu(backend) - cpu_before
        for name in ("bare_opportunity", "bare_opportunityhistory"):
            cursor.execute(f"DROP TABLE {name}")
    connection.close()
    return elapsed, cpu


def write_floor() -> tuple[float, float, int]:
    """What any import pays after reading the files, however it reads them: the imported
    deals and history written again, as they are, into bare copies of their two tables, then
    the same indexes built on those copies. Returns (write seconds, index seconds, indexes)."""
    from django.db import connection

    tables = ("deals_deal", "deals_stagechange")
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS floor_{table}")
            cursor.execute(f"CREATE TABLE floor_{table} (LIKE {table})")
        started = time.perf_counter()
        for table in tables:
            cursor.execute(f"INSERT INTO floor_{table} SELECT * FROM {table}")
        written = time.perf_counter()
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
            [list(tables)],
        )
        definitions = cursor.fetchall()
        cursor.execute("SET maintenance_work_mem = '512MB'")  # as the import's rebuilds use
        for table, index, definition in definitions:
            cursor.execute(
                definition.replace(
                    f" INDEX {index} ON public.{table} ", f" INDEX ON floor_{table} "
                )
            )
        indexed = time.perf_counter()
        for table in tables:
            cursor.execute(f"DROP TABLE floor_{table}")
    connection.close()
    return written - started, indexed - written, len(definitions)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_import(
    folder: Path, run: BenchRun, label: str
) -> tuple[float, float, str, str, float, float]:
    """One `unstuck import salesforce` in a child process: (seconds, its peak RSS in MB, the
    summary line, its slow steps, its CPU seconds, its PostgreSQL backends' CPU seconds)."""
    before = peak_rss_mb(children=True)
    cpu_before = _children_cpu()
    backends = BackendCpu() if run.db == "postgres" else None
    started = time.perf_counter()
    with backends or contextlib.nullcontext():
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "unstuck.cli",
                "import",
                "salesforce",
                "--workspace",
                "bench",
                "--opportunities",
                str(folder / "Opportunity.csv"),
                "--history",
                str(folder / "OpportunityHistory.csv"),
                "--accounts",
                str(folder / "Account.csv"),
                "--users",
                str(folder / "User.csv"),
                "--no-progress",
            ],
            env={**os.environ, **run.env(), "UNSTUCK_LOG_LEVEL": "DEBUG"},
            capture_output=True,
            text=True,
            cwd=REPO,
        )
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    peak = peak_rss_mb(children=True)
    if proc.returncode not in (0, 2):
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        raise SystemExit(f"{label}: the import failed ({proc.returncode})")
    summary_line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("Imported")), "?")
    steps = [ln for ln in proc.stderr.splitlines() if "import step" in ln]
    slow = [ln.split("import step ", 1)[1] for ln in steps if float(ln.rsplit(" ", 1)[1][:-1]) >= 1]
    slow += [
        ln
        for ln in proc.stderr.splitlines()
        if "row by row" in ln or "fingerprints," in ln or "line index:" in ln
    ]
    # ru_maxrss is the largest child so far: a later, smaller child does not show.
    rss = peak if peak > before else float("nan")
    slow_steps = "".join(f"\n    {step}" for step in slow)
    return elapsed, rss, summary_line, slow_steps, cpu, backends.seconds if backends else 0.0


def _counts(summary_line: str) -> dict[str, int]:
    found = re.findall(r"(\d+) (deals created|updated|unchanged|history rows added)", summary_line)
    out: dict[str, int] = {}
    for v, k in found:  # the deals' figures come first; the accounts' "updated" later
        out.setdefault(k, int(v))
    return out


def changed_copy(src: Path, dst: Path, n: int, seed: int = 3) -> set[str]:
    """The export with n deals changed (amount up, or close date pushed, or moved a stage on)
    and a new history row for each; returns their ids."""
    dst.mkdir(exist_ok=True)
    for name in ("Account.csv", "User.csv"):
        target = dst / name
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        target.symlink_to(src / name)
    with (src / "Opportunity.csv").open(newline="") as fh:
        total = sum(1 for _ in fh) - 1
    with (src / "OpportunityHistory.csv").open("rb") as fh:
        ending = "\r\n" if fh.readline().endswith(b"\r\n") else "\n"
    rng = random.Random(seed)
    lines = set(rng.sample(range(total), n))
    changed: dict[str, list[str]] = {}
    with (
        (src / "Opportunity.csv").open(newline="") as fin,
        (dst / "Opportunity.csv").open("w", newline="") as fout,
    ):
        reader, writer = csv.reader(fin), csv.writer(fout, lineterminator=ending)
        header = next(reader)
        writer.writerow(header)
        col = {h: i for i, h in enumerate(header)}
        for i, row in enumerate(reader):
            if i in lines:
                row[col["Amount"]] = str(round(float(row[col["Amount"]] or 0) + 1000, 2))
                row[col["LastModifiedDate"]] = "2030-01-01T00:00:00.000Z"
                changed[row[col["Id"]]] = row
            writer.writerow(row)
    with (
        (src / "OpportunityHistory.csv").open(newline="") as fin,
        (dst / "OpportunityHistory.csv").open("w", newline="") as fout,
    ):
        while block := fin.read(1 << 20):
            fout.write(block)
        writer = csv.writer(fout, lineterminator=ending)
        for n, (deal_id, row) in enumerate(sorted(changed.items())):
            # The new amount, recorded in place in the deal's stage, as Salesforce does.
            writer.writerow(
                [f"009{n:015d}", deal_id, row[col["OwnerId"]], "2029-06-01T00:00:00.000Z",
                 row[col["StageName"]], row[col["Amount"]], "", row[col["CloseDate"]],
                 row[col["Probability"]], row[col["ForecastCategoryName"]], "false"]
            )  # fmt: skip
    return set(changed)


def _cpu(result: tuple[float, float, str, str, float, float]) -> str:
    return f"CPU {result[4]:.1f}s python + {result[5]:.1f}s PostgreSQL backends"


def bench_postgres(folder: Path, reimport: bool, changed: int) -> None:
    with BenchRun("import", db="postgres") as run:
        prepare_database()
        # The reference runs before and after the import (the first COPY into a fresh cluster
        # also pays for new WAL files); the ratio is taken against the faster of the two.
        copy_before, copy_cpu_before = copy_reference(folder)
        print(f"PostgreSQL plain COPY of both CSVs into bare tables: {copy_before:.1f}s "
              f"(CPU {copy_cpu_before:.1f}s python + backend)")  # fmt: skip
        first = run_import(folder, run, "postgres")
        copy_after, copy_cpu_after = copy_reference(folder)
        copy_s = min(copy_before, copy_after)
        copy_cpu = min(copy_cpu_before, copy_cpu_after)
        print(f"PostgreSQL plain COPY again, after the import: {copy_after:.1f}s "
              f"(CPU {copy_cpu_after:.1f}s) · {machine()}")  # fmt: skip
        print(f"PostgreSQL import: {first[0]:.1f}s, {_cpu(first)}, peak RSS {first[1]:.0f} MB"
              f"\n  {first[2]}{first[3]}")  # fmt: skip
        write_s, index_s, indexes = write_floor()
        floor = write_s + index_s
        print(f"Floor after reading: the imported rows written again into bare copies of their "
              f"tables {write_s:.1f}s + their {indexes} indexes {index_s:.1f}s = {floor:.1f}s "
              f"({floor / copy_s:.1f}x the faster COPY)")  # fmt: skip
        ref = "plain COPY (the faster)"
        verdict("first import", first[0], unit="s", under=180, reference=copy_s,
                reference_label=ref, ratio_under=3)  # fmt: skip
        verdict("first import peak RSS", first[1], unit="MB", under=600)
        if reimport:
            again = run_import(folder, run, "postgres again")
            print(f"PostgreSQL re-import of the same files: {again[0]:.1f}s, {_cpu(again)} · "
                  f"{machine()}\n  {again[2]}{again[3]}")  # fmt: skip
            counts = _counts(again[2])
            verdict("re-import of unchanged files", again[0], unit="s", reference=copy_s,
                    reference_label=ref, ratio_under=2,
                    note=f"{counts.get('unchanged', 0):,} unchanged, "
                    f"{counts.get('updated', 0)} updated")  # fmt: skip
            verdict("re-import of unchanged files, CPU (python + backends)",
                    again[4] + again[5], unit="s", reference=copy_cpu,
                    reference_label="plain COPY's CPU (python + backend)",
                    ratio_under=2)  # fmt: skip
        if changed:
            with temp_folder("import-changed") as edited:
                ids = changed_copy(folder, edited, changed)
                again = run_import(edited, run, "postgres changed")
            counts = _counts(again[2])
            print(f"PostgreSQL re-import with {changed} deals changed: {again[0]:.1f}s, "
                  f"{_cpu(again)} · {machine()}\n  {again[2]}{again[3]}")  # fmt: skip
            verdict("re-import with changed deals", again[0], unit="s", reference=copy_s,
                    reference_label=ref, ratio_under=2,
                    note=f"{counts.get('updated', 0)} updated of {len(ids)} changed")  # fmt: skip
            verdict("re-import with changed deals, CPU (python + backends)",
                    again[4] + again[5], unit="s", reference=copy_cpu,
                    reference_label="plain COPY's CPU (python + backend)",
                    ratio_under=2)  # fmt: skip
            off = abs(counts.get("updated", -1) - len(ids))
            off += abs(counts.get("history rows added", -1) - len(ids))
            verdict("changed deals updated and their history added, exactly", off,
                    unit="rows off", under=1)  # fmt: skip
        summary("import_bench postgres")


def bench_sqlite(folder: Path) -> None:
    with BenchRun("import", db="sqlite") as run:
        prepare_database()
        first = run_import(folder, run, "sqlite")
        print(f"SQLite import: {first[0]:.1f}s, peak RSS {first[1]:.0f} MB\n  {first[2]}{first[3]}")
        verdict("SQLite first import peak RSS", first[1], unit="MB", under=600)
        summary("import_bench sqlite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, help="Where the generated export lives (kept).")
    parser.add_argument("--only", choices=["postgres", "sqlite"])
    parser.add_argument(
        "--no-reimport", action="store_true", help="Skip timing a second import of the files."
    )
    parser.add_argument(
        "--changed", type=int, default=1000, help="Deals to change for a third import (0: none)."
    )
    args = parser.parse_args()
    print(f"machine: {machine()} (shared with other work: figures are indicative)")
    with contextlib.ExitStack() as stack:
        folder = args.folder or stack.enter_context(temp_folder("import-export"))
        folder.mkdir(parents=True, exist_ok=True)
        code = (
            "import sys; sys.argv=['x']; import os; os.environ.setdefault("
            "'DJANGO_SETTINGS_MODULE', 'unstuck.settings'); import django; django.setup(); "
            f"from bench.import_bench import generate; from pathlib import Path; "
            f"generate(Path({str(folder)!r}), {args.deals})"
        )
        env = {**os.environ, "UNSTUCK_SECRET_KEY": "bench"}
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env)
        # Each database runs in its own process so settings are read afresh.
        if args.only != "sqlite":
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from bench.import_bench import bench_postgres; from pathlib import Path; "
                    f"bench_postgres(Path({str(folder)!r}), {not args.no_reimport}, "
                    f"{args.changed})",
                ],
                check=True,
                cwd=REPO,
            )
        if args.only != "postgres":
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from bench.import_bench import bench_sqlite; from pathlib import Path; "
                    f"bench_sqlite(Path({str(folder)!r}))",
                ],
                check=True,
                cwd=REPO,
            )


if __name__ == "__main__":
    main()
