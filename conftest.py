import os

# Tests never write a secret key into the working tree's data directory.
os.environ.setdefault("UNSTUCK_SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("UNSTUCK_PLAIN_STATIC", "1")
