from django.db import migrations

NAMES = [
    "Software y tecnologia", "Suministros", "Alquiler", "Material de oficina",
    "Servicios profesionales", "Viajes y dietas", "Formación", "Seguros", "Publicidad",
    "Vehículo", "Otros",
]


def seed(apps, schema_editor):
    category = apps.get_model("expenses", "ExpenseCategory")
    for name in NAMES:
        category.objects.get_or_create(account=None, name=name)


class Migration(migrations.Migration):
    dependencies = [("expenses", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
