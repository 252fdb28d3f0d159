from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "unstuck.imports"
    label = "imports"
    verbose_name = "Imports"
