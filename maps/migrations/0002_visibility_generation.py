"""The visibility generation and the triggers that change it.

Triggers rather than Django signals: ``QuerySet.update``, ``bulk_create``,
raw SQL, cascades and other processes (``import_config``, a shell, the other
worker) all write through the database, and none of them can forget to bump.
The bump is part of the writing transaction, so a reader sees the new value
exactly when it can see the new rows.
"""

from django.db import migrations, models

GENERATION_TABLE = "maps_visibilitygeneration"
# Every table whose rows a lookup by id reads (the grant paths of maps.restricted).
WATCHED_TABLES = (
    "maps_grant",
    "maps_mapgroup",
    "maps_map",
    "maps_band",
    "maps_layer",
    "catalogs_sourcegroup",
    "regions_box",
)

# Each bump writes a value never used before, not value + 1: a transaction
# that is rolled back would otherwise hand its value to the next writer, and
# a lookup made inside it (which saw its uncommitted rows) would look current
# again. PostgreSQL's sequences never give a number twice, even across
# rollbacks; SQLite's random() is 64 bits. Upserting also brings the row back
# after a test flush deletes it.
SQLITE_BUMP = (
    f"INSERT INTO {GENERATION_TABLE} (id, value) VALUES (1, random()) "
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value"
)
POSTGRESQL_FUNCTION = f"""
CREATE SEQUENCE IF NOT EXISTS maps_visibility_generation_seq;
CREATE OR REPLACE FUNCTION maps_bump_visibility_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {GENERATION_TABLE} (id, value)
    VALUES (1, nextval('maps_visibility_generation_seq'))
    ON CONFLICT (id) DO UPDATE SET value = excluded.value;
    RETURN NULL;
END
$$
"""


def _statements(vendor: str, *, create: bool) -> list[str]:
    statements = []
    if vendor == "sqlite":
        # SQLite has row triggers only: one per table and kind of write.
        for table in WATCHED_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                name = f"{table}_visibility_{event.lower()}"
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {SQLITE_BUMP}; END"
                    if create
                    else f"DROP TRIGGER IF EXISTS {name}"
                )
        return statements
    if vendor == "postgresql":
        if create:
            statements.append(POSTGRESQL_FUNCTION)
        for table in WATCHED_TABLES:
            name = f"{table}_visibility"
            # One bump per statement, not per row: an import writes thousands.
            statements.append(
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION maps_bump_visibility_generation()"
                if create
                else f"DROP TRIGGER IF EXISTS {name} ON {table}"
            )
        if not create:
            statements.append("DROP FUNCTION IF EXISTS maps_bump_visibility_generation()")
            statements.append("DROP SEQUENCE IF EXISTS maps_visibility_generation_seq")
        return statements
    # Without the triggers, remembered lookups would never see a change.
    raise NotImplementedError(f"TileMaker supports SQLite and PostgreSQL, not {vendor}")


def create_triggers(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, create=True):
        schema_editor.execute(statement)
    schema_editor.execute(f"INSERT INTO {GENERATION_TABLE} (id, value) VALUES (1, 0)")


def drop_triggers(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, create=False):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("maps", "0001_initial"),
        ("catalogs", "0002_initial"),
        ("regions", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="VisibilityGeneration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
