from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("upscale", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="upscalerequest", name="wait_deadline", field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="upscalerequest", name="delivered_at", field=models.DateTimeField(blank=True, null=True),
        ),
    ]
