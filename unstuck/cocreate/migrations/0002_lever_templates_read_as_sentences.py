"""The default levers' templates put a whole obstacle sentence where a noun belonged ("takes
the 'A reorganisation pushed…' risk off the table"). Levers whose template is still the old
default get the new one; a template a leader edited is left as it is."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

# lever key: (old default template, new default template)
TEMPLATES = {
    'deferred-start': (
        "Sign this quarter with the first invoice deferred to {account}'s next budget year, answering '{obstacle}' without losing the slot.",
        "Sign this quarter with the first invoice deferred to {account}'s next budget year, so the slot is kept and the objection they raised ({obstacle}) is answered.",
    ),
    'exit-right': (
        "Give {account} the right to leave after twelve months if the agreed results are not there — it takes the '{obstacle}' risk off the table.",
        'Give {account} the right to leave after twelve months if the agreed results are not there, so the doubt they raised ({obstacle}) no longer carries a risk for them.',
    ),
    'compliance-warranty': (
        "Offer a compliance warranty and our standard data-processing terms pre-agreed, so {account}'s legal review of '{obstacle}' shortens to a check.",
        "Offer a compliance warranty and our standard data-processing terms pre-agreed, so {account}'s legal review shortens to a check (their open point: {obstacle}).",
    ),
    'descope-integration': (
        "Move the integration IT doubts ('{obstacle}') to phase two and start on a file feed, so the technical review stops blocking the decision.",
        'Move the integration IT doubts ({obstacle}) to phase two and start on a file feed, so the technical review stops blocking the decision.',
    ),
    'mutual-plan': (
        "Agree a dated plan with {account} for every step left to signature, with owners on both sides, so '{obstacle}' gets a date instead of a shrug.",
        'Agree a dated plan with {account} for every step left to signature, with owners on both sides, so what holds it up ({obstacle}) gets a date instead of a shrug.',
    ),
    'architect-session': (
        "Put our solution architect with {account}'s IT for a working session on '{obstacle}', with a written answer to each open question afterwards.",
        "Put our solution architect with {account}'s IT for a working session on their open point ({obstacle}), with a written answer to each question afterwards.",
    ),
    'si-partner': (
        "Deliver the implementation with the systems integrator {account} already uses, so '{obstacle}' is their partner's job, not a new vendor's risk.",
        "Deliver the implementation with the systems integrator {account} already uses, so their concern ({obstacle}) is their partner's job, not a new vendor's risk.",
    ),
}


def rewrite(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Lever = apps.get_model("cocreate", "Lever")
    for key, (old, new) in TEMPLATES.items():
        Lever.objects.filter(key=key, template=old).update(template=new)


def restore(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Lever = apps.get_model("cocreate", "Lever")
    for key, (old, new) in TEMPLATES.items():
        Lever.objects.filter(key=key, template=new).update(template=old)


class Migration(migrations.Migration):
    dependencies = [("cocreate", "0001_initial")]

    operations = [migrations.RunPython(rewrite, restore)]
