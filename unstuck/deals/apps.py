from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "unstuck.deals"
    label = "deals"
    verbose_name = "Deals"
