from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "unstuck.core"
    label = "core"
    verbose_name = "Workspaces and people"
