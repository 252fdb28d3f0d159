"""The users bench/load_bench.py sends at the production server (run by locust, headless).

Each user is one demo person, signed in with a session the bench created (no password hashing
during the run), and goes round what that person does: the pipeline (sorts, filters, later
pages), the innovation queue (managers and leaders), deal pages they may see, the API's deal
list with a personal token, and now and then /healthz and the signed-in reference page
/w/<slug>/ping/, so the latencies under this load have their reference beside them.

The bench writes the sessions, deal ids and token to the JSON file named by
LOAD_BENCH_CONFIG; THINK_SECONDS is the pause between two requests of one user (0: none).
"""

from __future__ import annotations

import itertools
import json
import os
import random

from locust import FastHttpUser, between, constant, task

CONFIG = json.loads(open(os.environ["LOAD_BENCH_CONFIG"]).read())  # noqa: SIM115
THINK = float(os.environ.get("THINK_SECONDS", "0"))
SLUG = CONFIG["slug"]
PEOPLE = itertools.cycle(CONFIG["people"])
PIPELINE_QUERIES = [
    "",
    "sort=close",
    "sort=in-stage",
    "page=2",
    "status=all&page=5",
    "status=won&sort=name",
    "q=logistics",
]


class Person(FastHttpUser):
    wait_time = between(THINK / 2, THINK * 1.5) if THINK else constant(0)

    def on_start(self) -> None:
        person = next(PEOPLE)
        self.email = person["email"]
        self.manages = person["manages"]
        self.deal_ids = person["deal_ids"]
        self.token = person["token"]
        self.session = {"Cookie": f"sessionid={person['session']}"}

    def _get(self, path: str, name: str) -> None:
        with self.client.get(
            path, name=name, headers=self.session, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} on {path}")

    @task(4)
    def pipeline(self) -> None:
        self._get(f"/w/{SLUG}/deals/?{random.choice(PIPELINE_QUERIES)}", "pipeline")

    @task(2)
    def queue(self) -> None:
        if self.manages:
            self._get(f"/w/{SLUG}/investigate/?page={random.choice([1, 1, 1, 2])}", "queue")
        else:
            self.pipeline()

    @task(2)
    def deal(self) -> None:
        self._get(f"/w/{SLUG}/deals/{random.choice(self.deal_ids)}/", "deal page")

    @task(2)
    def api_deals(self) -> None:
        self.client.get(
            f"/api/v1/workspaces/{SLUG}/deals?page={random.choice([1, 1, 2, 3])}",
            name="API deal list",
            headers={"Authorization": f"Bearer {self.token}"},
        )

    @task(1)
    def healthz(self) -> None:
        self.client.get("/healthz", name="/healthz (reference, no session)")

    @task(1)
    def ping(self) -> None:
        self._get(f"/w/{SLUG}/ping/", "signed-in reference /ping/")
