# The stored finding is a run's finding; "Finding" is the validator's dataclass (one name each).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("plugins", "0003_version_logo"),
    ]

    operations = [
        migrations.RenameModel(old_name="Finding", new_name="RunFinding"),
    ]
