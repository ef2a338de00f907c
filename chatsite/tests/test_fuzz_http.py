"""Fuzz: hostile values to every URL of the site and every field its views and forms read.

The targets come from the URLconf (chatsite/tests/urlconf.py): a URL added later is fuzzed without
editing this file, or the test fails until it is listed in SKIPPED with a reason. Signed in as a
normal user who has a direct chat, groups, friend requests both ways, an invitation, a
notification and a file; the public pages are fuzzed signed out too. Each request runs in a
savepoint that is rolled back, so every request meets the same data.

The promise checked: no answer is a 5xx and nothing is logged as an error or with a traceback.
Bounded: FUZZ_EXAMPLES random requests per URL (4 by default) and one
per parameter or field with only that one hostile, from a seeded generator (FUZZ_SEED).
"""

import html.parser
import inspect
import re
import time
from collections import Counter
from urllib.parse import quote_from_bytes, urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, resolve

from accounts import services as account_services
from accounts.models import Block, FriendRequest, Notification
from accounts.services import digests
from conftest import PASSWORD, make_user
from groups import services as group_services
from groups.models import GroupInvitation
from messaging import services as message_services
from messaging.models import Attachment, Message

from .fuzzing import (
    EXAMPLES,
    HUGE_NUMBERS,
    NEXTS,
    SEED,
    TEXTS,
    ErrorRecords,
    hostile_scalar,
    make_random,
    report,
    worst_value,
)
from .urlconf import all_routes, sample_values

# Routes not fuzzed, each with the reason. (Empty: every URL is fuzzed.)
SKIPPED: dict[str, str] = {}

# Staff-only pages of Django's admin: a normal user is sent to the admin's sign-in before any input
# is read, so one request each shows that and no more.
FEW = ("admin:",)

# Fields a view reads that neither its source (by the patterns below) nor a page's form names.
EXTRA_FIELDS = {"conversation_flags": {"pinned", "muted"}}

_FIELD_PATTERNS = [
    re.compile(r"request\.(?:POST|GET|FILES)\.(?:get|getlist)\(\s*[\"']([^\"']+)[\"']"),
    re.compile(r"request\.(?:POST|GET|FILES)\[\s*[\"']([^\"']+)[\"']\s*\]"),
    re.compile(r"[\"']([^\"']+)[\"']\s+in\s+request\.(?:POST|GET)"),
]


def _source_fields(route) -> set[str]:
    target = getattr(route.callback, "view_class", None) or inspect.unwrap(route.callback)
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        return set()
    names = {name for pattern in _FIELD_PATTERNS for name in pattern.findall(source)}
    namespace = getattr(target, "__globals__", {})
    for form_name in re.findall(r"\b(\w+Form)\(\s*request\.POST", source):
        form = namespace.get(form_name)
        names |= set(getattr(form, "base_fields", ()))
    return names


