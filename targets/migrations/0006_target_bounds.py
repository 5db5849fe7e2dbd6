from decimal import Decimal

from django.db import migrations, models


def set_bounds(apps, schema_editor):
    """Existing targets get the range of their kind: a share 0–100, any other
    non-negative figure from 0; growth and reductions stay unbounded.
    `load_resolution` sets the same from the fixture."""
    Target = apps.get_model("targets", "Target")
    Target.objects.filter(allows_negative=False, unit="%").update(
        min_value=Decimal(0), max_value=Decimal(100)
    )
    Target.objects.filter(allows_negative=False).exclude(unit="%").update(
        min_value=Decimal(0)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("targets", "0005_constraint_messages"),
    ]

    operations = [
        migrations.AddField(
            model_name="target",
            name="max_value",
            field=models.DecimalField(
                blank=True,
                decimal_places=4,
                help_text="Tỷ lệ, độ bao phủ: 100.",
                max_digits=18,
                null=True,
                verbose_name="giá trị lớn nhất",
            ),
        ),
        migrations.AddField(
            model_name="target",
            name="min_value",
            field=models.DecimalField(
                blank=True,
                decimal_places=4,
                max_digits=18,
                null=True,
                verbose_name="giá trị nhỏ nhất",
            ),
        ),
        migrations.RunPython(set_bounds, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="target",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("min_value__isnull", True),
                    ("max_value__isnull", True),
                    ("min_value__lte", models.F("max_value")),
                    _connector="OR",
                ),
                name="target_bounds_ordered",
                violation_error_message=(
                    "Giá trị nhỏ nhất không được lớn hơn giá trị lớn nhất."
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="target",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("min_value__isnull", True),
                        ("target_value__gte", models.F("min_value")),
                        _connector="OR",
                    ),
                    models.Q(
                        ("max_value__isnull", True),
                        ("target_value__lte", models.F("max_value")),
                        _connector="OR",
                    ),
                ),
                name="target_value_within_bounds",
                violation_error_message=(
                    "Kế hoạch phải nằm trong khoảng giá trị của chỉ tiêu."
                ),
            ),
        ),
    ]
