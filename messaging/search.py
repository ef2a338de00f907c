"""Message search: one selector, ``search_messages(user, query, ...)``, over the index the database
keeps (messaging/migrations/0006_message_search.py): PostgreSQL full-text search or SQLite FTS5.

What a person may find is decided before any word is matched (``_visible``): messages of
conversations they are a member of now, in a group only those sent since they joined, never a
deleted one. Assistant chats have one member, their owner, so nobody else's are ever in reach.

The words are matched in two steps, so that a search costs about the same whatever the number of
messages that contain a word: the newest ``CANDIDATES`` matches are taken from the index (in
descending id order, which both engines read straight off their index), then ordered by relevance
(``ts_rank`` / ``bm25``), and only the page shown gets its highlighted excerpt (``ts_headline`` /
``snippet``). A word found more often than that is shown from its recent messages; the ``newest``
order pages through them all.
"""

import re
import time as _time
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import User
from chatsite.errors import InvalidInput

from .models import Attachment, Conversation, Membership, Message, Star

PAGE_SIZE = 20
CANDIDATES = 300
MAX_QUERY_LENGTH = 300
MAX_TERMS = 12
SNIPPET_WORDS = 16
PG_CONFIG = "chat_search"  # the text search configuration made by the migration
# What the PostgreSQL column indexes is the body with these characters mapped to control
# characters (the migration's translate(): they separate words there, as in FTS5); the excerpt is
# made from the same text and mapped back.
PG_PUNCTUATION, PG_MAPPED = "<>&./:@", "\x0e\x0f\x10\x11\x12\x13\x14"
_PG_QUERY_SPACES = str.maketrans(PG_PUNCTUATION, " " * len(PG_PUNCTUATION))
_PG_BACK = str.maketrans(PG_MAPPED, PG_PUNCTUATION)
# The engines mark matches with these; the text is escaped first and then the marks become <mark>
# tags, so no HTML from the database reaches the page. The send path strips control characters
# from message text (chatsite.text.strip_unsafe): the marks cannot come from a message.
OPEN, CLOSE = "\x02", "\x03"

FILTERS = ("from", "in", "has", "before", "after", "is")
HAS_VALUES = ("file", "image", "link")
IS_VALUES = ("starred",)
_TOKEN = re.compile(r'(-?)(?:(\w+):)?("[^"]*(?:"|$)|\S+)')


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False
    negated: bool = False


@dataclass
class ParsedQuery:
    """What was typed, taken apart: words to match and filters (values as typed, not looked up)."""

    terms: list[Term] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    chats: list[str] = field(default_factory=list)
    has: set[str] = field(default_factory=set)
    before: date | None = None
    after: date | None = None
    starred: bool = False

    @property
    def positive(self) -> list[Term]:
        return [t for t in self.terms if not t.negated]

    @property
    def has_filters(self) -> bool:
        return bool(self.senders or self.chats or self.has or self.before or self.after or self.starred)

    @property
    def empty(self) -> bool:
        return not self.terms and not self.has_filters


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:] if value.startswith('"') else value


def _date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            # Translators: name is "before" or "after"; the date format stays as it is.
            _("“%(name)s:” needs a date like 2026-03-31, not “%(value)s”.") % {"name": name, "value": value},
            field="q") from None


