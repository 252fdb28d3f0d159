"""Writes and sign-ins on SQLite while a large import runs (issue 15, item 5).

Creates a SQLite data directory, a workspace and a leader, generates a Salesforce export
(150,000 deals by default, about five history rows each), serves the app with `unstuck serve`
on 127.0.0.1, then runs `unstuck import salesforce` in a child process while two clients keep
working: one adds a stakeholder through the API every 0.25 s, the other signs in through the
sign-in form. It prints how long they waited (p50, p95, max) beside the same requests with no
import running, how many failed, and PASS/FAIL against the target: no request fails and none
waits longer than the busy timeout (20 s), i.e. waits are bounded and every one is answered.

    uv run python bench/sqlite_import_contention.py [--deals 150000] [--port 8160]
        [--workdir DIR]

Only loopback traffic; the clients stop when the import ends (or after --max-seconds).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD = "bench-password-not-secret-1"
TARGET_MAX_WAIT = 20.0  # the SQLite busy timeout: no request may wait longer, or fail


@dataclass
class Sample:
    kind: str
    seconds: float
    status: int


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.samples.append(Sample(kind, seconds, status))


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(UNSTUCK_DATA_DIR=str(data_dir), UNSTUCK_SECRET_KEY="bench-not-secret")
    env["UNSTUCK_LOG_LEVEL"] = "WARNING"
    return env


def _unstuck(env: dict[str, str], *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unstuck.cli", *args],
        env=env,
        check=True,
        text=True,
        capture_output=True,
        **kw,  # type: ignore[arg-type]
    )


def prepare(workdir: Path, deals: int) -> tuple[dict[str, str], dict[str, Path], str, int]:
    data = workdir / "data"
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = _env(data)
    _unstuck(env, "migrate", "--verbosity", "0")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unstuck.settings")
    import django

    django.setup()
    from django.db import connections

    from unstuck.core.models import Membership, Role, User, Workspace
    from unstuck.core.services import api_token_create
    from unstuck.deals.models import Deal, Pipeline, Stage
    from unstuck.imports.generator import generate_salesforce_export

    workspace = Workspace.objects.create(name="Bench", slug="bench")
    leader = User.objects.create_user("leader@bench.example", PASSWORD, name="Leader")
    Membership.objects.create(workspace=workspace, user=leader, role=Role.LEADER)
    pipeline = Pipeline.objects.create(workspace=workspace, name="Sales pipeline", is_default=True)
    stage = Stage.objects.create(pipeline=pipeline, name="Prospecting", order=0)
    deal = Deal.objects.create(
        workspace=workspace, pipeline=pipeline, stage=stage, name="Kept", external_id="BENCH-1"
    )
    secret = api_token_create(user=leader, name="bench")[1]
    connections.close_all()
    export = generate_salesforce_export(workdir / "export", deals=deals, seed=3)
    files = {
        "opportunities": export.opportunities,
        "history": export.history,
        "accounts": export.accounts,
        "users": export.users,
    }
    return env, files, secret, deal.pk


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        _NoRedirect(),
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _call(opener: urllib.request.OpenerDirector, request: urllib.request.Request) -> int:
    try:
        with opener.open(request, timeout=120) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # no answer at all


def sign_in(base: str) -> int:
    opener = _opener()
    with opener.open(f"{base}/sign-in/", timeout=60) as page:
        html = page.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    body = urllib.parse.urlencode(
        {
            "username": "leader@bench.example",
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1) if token else "",
        }
    ).encode()
    request = urllib.request.Request(
        f"{base}/sign-in/", data=body, headers={"Referer": f"{base}/sign-in/"}
    )
    return _call(opener, request)


def add_stakeholder(base: str, secret: str, deal_id: int, n: int) -> int:
    body = json.dumps({"name": f"Person {n}", "buying_role": "user"}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/workspaces/bench/deals/{deal_id}/stakeholders",
        data=body,
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    return _call(_opener(), request)


def client(kind: str, act: object, stop: threading.Event, rec: Recorder) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        started = time.perf_counter()
        status = act(n)  # type: ignore[operator]
        rec.add(kind, time.perf_counter() - started, status)
        stop.wait(0.25)


def run_clients(
    base: str, secret: str, deal_id: int, stop: threading.Event, rec: Recorder
) -> list[threading.Thread]:
    threads = [
        threading.Thread(
            target=client,
            args=("write", lambda n: add_stakeholder(base, secret, deal_id, n), stop, rec),
        ),
        threading.Thread(target=client, args=("sign-in", lambda n: sign_in(base), stop, rec)),
    ]
    for t in threads:
        t.start()
    return threads


def summary(label: str, samples: list[Sample]) -> dict[str, float]:
    waits = sorted(s.seconds for s in samples)
    if not waits:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "max": 0.0, "failed": 0, "busy": 0}
    failed = [s for s in samples if not 200 <= s.status < 400]
    out = {
        "n": len(waits),
        "p50": statistics.median(waits),
        "p95": waits[min(len(waits) - 1, int(len(waits) * 0.95))],
        "max": waits[-1],
        "failed": len(failed),
        "busy": sum(1 for s in failed if s.status == 503),
    }
    print(
        f"  {label:28} n={out['n']:4}  p50={out['p50']:.3f}s  p95={out['p95']:.3f}s  "
        f"max={out['max']:.3f}s  failed={out['failed']} (503 busy: {out['busy']}, "
        f"statuses: {sorted({s.status for s in failed})})"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=150_000)
    parser.add_argument("--port", type=int, default=8160)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--max-seconds", type=float, default=1800)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="unstuck-sqlite-contention-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"Preparing {args.deals:,} deals in {workdir} …", flush=True)
    env, files, secret, deal_id = prepare(workdir, args.deals)
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "unstuck.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers=2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        baseline = Recorder()
        stop = threading.Event()
        threads = run_clients(base, secret, deal_id, stop, baseline)
        time.sleep(8)
        stop.set()
        for t in threads:
            t.join()

        during = Recorder()
        stop = threading.Event()
        started = time.perf_counter()
        importer = subprocess.Popen(
            [sys.executable, "-m", "unstuck.cli", "import", "salesforce", "--workspace", "bench"]
            + [f"--{k}={v}" for k, v in files.items()]
            + ["--no-progress"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threads = run_clients(base, secret, deal_id, stop, during)
        try:
            out, _ = importer.communicate(timeout=args.max_seconds)
        finally:
            if importer.poll() is None:
                importer.kill()
            stop.set()
            for t in threads:
                t.join()
        took = time.perf_counter() - started
        last = [line for line in out.splitlines() if line.strip()][-1:]
        print(f"\nImport of {args.deals:,} deals: {took:.1f}s, exit {importer.returncode}: {last}")
        print("Without an import:")
        base_all = summary("writes and sign-ins", baseline.samples)
        print("During the import:")
        summary("API writes", [s for s in during.samples if s.kind == "write"])
        summary("sign-ins", [s for s in during.samples if s.kind == "sign-in"])
        both = summary("both", during.samples)
        ratio = both["max"] / base_all["max"] if base_all["max"] else float("inf")
        ok = both["failed"] == 0 and both["max"] <= TARGET_MAX_WAIT
        print(
            f"\nmax wait: reference {base_all['max']:.3f}s (no import), figure "
            f"{both['max']:.3f}s, ratio {ratio:.0f}x; failures {both['failed']}; target: none "
            f"failed and none waited over {TARGET_MAX_WAIT:.0f}s -> {'PASS' if ok else 'FAIL'}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
