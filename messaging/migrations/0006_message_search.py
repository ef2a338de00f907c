"""Message search, kept current by the database itself (the send path does not know about it).

PostgreSQL: a text search configuration ``chat_search`` (the ``simple`` parser and dictionary, so no
language's stemming or stop words, with the ``unaccent`` dictionary in front of it for words with
non-ASCII letters), a stored generated ``tsvector`` column and its GIN index. The configuration does
the accent folding: ``to_tsvector(regconfig, text)`` is immutable (a generated column may use it),
``unaccent(text)`` is not, and folding in the configuration also folds queries and lets
``ts_headline`` mark the words in the original, accented text.

SQLite: an FTS5 external-content table over ``messaging_message(body)`` (the text is stored once,
in the message table), kept by triggers. A row is in the index exactly while it is not deleted:
FTS5's 'delete' must be given the values that were indexed, so the triggers test ``deleted_at`` on
both sides. ``messaging.search.ensure_sqlite_triggers`` puts the triggers back after a later
migration rebuilds the message table (SQLite's ALTER TABLE path drops a table's triggers).
"""

from django.db import migrations

POSTGRES_FORWARDS = [
    # Going back leaves the extension installed: another part of the database may use it by then.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION chat_search (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION chat_search ALTER MAPPING FOR word, hword, hword_part WITH unaccent, simple",
    # The default parser reads "<word>" as an HTML tag and "a.b/c" as one host or path, and drops
    # or keeps them whole: mapped to control characters (which message text never holds), they
    # separate words, as in SQLite's unicode61 (messaging.search.PG_PUNCTUATION maps them back).
    "ALTER TABLE messaging_message ADD COLUMN search_vector tsvector GENERATED ALWAYS AS"
    " (to_tsvector('chat_search'::regconfig, translate(body, '<>&./:@', E'\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14'))) STORED",
    "CREATE INDEX messaging_message_search_vector ON messaging_message USING gin (search_vector)",
]
POSTGRES_BACKWARDS = [
    "DROP INDEX IF EXISTS messaging_message_search_vector",
    "ALTER TABLE messaging_message DROP COLUMN IF EXISTS search_vector",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS chat_search",
]

# conversation_id and sender_id are indexed too (as tokens of their own columns), so that "in this
# chat" and "from this person" narrow the index itself instead of filtering every match of a word.
SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE messaging_message_fts USING fts5(body, conversation_id, sender_id,"
    " content='messaging_message', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
)
_NEW = "new.id, new.body, new.conversation_id, new.sender_id"
_OLD = "'delete', old.id, old.body, old.conversation_id, old.sender_id"
_COLUMNS = "rowid, body, conversation_id, sender_id"
SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS messaging_message_fts_insert AFTER INSERT ON messaging_message"
    f" WHEN new.deleted_at IS NULL BEGIN INSERT INTO messaging_message_fts({_COLUMNS}) VALUES ({_NEW}); END",
    "CREATE TRIGGER IF NOT EXISTS messaging_message_fts_delete AFTER DELETE ON messaging_message"
    " WHEN old.deleted_at IS NULL BEGIN"
    f" INSERT INTO messaging_message_fts(messaging_message_fts, {_COLUMNS}) VALUES ({_OLD}); END",
    # An edit, a soft delete (body emptied, deleted_at set), an undelete, a sender set to NULL when
    # their account goes: out with the old values, in with the new.
    "CREATE TRIGGER IF NOT EXISTS messaging_message_fts_update"
    " AFTER UPDATE OF body, deleted_at, conversation_id, sender_id ON messaging_message BEGIN"
    f" INSERT INTO messaging_message_fts(messaging_message_fts, {_COLUMNS}) SELECT {_OLD} WHERE old.deleted_at IS NULL;"
    f" INSERT INTO messaging_message_fts({_COLUMNS}) SELECT {_NEW} WHERE new.deleted_at IS NULL; END",
]
SQLITE_FILL = (f"INSERT INTO messaging_message_fts({_COLUMNS})"
               " SELECT id, body, conversation_id, sender_id FROM messaging_message WHERE deleted_at IS NULL")
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS messaging_message_fts_insert",
    "DROP TRIGGER IF EXISTS messaging_message_fts_delete",
    "DROP TRIGGER IF EXISTS messaging_message_fts_update",
    "DROP TABLE IF EXISTS messaging_message_fts",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_FORWARDS)
    elif vendor == "sqlite":
        _run(schema_editor, [SQLITE_TABLE, *SQLITE_TRIGGERS, SQLITE_FILL])


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_BACKWARDS)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_attachment_uploads"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
