"""Import benchmark: a generated Salesforce export (N deals, ~5 history rows each) into
PostgreSQL and SQLite, timed, with peak RSS, beside a plain COPY of the same two CSVs.

    uv run python bench/import_bench.py --deals 1000000
    uv run python bench/import_bench.py --deals 20000 --only sqlite

PostgreSQL comes from BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
unstuck_bench; the database is dropped and re-created). The import runs as a child process
(`unstuck import salesforce …`) so its peak RSS is its own. Targets for 1,000,000 deals on a
2-core machine: under 3 minutes, under 600 MB, within 3x the plain COPY.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unstuck.settings")
    import django

    django.setup()


def generate(folder: Path, deals: int) -> object:
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
    return marker.read_text()


def prepare_database(env: dict[str, str]) -> None:
    """Migrate, and create the workspace and the members who own the deals."""
    from django.core.management import call_command
    from django.db import connection

    from unstuck.core.services import member_add, workspace_create

    call_command("migrate", interactive=False, verbosity=0)
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


def copy_reference(folder: Path) -> float:
    """COPY the two CSVs as they are into bare text tables: the floor for any import."""
    from django.db import connection

    with connection.cursor() as cursor:
        raw = cursor.cursor
        started = time.perf_counter()
        for name in ("Opportunity.csv", "OpportunityHistory.csv"):
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
        for name in ("bare_opportunity", "bare_opportunityhistory"):
            cursor.execute(f"DROP TABLE {name}")
    connection.close()
    return elapsed


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


def run_import(folder: Path, env: dict[str, str], label: str) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
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
        env={**os.environ, **env, "UNSTUCK_LOG_LEVEL": "DEBUG"},
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 2):
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        raise SystemExit(f"{label}: the import failed ({proc.returncode})")
    summary = next((ln for ln in proc.stdout.splitlines() if ln.startswith("Imported")), "?")
    steps = [ln for ln in proc.stderr.splitlines() if "import step" in ln]
    slow = [ln.split("import step ", 1)[1] for ln in steps if float(ln.rsplit(" ", 1)[1][:-1]) >= 1]
    summary += "".join(f"\n    {step}" for step in slow)
    # ru_maxrss is the largest child so far (KiB on Linux); report it only when it grew.
    return elapsed, max(peak, before) / 1024, summary


def bench_postgres(folder: Path, url: str, reimport: bool = True) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {"DATABASE_URL": url}
    _django(env)
    prepare_database(env)
    # The reference runs before and after the import (the first COPY into a fresh cluster
    # also pays for new WAL files); the ratio is taken against the faster of the two.
    copy_before = copy_reference(folder)
    print(f"PostgreSQL plain COPY of both CSVs into bare tables: {copy_before:.1f}s")
    first = run_import(folder, env, "postgres")
    copy_after = copy_reference(folder)
    copy_s = min(copy_before, copy_after)
    print(f"PostgreSQL plain COPY again, after the import: {copy_after:.1f}s")
    print(f"PostgreSQL import: {first[0]:.1f}s, peak RSS {first[1]:.0f} MB "
          f"({first[0] / copy_s:.1f}x the faster COPY, "
          f"{first[0] / max(copy_before, copy_after):.1f}x the slower)\n  {first[2]}")  # fmt: skip
    write_s, index_s, indexes = write_floor()
    floor = write_s + index_s
    print(f"Floor after reading: the imported rows written again into bare copies of their "
          f"tables {write_s:.1f}s + their {indexes} indexes {index_s:.1f}s = {floor:.1f}s "
          f"({floor / copy_s:.1f}x the faster COPY before any file is read; reading the files "
          f"by COPY and nothing else between would make {1 + floor / copy_s:.1f}x)")  # fmt: skip
    if reimport:
        again = run_import(folder, env, "postgres again")
        print(f"PostgreSQL re-import of the same files: {again[0]:.1f}s\n  {again[2]}")


def bench_sqlite(folder: Path) -> None:
    data = Path(tempfile.mkdtemp(prefix="unstuck-bench-sqlite-"))
    env = {"UNSTUCK_DATA_DIR": str(data)}
    os.environ.pop("DATABASE_URL", None)
    code = (
        "import sys; sys.argv=['x']; from bench.import_bench import _django, prepare_database;"
        f"_django({env!r}); prepare_database({env!r})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={**os.environ, **env})
    first = run_import(folder, env, "sqlite")
    print(f"SQLite import: {first[0]:.1f}s, peak RSS {first[1]:.0f} MB\n  {first[2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, help="Where the generated export lives.")
    parser.add_argument("--only", choices=["postgres", "sqlite"])
    parser.add_argument(
        "--no-reimport", action="store_true", help="Skip timing a second import of the files."
    )
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.gettempdir()) / f"unstuck-sf-export-{args.deals}"
    print(f"cores: {os.cpu_count()} (shared with other work: figures are indicative)")
    _django({})
    generate(folder, args.deals)
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unstuck_bench")
    if args.only != "sqlite":
        # Each database runs in its own process so settings are read afresh.
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from bench.import_bench import bench_postgres;"
                f"from pathlib import Path; bench_postgres(Path({str(folder)!r}), {url!r}, "
                f"{not args.no_reimport})",
            ],
            check=True,
            cwd=REPO,
        )
    if args.only != "postgres":
        bench_sqlite(folder)


if __name__ == "__main__":
    main()
