"""Revoke the tokens whose creator is no longer a member of the token's account.

Until now such a token was only refused while its creator was away, and worked again if they
rejoined; from now on removing a member revokes their tokens (factu.services.remove_member),
and this applies the same to members removed before.
"""

from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone


def revoke(apps, schema_editor):
    ApiToken = apps.get_model("api", "ApiToken")
    Membership = apps.get_model("factu", "Membership")
    member = Membership.objects.filter(user_id=OuterRef("created_by_id"), account_id=OuterRef("account_id"))
    ApiToken.objects.filter(revoked_at__isnull=True).exclude(Exists(member)).update(
        revoked_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("factu", "0004_taxpayer_no_verifactu"),
    ]

    operations = [migrations.RunPython(revoke, migrations.RunPython.noop)]
