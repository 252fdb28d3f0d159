# News, digest and bench (0001_news) and the playbook (0001_plays, 0002_play_outcome) were
# built side by side; this joins the two lines so the app has one leaf.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("share", "0001_news"),
        ("share", "0002_play_outcome"),
    ]

    operations: list[migrations.operations.base.Operation] = []
