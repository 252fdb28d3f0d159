"""Give every existing workspace what workspace_create now gives a new one (levers, the
perspective-question bank, the co-creation and stall-threshold rows), so pages and selectors
no longer seed them on a read. A workspace that already has levers or questions keeps them
as its leaders made them."""

from django.db import migrations


def seed(apps, schema_editor):
    from unstuck.cocreate import guardrails
    from unstuck.cocreate.catalogue import DEFAULT_LEVERS
    from unstuck.thinking.question_bank import DEFAULT_QUESTIONS

    Workspace = apps.get_model("core", "Workspace")
    Lever = apps.get_model("cocreate", "Lever")
    CocreateSettings = apps.get_model("cocreate", "CocreateSettings")
    PerspectiveQuestion = apps.get_model("thinking", "PerspectiveQuestion")
    StallSettings = apps.get_model("investigate", "StallSettings")
    for workspace in Workspace.objects.all():
        if not Lever.objects.filter(workspace=workspace).exists():
            Lever.objects.bulk_create(
                [
                    Lever(
                        workspace=workspace,
                        key=d.key,
                        family=d.family,
                        name=d.name,
                        template=d.template,
                        obstacle_kinds=list(d.obstacle_kinds),
                        phases=list(d.phases),
                        factors=list(d.factors),
                        min_amount=d.min_amount,
                        max_amount=d.max_amount,
                        discount_pct=d.discount_pct,
                        term_months=d.term_months,
                        payment_terms=d.payment_terms,
                        clauses=list(d.clauses),
                        is_default=True,
                    )
                    for d in DEFAULT_LEVERS
                ],
                ignore_conflicts=True,
            )
        if not PerspectiveQuestion.objects.filter(workspace=workspace).exists():
            PerspectiveQuestion.objects.bulk_create(
                [
                    PerspectiveQuestion(
                        workspace=workspace,
                        text=q.text,
                        perspective=q.perspective,
                        biases=list(q.biases),
                        situations=list(q.situations),
                        is_default=True,
                    )
                    for q in DEFAULT_QUESTIONS
                ],
                ignore_conflicts=True,
            )
        CocreateSettings.objects.get_or_create(
            workspace=workspace,
            defaults={
                "payment_terms": list(guardrails.DEFAULT_PAYMENT_TERMS),
                "clauses": list(guardrails.DEFAULT_CLAUSES),
            },
        )
        StallSettings.objects.get_or_create(workspace=workspace)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_claim"),
        ("cocreate", "0001_initial"),
        ("investigate", "0002_queue_indexes"),
        ("thinking", "0002_question_text_unique_per_workspace"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
