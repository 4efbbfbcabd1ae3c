from django.db import migrations

# The seeded category names, spelt as Spanish spells them.
RENAMES = {"Software y tecnologia": "Software y tecnología"}


def rename(apps, schema_editor, renames=RENAMES):
    category = apps.get_model("expenses", "ExpenseCategory")
    for old, new in renames.items():
        if not category.objects.filter(account=None, name=new).exists():
            category.objects.filter(account=None, name=old).update(name=new)


def restore(apps, schema_editor):
    rename(apps, schema_editor, {new: old for old, new in RENAMES.items()})


class Migration(migrations.Migration):
    dependencies = [("expenses", "0003_receipt_metadata")]
    operations = [migrations.RunPython(rename, restore)]
