"""User-facing text goes through gettext (issue #10): error sentences, flash messages, form labels,
notifications and the system lines of chats are written in the server's language.

Read from the source with ast: every ServiceError raised (or built) in the app code carries a
translated sentence, every message passed to gettext is a literal xgettext can extract, with named
placeholders, and nothing translates at import time with the non-lazy gettext (the language is
not known then). Then, when the gettext tools are installed, ``makemessages`` extracts the
sentences; and a French catalog shows they are translated where they are shown or stored.
"""

import array
import ast
import functools
import re
import shutil
import struct
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from chatsite import errors

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "messaging", "groups", "calls", "chatsite")
TRANSLATORS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
               "npgettext", "npgettext_lazy"}
NOT_LAZY = {"gettext", "ngettext", "pgettext", "npgettext"}
# A placeholder without a name ("%s", "%d"): translators cannot reorder it.
UNNAMED_PLACEHOLDER = re.compile(r"%(?!\(|%)[-#0 +]*\d*(?:\.\d+)?[sdifr]")


def _service_errors() -> set[str]:
    found, todo = set(), [errors.ServiceError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


@functools.cache
def _app_files() -> list[tuple[str, ast.Module]]:
    files = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "tests" in relative.parts or "migrations" in relative.parts:
                continue
            files.append((str(relative), ast.parse(path.read_text(), str(relative))))
    return files


def _name(node: ast.AST) -> str | None:
    """``f`` of ``f(...)`` and of ``module.f(...)``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _translation_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> django.utils.translation function, from the module's imports."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name
    return aliases


def _is_translation(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) in TRANSLATORS


def _translated(node: ast.AST) -> bool:
    """A sentence that went through gettext: ``_("...")``, a variable holding one (checked where
    its value is made), either filled in with ``% {...}`` or ``.format(...)``, or a choice between such."""
    if _is_translation(node) or isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _is_translation(node.left) or isinstance(node.left, (ast.Name, ast.Attribute, ast.Subscript))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _is_translation(node.func.value) or isinstance(node.func.value, (ast.Name, ast.Attribute))
    if isinstance(node, ast.IfExp):
        return _translated(node.body) and _translated(node.orelse)
    if isinstance(node, ast.BoolOp):
        return all(_translated(value) for value in node.values)
    return False


def _message_argument(call: ast.Call, position: int, keyword: str) -> ast.AST | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def untranslated_messages(tree: ast.Module, path: str) -> list[str]:
    """Where a ServiceError subclass is raised or built, or a rate limit is hit, with a message
    that did not go through gettext (a literal, an f-string, a concatenation)."""
    service_errors = _service_errors()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in service_errors:
            message = _message_argument(node, 0, "message")
        elif name == "hit" and _name(getattr(node.func, "value", None)) == "ratelimit":
            message = _message_argument(node, 3, "message")  # optional: the default is translated
            if message is None:
                continue
        else:
            continue
        if message is None or not _translated(message):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:100]}")
    return found


def test_service_errors_carry_translated_sentences():
    found = [line for path, tree in _app_files() for line in untranslated_messages(tree, path)]
    assert not found, "wrap the message in _() (django.utils.translation's gettext):\n" + "\n".join(found)


@pytest.mark.parametrize("source, flagged", [
    ('raise NotFound("That message does not exist.")', True),
    ('raise NotAllowed(f"Only admins can {action}.")', True),
    ('raise InvalidInput("You and " + name + " are friends.")', True),
    ('raise InvalidInput("%s is here" % name)', True),
    ('ratelimit.hit("send", 1, "5/m", "Too fast.")', True),
    ('raise NotFound(_("That message does not exist."))', False),
    ('raise InvalidInput(_("%(name)s is here.") % {"name": name}, code=ErrorCode.EMPTY)', False),
    ('raise InvalidInput(ngettext("%(n)s member", "%(n)s members", n) % {"n": n})', False),
    ('raise RateLimited(message or _("Too fast."))', False),
    ('raise InvalidInput(error.messages[0])', False),
    ('raise NotAllowed(blocker_says % {"name": name})', False),
    ('ratelimit.hit("typing", 1, "20/10s")', False),
])
def test_the_check_tells_a_literal_from_a_translation(source, flagged):
    assert bool(untranslated_messages(ast.parse(source), "example.py")) is flagged


def unextractable_messages(tree: ast.Module, path: str) -> list[str]:
    """gettext given something else than a literal (xgettext extracts only those), or a literal
    with unnamed placeholders (a translator cannot reorder them)."""
    found = []
    for node in ast.walk(tree):
        if not _is_translation(node):
            continue
        name = _name(node.func)
        count = 2 if name.startswith(("ngettext", "npgettext")) else 1
        first = 1 if name.startswith(("pgettext", "npgettext")) else 0
        texts = node.args[first:first + count]
        if len(texts) < count or not all(isinstance(t, ast.Constant) and isinstance(t.value, str) for t in texts):
            found.append(f"{path}:{node.lineno}: not a literal: {ast.unparse(node)[:100]}")
        elif any(UNNAMED_PLACEHOLDER.search(t.value) for t in texts):
            found.append(f"{path}:{node.lineno}: use %(name)s placeholders: {ast.unparse(node)[:100]}")
    return found


def _import_time_nodes(tree: ast.Module):
    """The nodes evaluated when the module is imported: module and class bodies, decorators and
    default values, not function bodies."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            todo.extend(node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d])
            continue
        if isinstance(node, ast.Lambda):
            todo.extend(node.args.defaults + [d for d in node.args.kw_defaults if d])
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def import_time_translations(tree: ast.Module, path: str) -> list[str]:
    """The non-lazy gettext called at import, when no language is active yet: labels, choices
    and constants use gettext_lazy."""
    not_lazy = {local for local, original in _translation_aliases(tree).items() if original in NOT_LAZY}
    return [f"{path}:{node.lineno}: {ast.unparse(node)[:100]}" for node in _import_time_nodes(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in not_lazy]


def rebound_underscores(tree: ast.Module, path: str) -> list[str]:
    """``deleted, _ = qs.delete()`` makes ``_`` a local of the whole function: a ``_("...")`` in it
    then raises instead of translating."""
    if "_" not in _translation_aliases(tree):
        return []
    in_comprehensions = {id(n) for c in ast.walk(tree) if isinstance(c, ast.comprehension) for n in ast.walk(c.target)}
    return [f"{path}:{node.lineno}: {ast.unparse(node)}" for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store)
            and id(node) not in in_comprehensions]


@pytest.mark.parametrize("check", [unextractable_messages, import_time_translations, rebound_underscores])
def test_gettext_is_used_so_that_it_translates(check):
    found = [line for path, tree in _app_files() for line in check(tree, path)]
    assert not found, check.__doc__ + "\n" + "\n".join(found)


GETTEXT = "from django.utils.translation import gettext as _, gettext_lazy\n"


@pytest.mark.parametrize("check, source, flagged", [
    (unextractable_messages, 'x = _(f"Hello {name}")', True),
    (unextractable_messages, 'x = _("Hello " + name)', True),
    (unextractable_messages, 'x = _("%s added %s") % (a, b)', True),
    (unextractable_messages, 'x = ngettext("%(n)s member", "%(n)s members", n) % {"n": n}', False),
    (import_time_translations, GETTEXT + 'LABEL = _("Friends")', True),
    (import_time_translations, GETTEXT + 'def hit(message=_("Too fast.")): pass', True),
    (import_time_translations, GETTEXT + 'class A:\n    label = _("Friends")', True),
    (import_time_translations, GETTEXT + 'LABEL = gettext_lazy("Friends")\ndef f(): return _("Friends")', False),
    (rebound_underscores, GETTEXT + 'def f():\n    deleted, _ = qs.delete()', True),
    (rebound_underscores, GETTEXT + 'total = sum(n for _, n in rows)', False),
    (rebound_underscores, 'def f():\n    first, _, last = name.partition(" ")', False),  # no gettext here
])
def test_the_checks_flag_what_they_should(check, source, flagged):
    assert bool(check(ast.parse(source), "example.py")) is flagged


# --- extraction and translation ----------------------------------------------------------------

@pytest.mark.skipif(shutil.which("xgettext") is None, reason="the gettext tools (xgettext) are not installed")
def test_makemessages_extracts_the_sentences(settings, tmp_path, monkeypatch, capsys):
    # On a copy of the sources: makemessages writes its work files beside the templates it reads.
    for folder in (*APPS, "templates"):
        shutil.copytree(ROOT / folder, tmp_path / "src" / folder,
                        ignore=shutil.ignore_patterns("tests", "migrations", "__pycache__"))
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    monkeypatch.chdir(tmp_path / "src")
    call_command("makemessages", locale=["fr"], verbosity=1)
    output = capsys.readouterr()
    assert "warning" not in (output.out + output.err).lower(), output
    catalog = (tmp_path / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_text()
    for expected in (
        'msgid "Only admins can post in this group."',  # a service's error
        'msgid "%(name)s added %(people)s"',  # a system line in a chat
        'msgid "A group can have at most %(max)s member."\nmsgid_plural',  # a count
        'msgid "Who may start a chat with me"',  # a model's verbose name (lazy)
        'msgid "thumbs up"',  # a module-level constant (lazy)
        'msgid "Your settings were saved."',  # a flash message
        "#. Translators: the end of a list of names",  # a note for translators
    ):
        assert expected in catalog, expected


def _write_mo(path: Path, messages: dict[str, str]) -> None:
    """A compiled catalog (GNU .mo) without the gettext tools. A plural entry's key and value
    hold their forms joined by NUL."""
    header = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n"
    entries = sorted((key.encode(), value.encode()) for key, value in {"": header, **messages}.items())
    ids = strs = b""
    spans = []
    for key, value in entries:
        spans.append((len(ids), len(key), len(strs), len(value)))
        ids, strs = ids + key + b"\0", strs + value + b"\0"
    key_start = 7 * 4 + 16 * len(entries)
    value_start = key_start + len(ids)
    key_table = [n for o1, l1, _o2, _l2 in spans for n in (l1, o1 + key_start)]
    value_table = [n for _o1, _l1, o2, l2 in spans for n in (l2, o2 + value_start)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("Iiiiiii", 0x950412DE, 0, len(entries), 7 * 4, 7 * 4 + 8 * len(entries), 0, 0)
                     + array.array("i", key_table + value_table).tobytes() + ids + strs)


@pytest.fixture
def french(settings, tmp_path):
    from messaging import html

    _write_mo(tmp_path / "fr" / "LC_MESSAGES" / "django.mo", {
        "%(name)s created the group “%(title)s”": "%(name)s a créé le groupe « %(title)s »",
        "%(name)s added %(people)s": "%(name)s a ajouté %(people)s",
        "Only admins can post in this group.": "Seuls les admins peuvent écrire dans ce groupe.",
        "Admins only": "Admins seulement",
        "Message from someone you blocked.": "Message d’une personne que vous avez bloquée.",
        "A group can have at most %(max)s member.\0A group can have at most %(max)s members.":
            "Un groupe compte au plus %(max)s membre.\0Un groupe compte au plus %(max)s membres.",
    })
    settings.LOCALE_PATHS = [str(tmp_path)]
    yield
    html._words_in.cache_clear()  # the words of the message HTML, per language


def test_sentences_are_translated_where_they_are_shown_and_stored(french, user_factory, settings):
    from groups.services import create_group
    from messaging.html import render_message_item
    from messaging.models import Conversation, Message
    from messaging.services import send_message

    ana, bo = user_factory("ana", first_name="Ana", last_name=""), user_factory("bo", first_name="Bo", last_name="")
    with translation.override("fr"):
        group = create_group(user=ana, title="Club", member_ids=[bo.pk])
        Conversation.objects.filter(pk=group.pk).update(post_policy=Conversation.Policy.ADMINS)
        with pytest.raises(errors.NotAllowed, match="Seuls les admins peuvent écrire dans ce groupe."):
            send_message(user=bo, conversation_id=group.pk, body="salut")
        assert str(Conversation.Policy.ADMINS.label) == "Admins seulement"  # a lazy choice, read late
        said = send_message(user=ana, conversation_id=group.pk, body="bonjour").message
        french_html = render_message_item(said)
        settings.GROUP_MAX_MEMBERS = 1
        with pytest.raises(errors.InvalidInput, match="Un groupe compte au plus 1 membre."):
            create_group(user=ana, title="Duo", member_ids=[bo.pk])

    # A system line is stored in the language it was written in: everyone reads the same line.
    lines = list(Message.objects.filter(conversation=group, kind=Message.Kind.SYSTEM).values_list("body", flat=True))
    assert lines == ["Ana a créé le groupe « Club »", "Ana a ajouté Bo"]
    assert "Message d’une personne que vous avez bloquée." in french_html
    assert "Message from someone you blocked." in render_message_item(said)
    with pytest.raises(errors.InvalidInput, match=r"^A group can have at most 1 member\.$"):  # "1 members" before
        create_group(user=ana, title="Duo", member_ids=[bo.pk])
