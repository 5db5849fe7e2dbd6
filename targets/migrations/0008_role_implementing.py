"""Article 2.1 of a resolution: the committee that implements it (Tổ chức thực hiện),
a role beside lead, supporting and supervising."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("targets", "0007_clean_text_and_exact_values"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="assignment",
            name="assignment_role_valid",
        ),
        migrations.AlterField(
            model_name="assignment",
            name="role",
            field=models.CharField(
                choices=[
                    ("implementing", "Tổ chức thực hiện"),
                    ("lead", "Chủ trì"),
                    ("supporting", "Phối hợp"),
                    ("supervising", "Giám sát"),
                ],
                max_length=12,
                verbose_name="vai trò",
            ),
        ),
        migrations.AddConstraint(
            model_name="assignment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("role__in", ["implementing", "lead", "supporting", "supervising"])
                ),
                name="assignment_role_valid",
            ),
        ),
    ]
