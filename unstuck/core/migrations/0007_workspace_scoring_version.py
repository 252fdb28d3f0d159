"""A workspace's scoring version: pages keep its thresholds, benchmarks and score model per
process under it (investigate.scoring_cache)."""

import unstuck.core.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0006_shared_cache_table'),
    ]

    operations = [
        migrations.AddField(
            model_name='workspace',
            name='scoring_version',
            field=models.BigIntegerField(default=unstuck.core.models.new_scoring_version, editable=False),
        ),
    ]
