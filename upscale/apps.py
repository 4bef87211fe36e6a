from django.apps import AppConfig


class UpscaleConfig(AppConfig):
    name = "upscale"
    verbose_name = "Upscaling"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the receivers
