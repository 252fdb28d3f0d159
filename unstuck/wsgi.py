import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unstuck.settings")
application = get_wsgi_application()


def _warm() -> None:
    """Import the URLs (every view, the API and its schemas) now, not on each worker's first
    request: `unstuck serve` preloads this module in gunicorn's master, so its workers fork
    with them loaded (and share the memory) and boot in a moment. A worker that imported
    them itself took seconds of CPU, and at high load gunicorn's 30 s timeout killed workers
    still loading, which then started loading again. No database connection is opened."""
    from django.urls import reverse

    reverse("home")  # imports the URL modules and builds the reverse map
    # What is loaded now lives as long as the process: out of the collector's sight, a
    # worker's full collections no longer walk every module, view and schema (the deal page
    # spent about half its collection time there), and the pages of memory the workers share
    # with the master are not copied when the collector would have touched them.
    gc.freeze()


_warm()
