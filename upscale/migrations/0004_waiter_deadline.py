from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("upscale", "0003_async_webhooks_idempotency")]
    operations = [
        migrations.AddField(
            model_name="upscalerequest", name="wait_deadline", field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="upscalerequest", name="delivered_at", field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="upscalerequest",
            name="error_code",
            field=models.CharField(blank=True, choices=[
                ("upscale_timeout", "No worker finished in time"),
                ("service_unavailable", "The task queue was unavailable"),
                ("processing_failed", "The upscale failed"),
                ("internal_error", "The answer could not be built"),
            ], max_length=64),
        ),
    ]
