"""The weekly digest for a workspace of 1,000 people and 100,000 deals: every digest built
and sent to a local SMTP server (aiosmtpd, in this process), and the queries each person's
digest costs, which must not depend on how much there is to say.

Target (issue 11): built and sent in under 60 s, with a fixed number of queries per person
(per role: every rep's digest costs the same queries, every manager's the same).

    uv run python bench/digest_bench.py                      # 100,000 deals, PostgreSQL
    uv run python bench/digest_bench.py --db sqlite --deals 20000 --people 300
    uv run python bench/digest_bench.py --keep          # then --template <database or file>
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BenchRun, machine, peak_rss_mb, per_backend, summary, verdict

TARGET_S = 60.0
QUERY_BUDGET = 16  # a manager's digest: the most sections


class smtp_sink:
    """bench/smtp_sink.py in a child process on a free port."""

    def __init__(self, path: Path) -> None:
        from unstuck.share.tests.smtp import free_port

        self.path, self.port = path, free_port()

    def __enter__(self) -> smtp_sink:
        script = Path(__file__).with_name("smtp_sink.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.port), str(self.path)], stdout=subprocess.PIPE
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == b"ready"
        return self

    def received(self) -> list[str]:
        time.sleep(0.5)  # the last message's line
        return self.path.read_text().split() if self.path.exists() else []

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def grow_people(ws: object, people: int, rng: random.Random) -> None:
    """Teams of one manager and 19 reps until the workspace has `people` members; the deals
    are dealt out to every rep, so each has a book of ~100 with their history."""
    from django.contrib.auth.hashers import make_password

    from unstuck.core.models import Membership, Role, Team, User
    from unstuck.deals.models import Deal

    password = make_password("bench")
    n = Membership.objects.filter(workspace=ws).count()
    t = 0
    while n < people:
        t += 1
        manager = User.objects.create(
            email=f"m{t}@bench.example", name=f"Manager {t}", password=password
        )
        team = Team.objects.create(workspace=ws, name=f"Bench team {t}", manager=manager)
        Membership.objects.create(workspace=ws, user=manager, role=Role.MANAGER)
        reps = User.objects.bulk_create(
            User(email=f"r{t}.{i}@bench.example", name=f"Rep {t}.{i}", password=password)
            for i in range(min(19, people - n - 1))
        )
        Membership.objects.bulk_create(
            Membership(workspace=ws, user=u, role=Role.REP, team=team) for u in reps
        )
        n += 1 + len(reps)
    reps = list(
        Membership.objects.filter(workspace=ws, role=Role.REP).values_list("user_id", "team_id")
    )
    ids = list(Deal.objects.filter(workspace=ws).order_by("pk").values_list("pk", flat=True))
    rng.shuffle(ids)
    for i, (user_id, team_id) in enumerate(reps):
        Deal.objects.filter(pk__in=ids[i :: len(reps)]).update(owner_id=user_id, team_id=team_id)


def add_share_activity(ws: object, rng: random.Random) -> None:
    """News passed on by every manager, stall scores for the open deals, asks to the bench."""
    from datetime import timedelta

    from django.utils import timezone

    from unstuck.core.models import Membership, Role, Team
    from unstuck.deals.models import Deal, StageKind
    from unstuck.investigate.models import DealAssessment
    from unstuck.share import news_services
    from unstuck.share.models import BenchAsk, BenchPerson, NewsRelay

    leader = Membership.objects.select_related("workspace", "user").get(
        workspace=ws, role=Role.LEADER
    )
    posts = [
        news_services.news_post(
            membership=leader, title=f"Pricing update {i}", body="Details inside."
        )
        for i in range(3)
    ]
    teams = list(Team.objects.filter(workspace=ws).exclude(manager=None))
    NewsRelay.objects.bulk_create(
        NewsRelay(
            post=posts[0],
            team=t,
            decision="passed",
            line=f"For {t.name}: use it this week.",
            decided_by_id=t.manager_id,
        )
        for t in teams
    )
    NewsRelay.objects.bulk_create(
        NewsRelay(post=posts[1], team=t, decision="held", decided_by_id=t.manager_id) for t in teams
    )
    open_ids = list(
        Deal.objects.filter(workspace=ws, status=StageKind.OPEN).values_list("pk", flat=True)
    )
    DealAssessment.objects.bulk_create(
        (
            DealAssessment(
                deal_id=pk,
                workspace=ws,
                stall_score=rng.randint(0, 100),
                payoff=rng.random() * 50_000,
            )
            for pk in open_ids
        ),
        batch_size=5000,
        ignore_conflicts=True,
    )
    people = list(BenchPerson.objects.filter(workspace=ws))
    asks = []
    for pk, owner_id in Deal.objects.filter(
        pk__in=rng.sample(open_ids, min(500, len(open_ids)))
    ).values_list("pk", "owner_id"):
        asks.append(
            BenchAsk(
                workspace=ws,
                deal_id=pk,
                person=rng.choice(people),
                asked_by_id=owner_id,
                what="Help with the terms",
                due_date=timezone.localdate() + timedelta(days=3),
            )
        )
    BenchAsk.objects.bulk_create(asks)


def run(
    db: str,
    deals: int,
    people: int,
    template: str | None,
    profile: bool = False,
    keep: bool = False,
    senders: int | None = None,
) -> None:
    with BenchRun("digest", db=db, template=template, keep=keep) as bench:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext, override_settings

        from unstuck.core.models import Membership, Role, Workspace
        from unstuck.deals.models import Deal
        from unstuck.demo.generator import generate_demo
        from unstuck.share.digest import digest_build
        from unstuck.share.digest_send import SENDERS, digest_send
        from unstuck.share.models import DigestDelivery

        rng = random.Random(11)
        ws = Workspace.objects.filter(slug="demo").first()
        if ws is None:
            started = time.perf_counter()
            ws = generate_demo(deals=deals, seed=1, activity_rate=0.1).workspace
            grow_people(ws, people, rng)
            add_share_activity(ws, rng)
            print(
                f"workspace: {time.perf_counter() - started:.0f} s; ANALYZE {bench.analyze():.1f} s"
            )
        members = Membership.objects.filter(workspace=ws).count()
        print(
            f"{members:,} people, {Deal.objects.filter(workspace=ws).count():,} deals · {machine()}"
        )

        # Queries per person, by role: a sample of each role's digests, each counted.
        per_role: dict[str, Counter[int]] = {}
        sample = Membership.objects.filter(workspace=ws).select_related("workspace", "team", "user")
        for role in (Role.REP, Role.MANAGER, Role.LEADER, Role.PARTNER):
            for m in sample.filter(role=role).order_by("?")[:20]:
                with CaptureQueriesContext(connection) as ctx:
                    digest_build(m)
                per_role.setdefault(role, Counter())[len(ctx.captured_queries)] += 1
        for role, counts in per_role.items():
            print(f"queries per {role} digest: {dict(counts)}")
        # A section skips its prefetch when it has no rows: a count may be lower, never higher.
        most = max(max(c) for c in per_role.values())

        DigestDelivery.objects.all().delete()
        with (
            smtp_sink(bench.tmp / "received.txt") as smtp,
            override_settings(
                SITE_URL="https://unstuck.example.com",
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=smtp.port,
                EMAIL_USE_TLS=False,
            ),
        ):
            started, cpu = time.perf_counter(), time.process_time()
            if profile:
                import cProfile
                import pstats

                with cProfile.Profile() as prof:
                    report = digest_send(workspace=ws, force=True, senders=senders or SENDERS)
                pstats.Stats(prof).sort_stats("cumulative").print_stats(
                    r"unstuck/|smtp|template/base|sql/compiler.py.*execute_sql|backends/utils", 30
                )
            else:
                report = digest_send(workspace=ws, force=True, senders=senders or SENDERS)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            again = time.perf_counter()
            rerun = digest_send(workspace=ws, force=True)
            rerun_s = time.perf_counter() - again
        received = smtp.received()
        print(
            f"sent {len(report.sent):,}, nothing to say {len(report.skipped):,}, failed "
            f"{len(report.failed)}; SMTP server received {len(received):,}, "
            f"{received.count('1'):,} with List-Unsubscribe; peak RSS {peak_rss_mb():.0f} MB"
        )
        print(f"rerun: sent {len(rerun.sent)}, already {rerun.already:,} in {rerun_s:.1f} s")
        verdict(
            f"digest built and sent, {members:,} people, {db}",
            elapsed,
            under=TARGET_S,
            unit="s",
            note=f"{cpu:.1f} s of this process's CPU ({1000 * elapsed / members:.0f} ms a "
            f"person), {senders or SENDERS} SMTP connections",
        )
        verdict(
            "queries per person, most of any role (whatever the data)",
            most,
            under=QUERY_BUDGET + 1,
            unit="queries",
        )
        verdict("rerun sends nothing", len(rerun.sent), under=1, unit="emails")
        assert len(received) == len(report.sent) == received.count("1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="postgres")
    parser.add_argument("--template", help="Start from a database prepared by an earlier run.")
    parser.add_argument("--profile", action="store_true", help="Print where the send's time goes.")
    parser.add_argument("--senders", type=int, help="SMTP connections sending at once.")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="Keep the database (and SQLite folder) for --template next time.",
    )
    args = parser.parse_args()
    if args.db == "both":
        argv = ["--deals", str(args.deals), "--people", str(args.people)]
        sys.exit(per_backend(__file__, argv, ["sqlite", "postgres"]))
    run(args.db, args.deals, args.people, args.template, args.profile, args.keep, args.senders)
    summary("digest")


if __name__ == "__main__":
    main()