def parse_query(text: str) -> ParsedQuery:
    """Words, "phrases", -excluded words and the filters from:, in:, has:, before:, after:, is:.

    A word with a colon that is not one of those filters (a link, a time) is a word. Raises
    InvalidInput with a sentence for the person when a filter's value cannot be used.
    """
    text = " ".join((text or "").split())
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(_("A search can be at most %(max)s characters long.") % {"max": MAX_QUERY_LENGTH},
                           field="q")
    parsed = ParsedQuery()
    for match in _TOKEN.finditer(text):
        negated, name, value = bool(match.group(1)), (match.group(2) or "").lower(), match.group(3)
        if not name and value.endswith(":") and value[:-1].lower() in FILTERS:  # "from:" still to be typed
            name, value = value[:-1].lower(), ""
        if name and name not in FILTERS:
            value, name = f"{match.group(2)}:{value}", ""
        if name:
            value = _unquote(value).strip()
            if negated:
                raise InvalidInput(_("Filters cannot be excluded with “-”: remove the “-” before “%(name)s:”.")
                                   % {"name": name}, field="q")
            if not value:
                raise InvalidInput(_("“%(name)s:” needs a value, for example %(example)s.")
                                   % {"name": name, "example": {"from": "from:ana", "in": "in:family",
                                                                "has": "has:file", "before": "before:2026-03-31",
                                                                "after": "after:2026-03-31",
                                                                "is": "is:starred"}[name]}, field="q")
            if name == "from":
                parsed.senders.append(value.lstrip("@"))
            elif name == "in":
                parsed.chats.append(value)
            elif name == "has":
                if value.lower() not in HAS_VALUES:
                    raise InvalidInput(_("“has:” can be has:file, has:image or has:link, not “%(value)s”.")
                                       % {"value": value}, field="q")
                parsed.has.add(value.lower())
            elif name == "is":
                if value.lower() not in IS_VALUES:
                    raise InvalidInput(_("“is:” can be is:starred, not “%(value)s”.") % {"value": value}, field="q")
                parsed.starred = True
            elif name == "before":
                parsed.before = _date(name, value)
            else:
                parsed.after = _date(name, value)
            continue
        phrase = value.startswith('"')
        value = " ".join(_unquote(value).replace('"', " ").split())
        if any(ch.isalnum() for ch in value):  # punctuation alone matches nothing in either index
            parsed.terms.append(Term(value, phrase=phrase, negated=negated))
    if len(parsed.terms) > MAX_TERMS:
        raise InvalidInput(_("A search can have at most %(max)s words.") % {"max": MAX_TERMS}, field="q")
    if parsed.terms and not parsed.positive:
        raise InvalidInput(_("Add a word to look for, not only words to leave out."), field="q")
    if parsed.before and parsed.after and parsed.after >= parsed.before - timedelta(days=1):
        raise InvalidInput(_("No day is both after %(after)s and before %(before)s.")
                           % {"after": parsed.after.isoformat(), "before": parsed.before.isoformat()}, field="q")
    return parsed


# ---------------------------------------------------------------------------------------- results

@dataclass
class SearchResult:
    message: Message
    chat_label: str
    excerpt: SafeString
    rank: float = 0.0


@dataclass
class SearchPage:
    query: ParsedQuery
    results: list[SearchResult]
    more: bool
    order: str


def mark_excerpt(text: str) -> SafeString:
    """An engine's excerpt, with OPEN/CLOSE around the matches, as safe HTML: every character is
    escaped, then each marked run becomes <mark>...</mark> (marks that do not pair are dropped)."""
    out, inside = [], False
    for part in re.split(f"([{OPEN}{CLOSE}])", text or ""):
        if part == OPEN:
            if not inside:
                out.append("<mark>")
                inside = True
        elif part == CLOSE:
            if inside:
                out.append("</mark>")
                inside = False
        elif part:
            out.append(escape(part))
    if inside:
        out.append("</mark>")
    return mark_safe("".join(out))  # noqa: S308 (escaped above; only our own tags are added)


def _plain_excerpt(message: Message) -> SafeString:
    if not message.body:
        return mark_safe(escape(message.get_kind_display()))  # noqa: S308
    text = " ".join(message.body.split())
    return mark_safe(escape(text[:160] + ("…" if len(text) > 160 else "")))  # noqa: S308


# ---------------------------------------------------------------------------------------- filters

def _visible(user, conversation_id: int | None):
    """Every message the person may find: the permission rule of search, applied first."""
    member = Membership.objects.filter(user=user, conversation_id=OuterRef("conversation_id")).filter(
        ~Q(conversation__kind=Conversation.Kind.GROUP) | Q(joined_at__lte=OuterRef("created_at")))
    messages = Message.objects.filter(Exists(member), deleted_at__isnull=True).exclude(
        kind__in=(Message.Kind.SYSTEM, Message.Kind.CALL))
    if conversation_id is not None:
        messages = messages.filter(conversation_id=conversation_id)
    return messages


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _people_in_my_chats(user):
    return User.objects.filter(memberships__conversation__memberships__user=user).distinct()


