"""The SQL of the send path, and nothing else.

Sending a message is the one write every user does all day long, and on a small machine the ORM's
query building cost 150–400 µs per statement against ~20 µs for the statement itself (bench/micro.py):
most of a send's time. These few statements are therefore written once, as SQL that SQLite and
PostgreSQL both run unchanged (``INSERT ... RETURNING``; the row lock uses Django's own feature flag),
with table and column names taken from the models so that a renamed field cannot drift. They run on
Django's connection, so transactions, ``on_commit`` and the test database behave as for the ORM.
Everything else, including every rarely taken branch of a send, stays on the ORM.
"""

from django.db import connection
from django.utils import timezone

from accounts import policy, push

from .models import Conversation, Membership, Message


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


def _sql() -> dict[str, str]:
    membership, conversation, message = (_table(m) for m in (Membership, Conversation, Message))
    mc = {f: _column(Membership, f) for f in ("id", "conversation", "user", "role", "muted", "last_read_seq",
                                            "last_delivered_seq")}
    cc = {f: _column(Conversation, f) for f in ("id", "kind", "title", "direct_key", "post_policy",
                                              "mention_all_policy", "last_seq", "last_message", "last_activity_at")}
    subscribed = push.subscribed_sql(membership + "." + mc["user"])
    inserted = ("conversation", "seq", "sender", "kind", "body", "body_html", "reply_to", "client_id", "created_at",
                "mention_ids", "via")
    return {
        # The conversation row is locked (FOR UPDATE where the database has row locks; SQLite's
        # IMMEDIATE transaction already holds the database's write lock) while the seq is taken.
        # With it, in the same round trip: whether the other member of a direct chat and the
        # sender blocked each other (the condition is accounts.policy's, and so is what it means).
        "membership": (
            f"SELECT m.{mc['id']}, m.{mc['role']}, c.{cc['kind']}, c.{cc['title']}, c.{cc['direct_key']}, "
            f"c.{cc['post_policy']}, c.{cc['mention_all_policy']}, c.{cc['last_seq']}, "
            f"CASE WHEN c.{cc['kind']} = %s AND EXISTS (SELECT 1 FROM {membership} o "
            f"WHERE o.{mc['conversation']} = m.{mc['conversation']} AND o.{mc['user']} <> m.{mc['user']} "
            f"AND {policy.block_exists_sql('o.' + mc['user'], 'm.' + mc['user'])}) "
            f"THEN 1 ELSE 0 END "
            f"FROM {membership} m INNER JOIN {conversation} c ON c.{cc['id']} = m.{mc['conversation']} "
            f"WHERE m.{mc['conversation']} = %s AND m.{mc['user']} = %s"
            + (" FOR UPDATE OF c" if connection.features.has_select_for_update_of else "")
        ),
        "last_seq": (
            f"SELECT {cc['last_seq']} FROM {conversation} WHERE {cc['id']} = %s"
            + (" FOR UPDATE" if connection.features.has_select_for_update else "")
        ),
        "insert": (
            f"INSERT INTO {message} ({', '.join(_column(Message, f) for f in inserted)}) "
            f"VALUES ({', '.join(['%s'] * len(inserted))}) RETURNING {_column(Message, 'id')}"
        ),
        "advance_conversation": (
            f"UPDATE {conversation} SET {cc['last_seq']} = %s, {cc['last_message']} = %s, "
            f"{cc['last_activity_at']} = %s WHERE {cc['id']} = %s"
        ),
        "own_watermark": (
            f"UPDATE {membership} SET {mc['last_read_seq']} = %s, {mc['last_delivered_seq']} = %s "
            f"WHERE {mc['id']} = %s AND {mc['last_read_seq']} < %s"
        ),
        # With each member, whether they have a Web Push subscription (the condition is
        # accounts.push's): the push follow-up then needs no query of its own when nobody has one.
        "unmuted_others": (
            f"SELECT {mc['user']}, {subscribed} FROM {membership} "
            f"WHERE {mc['conversation']} = %s AND {mc['muted']} = %s AND {mc['user']} <> %s"
        ),
    }


_statements: dict[str, dict[str, str]] = {}


def _run(name: str, params) -> list[tuple]:
    sql = _statements.get(connection.vendor)
    if sql is None:
        sql = _statements[connection.vendor] = _sql()
    with connection.cursor() as cursor:
        cursor.execute(sql[name], params)
        return cursor.fetchall() if cursor.description else []


def _loaded(model, **values):
    """An instance as the ORM would load it with only these fields: the others are deferred, so
    reading one later queries it instead of returning a default."""
    names = [f.attname for f in model._meta.get_fields() if f.concrete and f.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


def lock_membership(*, conversation_id: int, user_id: int) -> tuple[Membership, bool] | None:
    """The user's membership with its conversation (the fields a send needs), the seq locked, and
    whether the two people of a direct chat blocked each other. Must run inside the caller's
    transaction."""
    rows = _run("membership", [Conversation.Kind.DIRECT.value, conversation_id, user_id])
    if not rows:
        return None
    pk, role, kind, title, direct_key, post_policy, mention_all_policy, last_seq, blocked = rows[0]
    conversation = _loaded(Conversation, id=conversation_id, kind=kind, title=title, direct_key=direct_key,
                           post_policy=post_policy, mention_all_policy=mention_all_policy, last_seq=last_seq)
    membership = _loaded(Membership, id=pk, conversation_id=conversation_id, user_id=user_id, role=role)
    membership.conversation = conversation
    return membership, bool(blocked)


def lock_last_seq(conversation_id: int) -> int:
    """The conversation's last seq, locked for the caller's transaction."""
    rows = _run("last_seq", [conversation_id])
    if not rows:
        raise Conversation.DoesNotExist(conversation_id)
    return rows[0][0]


def insert_message(*, conversation: Conversation, seq: int, sender, kind: str, body: str, body_html: str,
                   client_id: str, reply_to: Message | None, mention_ids: str, via: str = "") -> Message:
    """Store the message under ``seq`` and make it the conversation's last one."""
    now = timezone.now()
    stored_now = connection.ops.adapt_datetimefield_value(now)
    sender_id = sender.pk if sender else None
    reply_to_id = reply_to.pk if reply_to else None
    (message_id,), = _run("insert", [conversation.pk, seq, sender_id, kind, body, body_html, reply_to_id, client_id,
                                     stored_now, mention_ids, via])
    _run("advance_conversation", [seq, message_id, stored_now, conversation.pk])
    # As the ORM would load the row (Model.from_db): a saved instance, not one to insert.
    message = _loaded(Message, id=message_id, conversation_id=conversation.pk, seq=seq, sender_id=sender_id, kind=kind,
                      body=body, body_html=body_html, reply_to_id=reply_to_id, client_id=client_id, created_at=now,
                      edited_at=None, deleted_at=None, mention_ids=mention_ids, via=via)
    message.conversation, message.sender, message.reply_to = conversation, sender, reply_to
    return message


def advance_own_watermark(*, membership_id: int, seq: int) -> None:
    """The sender has read their own message: it never counts as unread for them."""
    _run("own_watermark", [seq, seq, membership_id, seq])


def unmuted_members(*, conversation_id: int, exclude_user_id: int) -> dict[int, bool]:
    """The members who did not mute the chat, each with whether they have a push subscription."""
    return {row[0]: bool(row[1]) for row in _run("unmuted_others", [conversation_id, False, exclude_user_id])}
