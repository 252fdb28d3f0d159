"""A pytest plugin (loaded with -p before Django starts) that keeps tests out of real data.

Tests get a throwaway data directory and a fixed secret key, so running the suite never
writes into ./unstuck-data.
"""

import os
import tempfile

os.environ.setdefault("UNSTUCK_SECRET_KEY", "tests-only-not-secret")
os.environ["UNSTUCK_DATA_DIR"] = tempfile.mkdtemp(prefix="unstuck-tests-")
