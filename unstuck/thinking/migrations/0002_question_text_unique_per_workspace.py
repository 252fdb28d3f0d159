"""A question's text is unique in its workspace, so seeding the bank twice cannot double it.
Banks doubled by that race before (two first visits at once) keep the oldest of each text."""

from django.db import migrations, models
from django.db.models import Min


def drop_repeated_questions(apps, schema_editor):
    PerspectiveQuestion = apps.get_model("thinking", "PerspectiveQuestion")
    firsts = (
        PerspectiveQuestion.objects.values("workspace_id", "text")
        .annotate(first=Min("pk"))
        .values_list("first", flat=True)
    )
    PerspectiveQuestion.objects.exclude(pk__in=list(firsts)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_claim"),
        ("thinking", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(drop_repeated_questions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="perspectivequestion",
            constraint=models.UniqueConstraint(
                fields=("workspace", "text"), name="question_text_unique_per_ws"
            ),
        ),
    ]
