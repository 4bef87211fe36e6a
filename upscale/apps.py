from django.apps import AppConfig


class UpscaleConfig(AppConfig):
    name = "upscale"
    verbose_name = "Upscaling"

    def ready(self) -> None:
        from artnex import readiness

        from . import metrics, signals  # noqa: F401 - connects the receivers

        # Celery's autodiscovery imports upscale.tasks only; these register the features' tasks.
        from .idempotency import tasks as _idempotency_tasks  # noqa: F401
        from .readiness import model_weights
        from .webhooks import tasks as _webhook_tasks  # noqa: F401

        readiness.register("model_weights", model_weights)