def _resolve_senders(user, names: list[str]) -> list[int]:
    ids = []
    for name in names:
        if name.lower() == "me":
            ids.append(user.pk)
            continue
        person = _people_in_my_chats(user).filter(username__iexact=name).first()
        if person is None:
            raise InvalidInput(_("You have no chat with anyone called “%(name)s”: from: takes a username, "
                                 "like from:ana, or from:me.") % {"name": name}, field="q")
        ids.append(person.pk)
    return ids


def _resolve_chats(user, names: list[str]) -> list[int]:
    ids = []
    mine = Membership.objects.filter(user=user)
    for name in names:
        found = set(mine.filter(conversation__kind=Conversation.Kind.GROUP, conversation__title__icontains=name)
                    .values_list("conversation_id", flat=True))
        partners = _people_in_my_chats(user).exclude(pk=user.pk).filter(
            Q(username__iexact=name.lstrip("@")) | Q(first_name__iexact=name))
        found |= set(mine.filter(conversation__kind=Conversation.Kind.DIRECT,
                                 conversation__memberships__user__in=partners).values_list("conversation_id", flat=True))
        if name.lower() in ("assistant", _("assistant").lower()):
            found |= set(mine.filter(conversation__kind=Conversation.Kind.ASSISTANT)
                         .values_list("conversation_id", flat=True))
        if not found:
            raise InvalidInput(_("None of your chats is called “%(name)s”: in: takes a group’s name or a "
                                 "person’s username.") % {"name": name}, field="q")
        ids += found
    return ids


def _filtered(user, parsed: ParsedQuery, conversation_id: int | None):
    """The visible messages that pass the filters, and the conversation and sender ids they keep to
    (an engine may narrow its index by them too)."""
    messages = _visible(user, conversation_id)
    narrow = {}
    if conversation_id is not None:
        narrow["conversation_id"] = {conversation_id}
    if parsed.senders:
        narrow["sender_id"] = set(_resolve_senders(user, parsed.senders))
        messages = messages.filter(sender_id__in=narrow["sender_id"])
    if parsed.chats:
        chats = set(_resolve_chats(user, parsed.chats))
        narrow["conversation_id"] = narrow["conversation_id"] & chats if "conversation_id" in narrow else chats
        messages = messages.filter(conversation_id__in=narrow["conversation_id"])
    if parsed.before:
        messages = messages.filter(created_at__lt=_day_start(parsed.before))
    if parsed.after:
        messages = messages.filter(created_at__gte=_day_start(parsed.after + timedelta(days=1)))
    if "image" in parsed.has:
        messages = messages.filter(Exists(Attachment.objects.filter(message=OuterRef("pk"),
                                                                    kind=Attachment.Kind.IMAGE)))
    if "file" in parsed.has:
        messages = messages.filter(Exists(Attachment.objects.filter(message=OuterRef("pk")).exclude(
            kind=Attachment.Kind.IMAGE)))
    if "link" in parsed.has:
        messages = messages.filter(Q(kind=Message.Kind.LINK) | Q(body__contains="http://")
                                   | Q(body__contains="https://"))
    if parsed.starred:
        messages = messages.filter(Exists(Star.objects.filter(user=user, message=OuterRef("pk"))))
    return messages, narrow


# ---------------------------------------------------------------------------------------- engines

