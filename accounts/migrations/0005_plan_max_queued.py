from django.db import migrations, models

from accounts.plans import QUEUED_LIMITS


def set_limits(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for slug, limit in QUEUED_LIMITS.items():
        Plan.objects.filter(slug=slug).update(max_queued=limit)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_plan_max_in_flight")]
    operations = [
        migrations.AddField(
            model_name="plan",
            name="max_queued",
            field=models.PositiveIntegerField(
                default=50,
                help_text="Unfinished upscale jobs (queued or processing, async ones included) one account may "
                "have at once; more are answered 429.",
            ),
        ),
        migrations.RunPython(set_limits, migrations.RunPython.noop),
    ]
