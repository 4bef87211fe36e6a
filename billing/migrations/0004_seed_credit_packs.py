from django.db import migrations

# slug, name, credits, price in cents (an upscale costs 100 credits); editable in admin.
PACKS = [
    ("starter", "1,000 credits", 1_000, 500),
    ("standard", "5,000 credits", 5_000, 2_000),
    ("bulk", "25,000 credits", 25_000, 8_000),
]


def seed(apps, schema_editor):
    pack = apps.get_model("billing", "CreditPack")
    for slug, name, credits, price in PACKS:
        pack.objects.get_or_create(slug=slug, defaults={"name": name, "credits": credits, "price_cents": price})


def unseed(apps, schema_editor):
    apps.get_model("billing", "CreditPack").objects.filter(slug__in=[p[0] for p in PACKS]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_stripe_models")]
    operations = [migrations.RunPython(seed, unseed)]
