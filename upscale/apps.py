from django.apps import AppConfig


class UpscaleConfig(AppConfig):
    name = "upscale"
    verbose_name = "Upscaling"

    def ready(self) -> None:
        from artnex import readiness

        from . import metrics, signals  # noqa: F401 - connects the receivers
        from .readiness import model_weights

        readiness.register("model_weights", model_weights)
