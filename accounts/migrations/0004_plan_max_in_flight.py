from django.db import migrations, models

from accounts.plans import IN_FLIGHT_LIMITS


def set_limits(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for slug, limit in IN_FLIGHT_LIMITS.items():
        Plan.objects.filter(slug=slug).update(max_in_flight=limit)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_plan_billing_fields")]
    operations = [
        migrations.AddField(
            model_name="plan",
            name="max_in_flight",
            field=models.PositiveSmallIntegerField(
                default=8, help_text="Upscale requests one account may have open at once; more are answered 429."
            ),
        ),
        migrations.RunPython(set_limits, migrations.RunPython.noop),
    ]
