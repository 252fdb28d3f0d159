from django.apps import AppConfig


class ThinkingConfig(AppConfig):
    name = "unstuck.thinking"
    label = "thinking"
    verbose_name = "Expansive thinking"
    default_auto_field = "django.db.models.BigAutoField"
