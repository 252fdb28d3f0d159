from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "unstuck.core"
    label = "core"
    verbose_name = "Workspaces and people"

    def ready(self) -> None:
        from unstuck.core import checks  # noqa: F401  (registers the deployment checks)
