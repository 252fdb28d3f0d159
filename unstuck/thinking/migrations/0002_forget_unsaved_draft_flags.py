"""Before drafts stopped being stored, every pause in typing stored flags under the draft's key;
a draft that was saved had its rows tied to what it was saved as. Rows with a draft key that
were never tied to anything are text nobody saved: they are deleted so the patterns count
saved text only. (Flags stored since carry no draft key.)"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def forget_unsaved_drafts(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    BiasFlag = apps.get_model("thinking", "BiasFlag")
    BiasFlag.objects.exclude(draft_key="").filter(content_type__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("thinking", "0001_initial")]

    operations = [migrations.RunPython(forget_unsaved_drafts, migrations.RunPython.noop)]
