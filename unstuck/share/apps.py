from django.apps import AppConfig


class ShareConfig(AppConfig):
    name = "unstuck.share"
    label = "share"
    verbose_name = "Share"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The playbook joins the option generator through its provider seam.
        from unstuck.cocreate.generator import EXTRA_PROVIDERS
        from unstuck.share.plays_provider import PlaybookProvider

        if not any(p.name == PlaybookProvider.name for p in EXTRA_PROVIDERS):
            EXTRA_PROVIDERS.append(PlaybookProvider())