class _FormFields(html.parser.HTMLParser):
    """Field names of every form (and htmx control) on a page, by the URL they are sent to."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url, self.action, self.fields = page_url, None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action") or self.page_url
        target = attrs.get("hx-post") or attrs.get("hx-get") or self.action
        if tag in ("input", "textarea", "select", "button") and attrs.get("name") and target:
            self.fields.setdefault(urlsplit(target).path or self.page_url, set()).add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.action = None


@pytest.fixture
def world(db, settings, tmp_path):
    """The fuzzing user's data; valid values by parameter or field name."""
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    alice = make_user("alice", first_name="Alice")
    bob, carol, dave, erin, frank = (make_user(name) for name in ("bob", "carol", "dave", "erin", "frank"))
    gone = make_user("gone", is_active=False)
    account_services.send_friend_request(user=bob, to_id=alice.pk)
    account_services.respond_to_friend_request(user=alice, request_id=FriendRequest.objects.get().pk, accept=True)
    received = account_services.send_friend_request(user=carol, to_id=alice.pk, note="hi")
    sent = account_services.send_friend_request(user=alice, to_id=dave.pk)
    Block.objects.create(blocker=alice, blocked=erin)
    direct = message_services.get_or_create_direct_conversation(user=alice, other_id=bob.pk)
    mine = message_services.send_message(user=alice, conversation_id=direct.pk, body="hello @bob").message
    theirs = message_services.send_message(user=bob, conversation_id=direct.pk, body="hi **Alice**").message
    message_services.toggle_reaction(user=alice, message_id=theirs.pk, emoji="👍")
    message_services.toggle_star(user=alice, message_id=theirs.pk)
    crew = group_services.create_group(user=alice, title="Crew", member_ids=[bob.pk, carol.pk])
    in_group = message_services.send_message(user=bob, conversation_id=crew.pk, body="@alice look").message
    invited = group_services.invite(user=alice, conversation_id=crew.pk, invitee_id=dave.pk)
    other = group_services.create_group(user=bob, title="Other")
    invitation = group_services.invite(user=bob, conversation_id=other.pk, invitee_id=alice.pk)
    secret = group_services.create_group(user=bob, title="Secret", member_ids=[carol.pk])
    file_message = message_services.post_message(conversation_id=direct.pk, sender=bob, kind="file", body="")
    attachment = Attachment(message=file_message, uploader=bob, kind="file", content_type="text/plain", size=4,
                            original_name="notes.txt")
    attachment.file.save("notes.txt", ContentFile(b"data"), save=True)
    # The first of each list is the one a change is most likely to go through with (a stranger, one's own chat).
    people = [frank, bob, carol, dave, erin, alice, gone]  # stranger, friend, asked, asked by, blocked, self, gone
    ids = lambda *objects: [str(o.pk) for o in objects]  # noqa: E731
    valid = {
        "user_id": ids(*people), "members": ids(*people), "new_owner": ids(bob, carol, dave),
        "conversation_id": ids(direct, crew, other, secret), "message_id": ids(mine, theirs, in_group, file_message),
        "request_id": ids(received, sent), "invitation_id": ids(invitation, invited),
        "notification_id": ids(*Notification.objects.filter(recipient=alice)) or ["1"],
        "attachment_id": ids(attachment), "token": [digests.unsubscribe_token(alice)], "pk": ["1"],
        "seq": ["0", "1", "2"], "before": ["1", "2", "0"], "after": ["0", "1"], "offset": ["0", "30"],
        "reply_to": ids(mine, theirs), "role": ["admin", "member", "owner"], "emoji": ["👍", "❤️", "x"],
        "post_policy": ["everyone", "admins"], "invite_policy": ["everyone", "admins"],
        "mention_all_policy": ["everyone", "admins"], "pinned": ["1", "0"], "muted": ["1", "0"],
        "tab": ["friends", "received", "sent", "find", "blocked"], "q": ["b", "bo", "carol tester", "@d"],
        "direct_messages_from": ["everyone", "friends"], "hide_last_seen": ["on", ""], "email_digest": ["on", ""],
        "confirm": ["alice"], "password": [PASSWORD], "body": ["hello", "@all hi"], "client_id": ["c-1", "c-2"],
        "title": ["Book club"], "description": ["about"], "note": ["hello"], "username": ["alice", "alice2"],
        "first_name": ["Al"], "last_name": ["Ar"], "about": ["me"], "login": ["alice", "alice@example.com"],
        "email": ["alice@example.com", "new@example.com"], "thumbnail": ["1"],
    }
    return {"user": alice, "valid": valid}


def _encode(value) -> str:
    return quote_from_bytes(value.encode("utf-8", "surrogatepass"), safe="")


def _urlencoded(pairs) -> str:
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in pairs)


