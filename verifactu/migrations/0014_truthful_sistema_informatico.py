"""A truthful SistemaInformatico: ``IndicadorMultiplesOT`` from the installation's chains,
``TipoUsoPosibleSoloVerifactu`` always N.

``Chain.multiple_taxpayers`` is added and backfilled: every chain of an installation
(producer NIF, IdSistemaInformatico, NumeroInstalacion) that keeps chains of more than one
obligado says S. The declared ``ComputerSystem.only_verifactu`` and ``multiple_taxpayers``
are dropped: records no longer read them, and the v1 API computes both.

On SQLite adding the column rebuilds ``verifactu_chain``, which the trigger of 0008 names:
it is dropped first and created again after (as in 0009).
"""

from importlib import import_module

from django.db import migrations, models
from django.db.models import Count

follows_head = import_module("verifactu.migrations.0008_chain_follows_its_head")

INSTALLATION = ("producer_nif", "system_id", "installation_number")


def backfill(apps, schema_editor):
    Chain = apps.get_model("verifactu", "Chain")
    shared = (
        Chain.objects.values(*INSTALLATION)
        .annotate(chains=Count("id"))
        .filter(chains__gt=1)
        .order_by()
    )
    for installation in shared:
        key = {name: installation[name] for name in INSTALLATION}
        Chain.objects.filter(**key).update(multiple_taxpayers=True)


class Migration(migrations.Migration):
    dependencies = [
        ("verifactu", "0013_chain_fault_state"),
    ]

    operations = [
        migrations.RemoveField(model_name="computersystem", name="multiple_taxpayers"),
        migrations.RemoveField(model_name="computersystem", name="only_verifactu"),
        migrations.RunPython(follows_head.drop, follows_head.create),
        migrations.AddField(
            model_name="chain",
            name="multiple_taxpayers",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(follows_head.create, follows_head.drop),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
