"""The ledger row's reference becomes generic: a kind (upscale request, Stripe Checkout
Session, invoice, refund, admin grant) and an id, unique per kind of entry. Existing rows keep
what they had: a request id becomes an upscale-request reference, grants become admin grants."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    entry = apps.get_model("billing", "LedgerEntry")
    entry.objects.exclude(request_id="").update(reference_kind="upscale_request", reference_id=models.F("request_id"))
    entry.objects.filter(kind="grant").update(reference_kind="admin_grant")


def backwards(apps, schema_editor):
    entry = apps.get_model("billing", "LedgerEntry")
    entry.objects.filter(reference_kind="upscale_request").update(request_id=models.F("reference_id"))


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='ledgerentry',
            name='reference_id',
            field=models.CharField(blank=True, db_index=True, max_length=255),
        ),
        migrations.AddField(
            model_name='ledgerentry',
            name='reference_kind',
            field=models.CharField(blank=True, choices=[('', 'None'), ('upscale_request', 'Upscale request'), ('admin_grant', 'Admin grant'), ('account_opening', 'Account opening (starting credits)'), ('stripe_checkout', 'Stripe Checkout Session'), ('stripe_invoice', 'Stripe invoice (monthly plan credits)'), ('stripe_refund', 'Stripe charge refund')], max_length=24),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='kind',
            field=models.CharField(choices=[('charge', 'Charge'), ('refund', 'Refund'), ('grant', 'Grant'), ('purchase', 'Purchase'), ('plan_credits', 'Plan credits'), ('clawback', 'Refunded payment')], max_length=16),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='one_ledger_row_per_request_and_kind',
        ),
        migrations.RemoveField(
            model_name='ledgerentry',
            name='request_id',
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.UniqueConstraint(condition=models.Q(('reference_id', ''), _negated=True), fields=('kind', 'reference_kind', 'reference_id'), name='one_ledger_row_per_kind_and_reference'),
        ),
    ]