def _no_surrogates(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8")


class Fuzzer:
    def __init__(self, world):
        self.world = world
        self.valid = world["valid"]
        self.fields: dict[str, set[str]] = {}
        self.counts = Counter()
        self.reached = Counter()
        self.failures: list[str] = []
        self.post_only: set[str] = set()  # answered a GET with 405
        self.samples: dict[str, dict] = {}

    # --- what each URL reads ------------------------------------------------------------------

    def learn_fields(self, client, routes):
        """Fields by route: from the view's source, its form classes, and every form on every page."""
        for route in routes:
            self.fields.setdefault(route.key, set()).update(_source_fields(route), EXTRA_FIELDS.get(route.key, ()))
        for route in routes:
            values = {p: self._valid_path_values(route, p)[0] for p in route.params}
            url = route.url(**values)
            with transaction.atomic():
                response = client.get(url)
                transaction.set_rollback(True)
            self.counts["pages read for their forms"] += 1
            if response.status_code == 405:
                self.post_only.add(route.key)
            if response.streaming:
                b"".join(response.streaming_content)
                continue
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            parser = _FormFields(url)
            parser.feed(response.content.decode("utf-8", "replace"))
            for path, names in parser.fields.items():
                try:
                    match = resolve(path)
                except Resolver404:
                    continue
                for other in routes:
                    if other.callback is match.func:
                        self.fields.setdefault(other.key, set()).update(names)

    # --- one request ---------------------------------------------------------------------------

    def _valid_path_values(self, route, param) -> list[str]:
        if param in self.valid:
            return self.valid[param]
        if route.key not in self.samples:
            self.samples[route.key] = sample_values(route) or {}
        return [self.samples[route.key].get(param, "1")]

    def _path_value(self, rng, route, param, hostile: bool = False, worst: bool = False) -> str:
        kind = route.converters.get(param, "str")
        known = self._valid_path_values(route, param)
        if worst:
            return "99999999999999999999" if kind in ("id", "int") else _encode("a\x00b")
        if not hostile and rng.random() < 0.6:
            return rng.choice(known)
        if kind in ("id", "int"):
            return rng.choice([n for n in HUGE_NUMBERS if n.isdigit()] + ["1"])
        return _encode(rng.choice(TEXTS + NEXTS) or "x")

    def _field_value(self, rng, name, hostile: bool | None = None, worst: bool = False) -> str:
        known = self.valid.get(name)
        if hostile is False and known:
            return rng.choice(known)
        if worst:
            return worst_value(name)
        if hostile is None and known and rng.random() < 0.4:
            return rng.choice(known)
        return hostile_scalar(rng, name)

    def request(self, client, rng, route, label, target: str | None = None, worst: bool = False):
        """One request. With ``target``, only that parameter or field is hostile (the others valid
        where valid values are known): a single bad input is not hidden behind another. ``worst``
        picks the value of its kind that broke something once (fuzzing.worst_value)."""
        if target is None:
            values = {param: self._path_value(rng, route, param) for param in route.params}
        else:
            values = {param: (self._path_value(rng, route, param, hostile=True, worst=worst) if param == target
                              else self._valid_path_values(route, param)[0] if worst
                              else rng.choice(self._valid_path_values(route, param))) for param in route.params}
        path = route.url(**values)
        try:
            match = resolve(urlsplit(path).path)
            # The API names one pattern per operation (GET and PATCH /me); the first serves them all.
            reached = match.func is route.callback or (route.key.startswith("api-v1:") and match.route == route.route)
        except Resolver404:
            reached = False
        names = sorted(self.fields.get(route.key, set()) | {"next"})
        if target is None:
            chosen = [n for n in names if rng.random() < 0.7]  # missing fields too
            if rng.random() < 0.2:
                chosen.append(rng.choice(["a[b][c]", "user_id[]", "\x00", "", "__proto__", "x" * 300]))
        else:
            chosen = [n for n in names if n == target or n in self.valid]
        pairs = []
        for name in chosen:
            if target is not None:
                pairs.append((name, self._field_value(rng, name, hostile=name == target, worst=worst and name == target)))
                continue
            for _ in range(rng.choice([1, 1, 1, 2, 3])):  # a list where one value goes, too
                pairs.append((name, self._field_value(rng, name)))
        headers = {}
        if rng.random() < 0.5:
            headers["HTTP_HX_REQUEST"] = "true"
        if target is None and rng.random() < 0.2:
            headers["HTTP_REFERER"] = _no_surrogates(rng.choice(NEXTS))
        if target is None and rng.random() < 0.1:
            method = rng.choice(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
        else:
            method = "POST" if route.key in self.post_only or rng.random() < 0.5 else "GET"
        style = "form" if target is not None else rng.choice(["form", "form", "form", "multipart", "json", "raw"])
        with transaction.atomic():
            response = self._send(client, method, path, pairs, style, headers, rng)
            transaction.set_rollback(True)
        if response.streaming:  # (read to the end, the test client closes it; a second close would end the connection)
            b"".join(response.streaming_content)
        status = response.status_code
        self.counts[f"{label} {status}"] += 1
        self.counts["requests"] += 1
        if reached:
            self.reached[route.key] += 1
        if status >= 500:
            self.failures.append(f"{status} {method} {path[:200]} {style} {[(n, v[:40]) for n, v in pairs][:8]}")

    def _send(self, client, method, path, pairs, style, headers, rng):
        if method == "GET":
            separator = "&" if "?" in path else "?"
            return client.get(path + (separator + _urlencoded(pairs) if pairs else ""), **headers)
        if style == "multipart":
            data = {}
            for name, value in pairs:
                data.setdefault(name, []).append(_no_surrogates(value))
            field = rng.choice(["avatar", "file", "title", next(iter(data), "x")])
            data[field] = ContentFile(rng.choice([b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"GIF89a", b"", b"\xff" * 512]),
                                      name=rng.choice(["a.png", "../../x.gif", "\x00.jpg", "x" * 300]))
            return client.generic(method, path, **_multipart(data), **headers)
        if style == "json":
            body = rng.choice(['{"body": "\\ud800"}', "[" * 3000, "NaN", '{"user_id": 1e400}', "\x00"])
            return client.generic(method, path, body.encode("utf-8", "surrogatepass"),
                                  content_type="application/json", **headers)
        if style == "raw":
            body = rng.choice([b"\xff\xfe\xfd", b"a=%ED%A0%80&b=%FF", b"=" * 100, b"&&&&", b"a" * 20_000])
            return client.generic(method, path, body, content_type="application/x-www-form-urlencoded", **headers)
        return client.generic(method, path, _urlencoded(pairs).encode("ascii"),
                              content_type="application/x-www-form-urlencoded", **headers)


def _multipart(data):
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    return {"data": encode_multipart(BOUNDARY, data), "content_type": MULTIPART_CONTENT}


def _forget_rolled_back_state(signed_in, signed_out, session_key):
    """Sessions written by a request were rolled back with it: the signed-out client starts afresh,
    and the signed-in one keeps the session made before the run (a request that signed out or
    rotated the session must not end the run's sign-in)."""
    signed_out.cookies.clear()
    signed_in.cookies.clear()
    signed_in.cookies[settings.SESSION_COOKIE_NAME] = session_key


TARGETED = 2  # requests per parameter or field with only that one hostile (the first: its worst value)


def _examples(route) -> int:
    return 1 if route.key.startswith(FEW) else EXAMPLES


def test_every_url_is_fuzzed_or_skipped_with_a_reason():
    keys = {route.key for route in all_routes()}
    assert set(SKIPPED) <= keys, f"skipped but gone: {sorted(set(SKIPPED) - keys)}"
    assert all(reason.strip() for reason in SKIPPED.values())


def test_hostile_requests_get_no_server_error_and_log_no_traceback(world, record_property):
    routes = [route for route in all_routes() if route.key not in SKIPPED]
    started = time.monotonic()
    fuzzer = Fuzzer(world)
    signed_in = Client(raise_request_exception=False)
    signed_in.force_login(world["user"])
    signed_out = Client(raise_request_exception=False)
    session_key = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    with ErrorRecords() as errors:
        fuzzer.learn_fields(signed_in, routes)
        fuzzer.learn_fields(signed_out, [route for route in routes if route.public])
        for route in routes:
            rng = make_random(route.key)
            clients = [(signed_in, "signed in")] + ([(signed_out, "signed out")] if route.public else [])
            targets = [] if route.key.startswith(FEW) else sorted(set(route.params) | fuzzer.fields.get(route.key, set())
                                                                  | {"next"})
            plan = [(t, n == 0) for t in targets for n in range(TARGETED)] + [(None, False)] * _examples(route)
            for n, (target, worst) in enumerate(plan):
                if fuzzer.counts["requests"] % 40 == 0:
                    cache.clear()  # rate limits would otherwise answer most of the run with 429
                client, label = clients[n % len(clients)]
                fuzzer.request(client, rng, route, label, target, worst)
                _forget_rolled_back_state(signed_in, signed_out, session_key)
    tracebacks = errors.unexpected()
    counts = dict(sorted(fuzzer.counts.items()), seed=SEED, urls=len(routes), seconds=round(time.monotonic() - started, 1),
                  tracebacks=len(tracebacks), security_refusals=len(errors.records) - len(tracebacks))
    report(record_property, f"HTTP fuzz ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})", counts)
    assert not fuzzer.failures, f"{len(fuzzer.failures)} server errors:\n" + "\n".join(fuzzer.failures[:30])
    assert not tracebacks, errors.describe(tracebacks)
    unreached = sorted(route.key for route in routes if not fuzzer.reached[route.key])
    assert not unreached, f"never reached (add valid values for their parameters, or skip with a reason): {unreached}"
    assert Message.objects.filter(body="").exclude(kind__in=["file", "system"]).count() == 0
    assert GroupInvitation.objects.count() == 2  # every request was rolled back
