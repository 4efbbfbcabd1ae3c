"""Namespaced installations: every computer system gets a label, and no installation number
is left in two accounts.

From now on a NumeroInstalacion is the account's UUID and a label unique in the account
(``verifactu.installations``), and the SistemaInformatico's software is the deployment's.
Existing rows keep their numbers, so their chains go on (those a v1 client had declared with
another producer NIF or IdSistemaInformatico than the deployment's excepted: their records now
state the deployment's software, which at the AEAT is another installation, so their next
record opens a new chain, as an installation's first record), with two exceptions:

- Labels: the account's first system numbered as Factu's old default (``factu-<slug>``, the
  prefix being ``FACTU_INSTALLATION_PREFIX`` when it was set) becomes the default installation
  (label ``factu``); every other row is ``legacy-`` and 12 hex digits of its id.
- A number used by computer systems of several accounts is *contested* (tenants chose
  numbers freely, and copying Factu's ``factu-<slug>`` was the squatting attack of issue 16).
  One account keeps it, the systems of every other account get a namespaced number: the
  keeper is the only account with chains on that number; when none has chains, the account
  the number names (``factu-<slug>``, or one that starts with an account's UUID), else the
  account of the oldest system. A number never stays with an account other than the one it
  names, and when several accounts have chains on it nobody keeps it.

Chains are never changed: their records were built and sent with their key. A chain whose
account no longer has a system on its number is closed, and the next record of that NIF in
that account opens a chain on the new installation (``PrimerRegistro``, as AEAT expects of an
installation's first record). A squatted chain (the victim's NIF on the victim's
``factu-<slug>`` in the attacker's account) is what the attacker had the AEAT accept under
that NIF: it stays in the attacker's account, closed; the victim issues on its own
installation and can never reach it. Whether the attacker may speak for the NIF at all is
the taxpayer-ownership rule of issue 16, point 2.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict

from django.db import migrations, models

DEFAULT_LABEL = "factu"


def namespace(apps, schema_editor) -> None:
    Account = apps.get_model("factu", "Account")
    ComputerSystem = apps.get_model("verifactu", "ComputerSystem")
    Chain = apps.get_model("verifactu", "Chain")
    prefix = os.environ.get("FACTU_INSTALLATION_PREFIX", "factu-")
    slugs = dict(Account.objects.values_list("pk", "slug"))
    named = {f"{prefix}{slug}"[:100]: pk for pk, slug in slugs.items()}
    ids = {str(pk): pk for pk in slugs}

    def claimant(number: str):
        """The account a number names, if any."""
        if number in named:
            return named[number]
        return ids.get(number[:36]) if number[36:37] == "-" else None

    systems = list(ComputerSystem.objects.order_by("created_at", "id"))
    with_default = set()
    for system in systems:
        if (
            system.account_id not in with_default
            and named.get(system.installation_number) == system.account_id
        ):
            system.label = DEFAULT_LABEL
            with_default.add(system.account_id)
        else:
            system.label = f"legacy-{uuid.UUID(str(system.pk)).hex[:12]}"

    holders: dict[str, list] = defaultdict(list)  # number -> accounts, oldest system first
    for system in systems:
        if system.account_id not in holders[system.installation_number]:
            holders[system.installation_number].append(system.account_id)
    chained: dict[str, set] = defaultdict(set)
    for number, account_id in Chain.objects.values_list(
        "installation_number", "account_id"
    ).distinct():
        chained[number].add(account_id)

    keeper = {}
    for number, accounts in holders.items():
        with_chains = chained.get(number, set())
        named_account = claimant(number)
        if len(with_chains) > 1:
            keep = None
        elif with_chains:
            keep = next(iter(with_chains))
        elif named_account in accounts:
            keep = named_account
        else:
            keep = accounts[0]
        if named_account is not None and keep != named_account:
            keep = None
        keeper[number] = keep

    changed = []
    for system in systems:
        if keeper[system.installation_number] != system.account_id:
            system.installation_number = f"{uuid.UUID(str(system.account_id))}-{system.label}"
        changed.append(system)
    ComputerSystem.objects.bulk_update(changed, ["label", "installation_number"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("factu", "0004_taxpayer_no_verifactu"),
        ("verifactu", "0016_representation"),
    ]

    operations = [
        migrations.AddField(
            model_name="computersystem",
            name="label",
            field=models.CharField(default="", max_length=40, verbose_name="etiqueta"),
            preserve_default=False,
        ),
        migrations.RunPython(namespace, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="computersystem",
            constraint=models.UniqueConstraint(
                fields=("account", "label"), name="computer_system_unique_label"
            ),
        ),
        migrations.AlterField(
            model_name="computersystem",
            name="name",
            field=models.CharField(blank=True, max_length=30, verbose_name="nombre del sistema"),
        ),
        migrations.AlterField(
            model_name="computersystem",
            name="producer_name",
            field=models.CharField(blank=True, max_length=120, verbose_name="productor"),
        ),
        migrations.AlterField(
            model_name="computersystem",
            name="producer_nif",
            field=models.CharField(blank=True, max_length=9, verbose_name="NIF del productor"),
        ),
        migrations.AlterField(
            model_name="computersystem",
            name="system_id",
            field=models.CharField(blank=True, max_length=2, verbose_name="IdSistemaInformatico"),
        ),
        migrations.AlterField(
            model_name="computersystem",
            name="version",
            field=models.CharField(blank=True, max_length=50, verbose_name="versión"),
        ),
    ]
