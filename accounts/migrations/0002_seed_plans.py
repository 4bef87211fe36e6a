from django.db import migrations

from accounts.plans import DEFAULT_PLANS, seed_plans


def seed(apps, schema_editor):
    seed_plans(apps.get_model("accounts", "Plan"))


def unseed(apps, schema_editor):
    apps.get_model("accounts", "Plan").objects.filter(slug__in=[p[0] for p in DEFAULT_PLANS]).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
