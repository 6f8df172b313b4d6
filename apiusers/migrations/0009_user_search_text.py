# ruff: noqa: S608 (the SQL here is built from this file's constants only)
from django.db import migrations, models

# `search_text`: what a search of API users reads (apiusers.filters.backends.SearchFilter). The
# user's name and the names of its labels, upper-cased by the database and joined by newlines, a
# character no name holds (apiusers.fields refuses control characters). A search term is then
# one LIKE on one column of the listed row, instead of a match on the name or any of the user's
# labels, which read every label link of the account for each term.
#
# The database keeps it, by triggers: whatever writes a name, a label's name or a label link
# (the services, the admin, a migration, a test's factory) leaves it true.
#
# - A user inserted, or its name updated: its own text.
# - A label link inserted or deleted: the text of the link's user.
# - A label renamed: the text of every user that carries it, locked in id order first (as
#   services.labels.label_delete locks them), so that two renames of labels with holders in
#   common do not deadlock.
#
# A new link and a rename of its label must not miss each other: the link's transaction would
# write its user's text with the old name, and the rename, not seeing the uncommitted link,
# would skip that user. Django's foreign keys are checked at COMMIT, so the link takes no lock
# on its label before then; its trigger takes the key-share lock itself, which a rename (it
# writes the label's unique name) waits for, or waits for the rename. A deleted link needs no
# such lock: its user's text simply loses the label, whatever its name; taking one would
# deadlock with a rename waiting for that user.


def text_of(vendor: str, name: str, user_id: str) -> str:
    """The SQL of one user's search text, from its name and id (SQL expressions). The user's
    links are read by their user index and each label by its key, one by one: written as a join,
    the plan on tables never analysed read every label for each user (a minute for 100,000)."""
    newline, joined = (
        ("chr(10)", "string_agg") if vendor == "postgresql" else ("char(10)", "group_concat")
    )
    label_name = "(SELECT label.name FROM apiusers_label label WHERE label.id = held.label_id)"
    return (
        f"upper({name}) || coalesce(("
        f"SELECT {joined}({newline} || upper({label_name}), '') "
        f"FROM apiusers_user_labels held WHERE held.user_id = {user_id}), '')"
    )


def refresh(vendor: str, where: str) -> str:
    """An UPDATE that recomputes the search text of the users `where` selects."""
    text = text_of(vendor, "apiusers_user.name", "apiusers_user.id")
    return f"UPDATE apiusers_user SET search_text = {text} WHERE {where}"


HOLDERS = "id IN (SELECT user_id FROM apiusers_user_labels WHERE label_id = NEW.id)"


def postgresql() -> list[str]:
    return [
        f"""CREATE FUNCTION apiusers_user_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search_text := {text_of("postgresql", "NEW.name", "NEW.id")};
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER apiusers_user_search_text
        BEFORE INSERT OR UPDATE OF name ON apiusers_user
        FOR EACH ROW EXECUTE FUNCTION apiusers_user_search_text()""",
        f"""CREATE FUNCTION apiusers_links_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM 1 FROM apiusers_label WHERE id IN (SELECT label_id FROM links)
                ORDER BY id FOR KEY SHARE;
            END IF;
            {refresh("postgresql", "id IN (SELECT user_id FROM links)")};
            RETURN NULL;
        END $$""",
        *(
            f"""CREATE TRIGGER apiusers_links_{event}_search_text
            AFTER {event} ON apiusers_user_labels REFERENCING {table} TABLE AS links
            FOR EACH STATEMENT EXECUTE FUNCTION apiusers_links_search_text()"""
            for event, table in (("insert", "NEW"), ("delete", "OLD"))
        ),
        f"""CREATE FUNCTION apiusers_label_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM 1 FROM apiusers_user WHERE {HOLDERS} ORDER BY id FOR NO KEY UPDATE;
            {refresh("postgresql", HOLDERS)};
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER apiusers_label_search_text
        AFTER UPDATE OF name ON apiusers_label
        FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
        EXECUTE FUNCTION apiusers_label_search_text()""",
    ]


def sqlite() -> list[str]:
    # SQLite's triggers run for each row, in the writing connection: no locks to order.
    triggers = {
        "user_insert": ("INSERT ON apiusers_user", "id = NEW.id"),
        "user_name": ("UPDATE OF name ON apiusers_user", "id = NEW.id"),
        "links_insert": ("INSERT ON apiusers_user_labels", "id = NEW.user_id"),
        "links_delete": ("DELETE ON apiusers_user_labels", "id = OLD.user_id"),
        "label": ("UPDATE OF name ON apiusers_label", HOLDERS),
    }
    return [
        f"""CREATE TRIGGER apiusers_{name}_search_text AFTER {event}
        BEGIN {refresh("sqlite", where)}; END"""
        for name, (event, where) in triggers.items()
    ]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in postgresql() if vendor == "postgresql" else sqlite():
        schema_editor.execute(statement)
    schema_editor.execute(refresh(vendor, "TRUE"))


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for function in ("user", "links", "label"):
            schema_editor.execute(f"DROP FUNCTION apiusers_{function}_search_text() CASCADE")
    else:
        for name in ("user_insert", "user_name", "links_insert", "links_delete", "label"):
            schema_editor.execute(f"DROP TRIGGER apiusers_{name}_search_text")


class Migration(migrations.Migration):
    dependencies = [("apiusers", "0008_drop_pattern_indexes")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="search_text",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(install, uninstall),
    ]
