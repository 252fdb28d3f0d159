"""Unstuck: get stuck B2B deals moving again.

One thread per process for the numeric libraries (OpenMP in scikit-learn's gradient boosting,
OpenBLAS/MKL under numpy) unless the environment says otherwise, set here so it holds before
any of them loads, whatever the entry point (CLI, gunicorn, the task worker, tests). Unstuck
runs several processes on few cores (web workers, a task worker); an OpenMP pool per process
then spins waiting for cores the others hold: on a 2-core machine under load, training the
demo's win model took 122 s of wall time and 30 s of CPU with the default pool, and 7 s and
2 s with one thread. A dedicated machine for the nightly jobs may raise OMP_NUM_THREADS.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Where a pool is raised for a batch job (the recompute: investigate.services), its threads
# sleep while they wait instead of spinning: read once, when OpenMP loads. At load 13 on the
# 2-core machine (2026-12-01), a boosting fit on 55,000 rows, 150 trees, with two spinning
# threads took 400 s of wall time and 56 s of CPU against 19 s and 1.7 s with one; 50 trees
# with two sleeping threads 4.0 s and 1.1 s against 7.9-11 s and 0.8 s with one: the same
# model either way.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
