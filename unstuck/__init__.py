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
