from django.apps import AppConfig


class ShareConfig(AppConfig):
    name = "unstuck.share"
    label = "share"
    verbose_name = "Share"
    default_auto_field = "django.db.models.BigAutoField"
