from django.apps import AppConfig


class InvestigateConfig(AppConfig):
    name = "unstuck.investigate"
    label = "investigate"
    verbose_name = "Investigate"
