from django.apps import AppConfig


class CocreateConfig(AppConfig):
    name = "unstuck.cocreate"
    label = "cocreate"
    verbose_name = "Co-creation"