class _Postgres:
    """django.contrib.postgres over the generated ``search_vector`` column (not a model field: it
    exists on PostgreSQL only, so it is named through ``_vector``)."""

    @staticmethod
    def _vector():
        from django.contrib.postgres.search import SearchVectorField
        from django.db.models.expressions import RawSQL

        # Only ever in the top-level query over messaging_message (never a subquery: no aliasing).
        return RawSQL('"messaging_message"."search_vector"', [], output_field=SearchVectorField())

    @staticmethod
    def _query(parsed: ParsedQuery):
        from django.contrib.postgres.search import SearchQuery

        # The words as the column has them: "github.com/x" is three words there.
        terms = [Term(" ".join(t.text.translate(_PG_QUERY_SPACES).split()), t.phrase, t.negated) for t in parsed.terms]
        terms = [t for t in terms if t.text]
        *rest, last = terms
        parts = []
        if not last.negated and not last.phrase and " " in last.text:
            *words, final = last.text.split()
            rest.append(Term(" ".join(words), phrase=True))
            last = Term(final)
        if last.negated or last.phrase:
            rest.append(last)
        else:  # the word being typed: a prefix ('bre':* finds bread), folded by the same configuration
            lexeme = last.text.replace("'", "''").replace("\\", "\\\\")
            parts.append(SearchQuery(f"'{lexeme}':*", search_type="raw", config=PG_CONFIG))
        if rest:
            # websearch_to_tsquery reads quoted words as words and -"word" as not: what was typed,
            # with no operator it did not mean ("or" is a word here).
            text = " ".join(("-" if t.negated else "") + '"' + t.text + '"' for t in rest)
            parts.insert(0, SearchQuery(text, search_type="websearch", config=PG_CONFIG))
        query = parts[0]
        for part in parts[1:]:
            query = query & part
        return query

    # Lexemes the planner's statistics know (pg_stats.most_common_elems), read at most once a minute.
    _common: tuple[float, frozenset] = (0.0, frozenset())

    def _all_common(self, parsed) -> bool:
        """Whether every word to match is among the column's most common lexemes.

        The planner reads "the newest matches" off the primary key backwards, stopping at the
        first few hundred: right for a common word, a scan of the whole table for a word it has no
        statistics for (it guesses such a word, and any prefix, is in one message in two hundred).
        A word outside the most common ones is rare by definition, and its GIN lookup is the fast
        way; ``_rare`` makes the planner take it.
        """
        stamp, common = _Postgres._common
        if _time.monotonic() - stamp > 60:
            with connection.cursor() as cursor:
                cursor.execute("SELECT most_common_elems::text::text[] FROM pg_stats"
                               " WHERE tablename = 'messaging_message' AND attname = 'search_vector'")
                row = cursor.fetchone()
            common = frozenset((row and row[0]) or ())
            _Postgres._common = (_time.monotonic(), common)
        positive = [t for t in parsed.terms if not t.negated]
        with connection.cursor() as cursor:
            cursor.execute("SELECT tsvector_to_array(to_tsvector(%s::regconfig, t)) FROM unnest(%s::text[]) t",
                           [PG_CONFIG, [t.text.translate(_PG_QUERY_SPACES) for t in positive]])
            lexemes = [row[0] for row in cursor.fetchall()]
        prefix = parsed.terms[-1] is positive[-1] and not positive[-1].phrase
        for i, words in enumerate(lexemes):
            for word in words:
                if prefix and i == len(lexemes) - 1:
                    if not any(c.startswith(word) for c in common):
                        return False
                elif word not in common:
                    return False
        return True

    def matches(self, messages, parsed, narrow, order, offset, limit):
        from django.contrib.postgres.search import SearchRank
        from django.db.models import BooleanField, F, Func

        query = self._query(parsed)
        common = self._all_common(parsed)
        if common:
            # Common words: the newest rows, each tested, until enough match: off the primary key
            # backwards, or, in one chat or from one person, that column's index. ts_match_vq is @@
            # spelled as a function, which the GIN index does not serve: left the choice, the planner
            # takes GIN whenever it multiplies two words' frequencies into a small guess (words in
            # one sentence come together far more often than that), and the GIN lookup of a common
            # word then reads all of its rows.
            matching = messages.alias(hit=Func(self._vector(), query, function="ts_match_vq",
                                               output_field=BooleanField())).filter(hit=True).order_by("-pk")
        else:
            # A rare word: ordered by an expression, not the key, so the planner takes the GIN index
            # instead of walking the key backwards through rows that do not match.
            matching = (messages.alias(vector=self._vector()).filter(vector=query)
                        .alias(newest=F("pk") + 0).order_by("-newest"))
        ranked = matching.annotate(rank=SearchRank(self._vector(), query)).values_list("pk", "rank")
        if order == "newest":
            return [(pk, 0.0, None) for pk, _rank in ranked[offset:offset + limit]]
        rows = [(pk, rank, None) for pk, rank in ranked[:CANDIDATES]]
        rows.sort(key=lambda row: (-row[1], -row[0]))
        return rows[offset:offset + limit]

    def excerpts(self, parsed, ids):
        from django.contrib.postgres.search import SearchHeadline

        if not ids:
            return {}
        from django.db.models import F, Func, TextField, Value

        indexed = Func(F("body"), Value(PG_PUNCTUATION), Value(PG_MAPPED), function="translate",
                       output_field=TextField())
        # One excerpt around the best match (fragments cut short messages off at the match).
        headline = SearchHeadline(indexed, self._query(parsed), config=PG_CONFIG, start_sel=OPEN, stop_sel=CLOSE,
                                  max_words=SNIPPET_WORDS + 4, min_words=SNIPPET_WORDS // 2)
        rows = Message.objects.filter(pk__in=ids).annotate(excerpt=headline).values_list("pk", "excerpt")
        return {pk: excerpt.translate(_PG_BACK) for pk, excerpt in rows}


class _Sqlite:
    """FTS5 over the external-content table ``messaging_message_fts`` (rowid = message id)."""

    @staticmethod
    def _query(parsed: ParsedQuery, narrow: dict | None = None) -> str:
        def quoted(text):
            return '"' + text.replace('"', '""') + '"'

        positive = [t for t in parsed.terms if not t.negated]
        words = [quoted(t.text) for t in positive]
        last = positive[-1]
        if parsed.terms[-1] is last and not last.phrase:
            words[-1] += "*"
        query = "body : (" + " ".join(words) + ")" + "".join(
            f" NOT body : {quoted(t.text)}" for t in parsed.terms if t.negated)
        for column, ids in sorted((narrow or {}).items()):
            if ids:
                query = f"{column} : (" + " OR ".join(quoted(str(i)) for i in sorted(ids)) + f") AND {query}"
        return query

    def matches(self, messages, parsed, narrow, order, offset, limit):
        if any(not ids for ids in narrow.values()):
            return []
        matching = messages.extra(
            tables=["messaging_message_fts"],
            where=["messaging_message_fts.rowid = messaging_message.id", "messaging_message_fts MATCH %s"],
            params=[self._query(parsed, narrow)],
            # Only the words count for relevance (the id columns match every candidate alike).
            # The excerpt is made for every candidate: FTS5 makes it from the match it is on, for
            # far less than asking again for the few ids shown (each ask repeats a prefix's lookup).
            select={"score": "bm25(messaging_message_fts, 1.0, 0.0, 0.0)",
                    "excerpt": f"snippet(messaging_message_fts, 0, char(2), char(3), '…', {SNIPPET_WORDS})"},
            # The index gives its rows newest first when asked by its own rowid.
            order_by=["-messaging_message_fts.rowid"],
        )
        if order == "newest":
            return list(matching.values_list("pk", "score", "excerpt")[offset:offset + limit])
        # bm25 is lower for better matches.
        rows = [(pk, -score, excerpt) for pk, score, excerpt
                in matching.values_list("pk", "score", "excerpt")[:CANDIDATES]]
        rows.sort(key=lambda row: (-row[1], -row[0]))
        return rows[offset:offset + limit]

    def excerpts(self, parsed, ids):
        return {}  # made with the matches


def _engine():
    return _Postgres() if connection.vendor == "postgresql" else _Sqlite()


def _chat_labels(user, conversation_ids: set[int]) -> dict[int, str]:
    """How the sidebar names each chat: a group's title, the other person of a direct chat."""
    labels = {}
    for conversation in Conversation.objects.filter(pk__in=conversation_ids).only("kind", "title"):
        labels[conversation.pk] = (conversation.title or _("Assistant")) if conversation.kind != Conversation.Kind.DIRECT else ""
    direct = [pk for pk, label in labels.items() if not label]
    if direct:
        for other in (Membership.objects.filter(conversation_id__in=direct).exclude(user=user).select_related("user")):
            labels[other.conversation_id] = other.user.display_name
    for pk, label in labels.items():
        labels[pk] = label or _("Just you")
    return labels


def search_messages(user, query: str, *, conversation_id: int | None = None, order: str = "relevance",
                    offset: int = 0, limit: int = PAGE_SIZE) -> SearchPage:
    """The messages ``user`` may see that match ``query`` (words and filters, see parse_query),
    best first (``order="newest"``: newest first), ``limit`` at a time from ``offset``.

    ``conversation_id`` keeps to one chat (the caller has checked membership; a chat the person is
    not in finds nothing anyway). Raises InvalidInput for a query that cannot be used.
    """
    parsed = parse_query(query)
    if connection.vendor != "postgresql":
        return _search(user, parsed, conversation_id, order, offset, limit)
    # A few hundred rows read off an index: starting parallel workers costs more than the scan
    # (far more on a busy machine), so a search's queries run without them.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        return _search(user, parsed, conversation_id, order, offset, limit)


def _search(user, parsed: ParsedQuery, conversation_id, order, offset, limit) -> SearchPage:
    if order not in ("relevance", "newest"):
        order = "relevance"
    offset = max(0, min(int(offset), CANDIDATES * 10))
    if parsed.empty:
        return SearchPage(parsed, [], False, order)
    messages, narrow = _filtered(user, parsed, conversation_id)
    if parsed.terms:
        engine = _engine()
        rows = engine.matches(messages, parsed, narrow, order, offset, limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        ids = [pk for pk, _rank, _excerpt in rows]
        excerpts = {pk: excerpt for pk, _rank, excerpt in rows if excerpt is not None}
        excerpts |= engine.excerpts(parsed, [pk for pk in ids if pk not in excerpts])
    else:  # filters only: the newest messages that pass them
        order = "newest"
        ids = list(messages.order_by("-pk").values_list("pk", flat=True)[offset:offset + limit + 1])
        more, ids = len(ids) > limit, ids[:limit]
        rows, excerpts = [(pk, 0.0, None) for pk in ids], {}
    found = Message.objects.select_related("sender").in_bulk(ids)
    labels = _chat_labels(user, {m.conversation_id for m in found.values()})
    results = []
    for pk, rank, _excerpt in rows:
        message = found.get(pk)
        if message is None:  # deleted between the two queries
            continue
        excerpt = mark_excerpt(excerpts[pk]) if excerpts.get(pk) else _plain_excerpt(message)
        results.append(SearchResult(message, labels[message.conversation_id], excerpt, rank))
    return SearchPage(parsed, results, more, order)


def ensure_sqlite_triggers(using: str = "default", **kwargs) -> bool:
    """After migrate (post_migrate): put back the FTS5 triggers if a migration rebuilt the message
    table (SQLite's way of altering a column drops the table's triggers), and rebuild the index,
    which missed whatever changed meanwhile. Returns whether anything was repaired."""
    from importlib import import_module

    from django.db import connections

    db = connections[using]
    if db.vendor != "sqlite":
        return False
    schema = import_module("messaging.migrations.0006_message_search")
    with db.cursor() as cursor:
        cursor.execute("SELECT type, name FROM sqlite_master WHERE name LIKE 'messaging_message_fts%%'")
        names = {name for _type, name in cursor.fetchall()}
        if "messaging_message_fts" not in names:
            return False  # not migrated that far (or migrated back)
        wanted = {"messaging_message_fts_insert", "messaging_message_fts_delete", "messaging_message_fts_update"}
        if wanted <= names:
            return False
        for statement in schema.SQLITE_TRIGGERS:
            cursor.execute(statement)
        cursor.execute("INSERT INTO messaging_message_fts(messaging_message_fts) VALUES ('delete-all')")
        cursor.execute(schema.SQLITE_FILL)
    return True
