"""The AI assistant against a fake OpenAI-compatible server (real HTTP and SSE on 127.0.0.1):
streaming over the socket, Stop, every failure, the limits, and what each prompt may contain."""


import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from accounts.models import User
from conftest import make_user
from messaging import assistant, services
from messaging.models import AssistantUsage, Conversation, Membership, Message

from .test_consumer import connect, next_of_type

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@pytest.fixture
def ana(db):
    return make_user("ana", first_name="Ana", last_name="Lima")


def _chat(user):
    return assistant.get_or_create_assistant_conversation(user=user)


async def ask(ws, conversation_id, body, client_id):
    await ws.send_json_to({"type": "message.send", "conversation": conversation_id, "body": body,
                           "client_id": client_id})


async def until_finished(ws, timeout=10):
    """Every assistant frame up to and with assistant.finished: (deltas' text, created, finished)."""
    text, created = "", []
    while True:
        frame = await ws.receive_json_from(timeout=timeout)
        if frame["type"] == "message.delta":
            text += frame["text"]
        elif frame["type"] == "message.created":
            created.append(frame)
        elif frame["type"] == "assistant.finished":
            return text, created, frame


async def stored(conversation_id):
    return await db(lambda: list(Message.objects.filter(conversation_id=conversation_id).order_by("seq")
                                 .values_list("kind", "body", "sender__is_bot")))()


async def test_a_streamed_answer_reaches_every_tab_and_is_stored_once(fake_openai, ana):
    chat = await db(_chat)(ana)
    tab1, _, _ = await connect(ana)
    tab2, _, _ = await connect(ana)
    await ask(tab1, chat.pk, "Say hello", "q1")
    await next_of_type(tab1, "message.ack")
    started = await next_of_type(tab2, "assistant.started")
    assert started["conversation"] == chat.pk and started["name"] == "Assistant"
    for tab in (tab1, tab2):
        text, created, finished = await until_finished(tab)
        assert text == "Hello there! How can I help?"  # deltas carry only the new text, chunk by chunk
        assert finished["status"] == "done" and finished["stream"] == started["stream"]
        answer = [c for c in created if c["id"] == finished["message_id"]]
        assert answer and "Hello there! How can I help?" in answer[0]["html"]
    rows = await stored(chat.pk)
    assert rows == [("text", "Say hello", False), ("text", "Hello there! How can I help?", True)]
    request = fake_openai.requests[-1]
    assert request["stream"] is True and request["model"] == "fake-model"
    assert request["messages"][0]["role"] == "system" and "Ana Lima" in request["messages"][0]["content"]
    assert request["messages"][-1] == {"role": "user", "content": "Say hello"}
    usage = await db(AssistantUsage.objects.get)(user=ana)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.requests) == (42, 8, 1)  # from the API's usage
    await tab1.disconnect()
    await tab2.disconnect()


async def test_history_goes_with_the_next_question_and_usage_is_counted_without_api_usage(fake_openai, ana):
    chat = await db(_chat)(ana)
    ws, _, _ = await connect(ana)
    await ask(ws, chat.pk, "First question", "q1")
    await until_finished(ws)
    fake_openai.default = "no_usage"
    await ask(ws, chat.pk, "Second question", "q2")
    _, _, finished = await until_finished(ws)
    assert finished["status"] == "done"
    roles = [(m["role"], m["content"]) for m in fake_openai.requests[-1]["messages"][1:]]
    assert roles == [("user", "First question"), ("assistant", "Hello there! How can I help?"),
                     ("user", "Second question")]
    usage = await db(AssistantUsage.objects.get)(user=ana)
    assert usage.requests == 2 and usage.completion_tokens == 8 + assistant.estimate_tokens("Hello there! How can I help?")
    await ws.disconnect()


async def test_stop_mid_stream_keeps_what_was_written_and_counts_usage(fake_openai, ana):
    chat = await db(_chat)(ana)
    fake_openai.default = "slow"
    asker, _, _ = await connect(ana)
    other_tab, _, _ = await connect(ana)
    await ask(asker, chat.pk, "Tell me a long story", "q1")
    started = await next_of_type(asker, "assistant.started")
    first = await next_of_type(other_tab, "message.delta")
    assert first["text"] == "Hello"
    await other_tab.send_json_to({"type": "assistant.stop", "conversation": chat.pk, "stream": started["stream"]})
    text, _, finished = await until_finished(other_tab)
    assert finished["status"] == "stopped"
    written = "Hello" + text
    rows = await stored(chat.pk)
    assert rows[-1] == ("text", written.strip(), True)
    assert len(written) < len("Hello there! How can I help?")
    usage = await db(AssistantUsage.objects.get)(user=ana)
    assert usage.requests == 1 and usage.completion_tokens == assistant.estimate_tokens(written.strip())
    assert not assistant.running_streams()
    await asker.disconnect()
    await other_tab.disconnect()


async def test_someone_else_cannot_stop_an_answer(fake_openai, ana):
    bo = await db(make_user)("bo")
    chat = await db(_chat)(ana)
    fake_openai.default = "slow"
    fake_openai.tokens = ["a", "b", "c"]
    ana_ws, _, _ = await connect(ana)
    bo_ws, _, _ = await connect(bo)
    await ask(ana_ws, chat.pk, "Go", "q1")
    started = await next_of_type(ana_ws, "assistant.started")
    await bo_ws.send_json_to({"type": "assistant.stop", "conversation": chat.pk, "stream": started["stream"]})
    refused = await next_of_type(bo_ws, "error")
    assert refused["code"] == "not_member"
    _, _, finished = await until_finished(ana_ws)
    assert finished["status"] == "done"
    await ana_ws.disconnect()
    await bo_ws.disconnect()


@pytest.mark.parametrize(("behaviour", "words"), [
    ("401", "refused its key"),
    ("429", "busy"),
    ("500", "answered with an error (500)"),
    ("context", "too long"),
    ("filter", "declined"),
    ("hang", "took too long"),
    ("refused", "cannot reach"),
])
async def test_each_failure_is_a_clear_line_and_the_question_is_kept(fake_openai, settings, ana, behaviour, words):
    chat = await db(_chat)(ana)
    settings.ASSISTANT_TIMEOUT_SECONDS = 0.5
    if behaviour == "refused":
        settings.OPENAI_BASE_URL = fake_openai.refused_url()
    else:
        fake_openai.default = behaviour
    ws, _, _ = await connect(ana)
    await ask(ws, chat.pk, "Will this work?", "q1")
    ack = await next_of_type(ws, "message.ack")
    assert ack["seq"] == 1
    _, _, finished = await until_finished(ws)
    assert finished["status"] == "failed" and words in finished["error"]
    rows = await stored(chat.pk)
    assert rows[0] == ("text", "Will this work?", False)
    assert rows[1][0] == "system" and words in rows[1][1]  # the line stays after a reload
    assert len(rows) == 2  # nothing half-written (a filtered answer's text is not kept)
    await ws.disconnect()


async def test_the_monthly_budget_stops_questions_with_a_clear_message(fake_openai, settings, ana):
    chat = await db(_chat)(ana)
    settings.ASSISTANT_MONTHLY_TOKENS = 100
    await db(AssistantUsage.objects.create)(user=ana, month=assistant.this_month(), prompt_tokens=90,
                                            completion_tokens=10, requests=3)
    ws, _, _ = await connect(ana)
    await ask(ws, chat.pk, "One more?", "q1")
    finished = await next_of_type(ws, "assistant.finished")
    assert finished["status"] == "failed" and finished["code"] == "over_budget"
    assert "this month's assistant budget" in finished["error"]
    assert not fake_openai.requests
    rows = await stored(chat.pk)
    assert rows[0] == ("text", "One more?", False) and rows[1][0] == "system"
    # Last month's usage does not count against this month.
    await db(AssistantUsage.objects.filter(user=ana).update)(month=timezone.now().date().replace(day=1, year=2000))
    await ask(ws, chat.pk, "And now?", "q2")
    _, _, finished = await until_finished(ws)
    assert finished["status"] == "done"
    await ws.disconnect()


async def test_the_rate_limit_refuses_with_a_clear_message(fake_openai, settings, ana):
    chat = await db(_chat)(ana)
    settings.ASSISTANT_RATE_LIMIT = "1/h"
    ws, _, _ = await connect(ana)
    await ask(ws, chat.pk, "First", "q1")
    _, _, finished = await until_finished(ws)
    assert finished["status"] == "done"
    await ask(ws, chat.pk, "Second", "q2")
    finished = await next_of_type(ws, "assistant.finished")
    assert finished["status"] == "failed" and finished["code"] == "rate_limited"
    assert "too often" in finished["error"]
    assert len(fake_openai.requests) == 1
    await ws.disconnect()


async def test_assistant_in_a_group_sees_only_that_chats_messages(fake_openai, ana):
    bo, cy = await db(make_user)("bo"), await db(make_user)("cy")
    group = await db(_group)(ana, [bo, cy], "Trip")
    other = await db(_group)(ana, [bo], "Secret plans")
    await db(services.send_message)(user=bo, conversation_id=other.pk, body="the secret is 42")
    await db(services.send_message)(user=cy, conversation_id=group.pk, body="Where do we meet?")
    private = await db(_chat)(ana)
    ana_ws, _, _ = await connect(ana)
    await ask(ana_ws, private.pk, "my private question", "p1")
    await until_finished(ana_ws)  # (the private chat's own answer)
    cy_ws, _, _ = await connect(cy)
    await ask(ana_ws, group.pk, "@assistant what did Cy ask?", "q1")
    text, created, finished = await until_finished(cy_ws)  # the other members see it stream and land
    assert finished["status"] == "done" and finished["conversation"] == group.pk and text
    prompt = fake_openai.prompt_text()
    assert "Cy Tester: Where do we meet?" in prompt and "Ana Lima: @assistant what did Cy ask?" in prompt
    assert "secret" not in prompt and "private question" not in prompt
    rows = await stored(group.pk)
    assert rows[-1][2] is True
    await ana_ws.disconnect()
    await cy_ws.disconnect()


async def test_without_a_mention_or_an_endpoint_nothing_answers(fake_openai, settings, ana):
    bo = await db(make_user)("bo")
    group = await db(_group)(ana, [bo], "Quiet")
    ws, _, _ = await connect(ana)
    await ask(ws, group.pk, "no mention here, assistant", "q1")
    await next_of_type(ws, "message.ack")
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "", None
    await ask(ws, group.pk, "@assistant are you there?", "q2")
    await next_of_type(ws, "message.ack")
    chat = await db(_chat)(ana)
    await ask(ws, chat.pk, "hello?", "q3")
    await next_of_type(ws, "message.ack")
    seen = []
    while not await ws.receive_nothing(timeout=0.5):
        seen.append((await ws.receive_json_from())["type"])
    assert not [kind for kind in seen if kind.startswith("assistant.") or kind == "message.delta"]
    assert not fake_openai.requests
    assert not [r for r in await stored(group.pk) if r[2]]
    assert [r[1] for r in await stored(chat.pk)] == ["hello?"]
    await ws.disconnect()


async def test_summary_of_unread_uses_only_that_chat_and_needs_membership(fake_openai, ana):
    bo, cy = await db(make_user)("bo"), await db(make_user)("cy")
    group = await db(_group)(bo, [ana, cy], "Book club")
    elsewhere = await db(_group)(bo, [cy], "Not Ana's")
    old = await db(services.send_message)(user=bo, conversation_id=group.pk, body="old news")
    await db(services.mark_read)(user=ana, conversation_id=group.pk, seq=old.message.seq)
    await db(services.send_message)(user=bo, conversation_id=group.pk, body="We read chapter 3 on Friday")
    await db(services.send_message)(user=cy, conversation_id=group.pk, body="I'll bring tea")
    await db(services.send_message)(user=bo, conversation_id=elsewhere.pk, body="a surprise party for Ana")
    # (A socket opened before the assistant chat existed joins it only when it hears conversation.joined,
    # racing the first answer's events: the page the summary redirects to loads the stored answer then.)
    await db(_chat)(ana)
    ws, _, _ = await connect(ana)
    with pytest.raises(Exception) as refused:
        await db(assistant.request_summary)(user=ana, conversation_id=elsewhere.pk)
    assert getattr(refused.value, "code", None) == "not_member"
    target = await db(assistant.request_summary)(user=ana, conversation_id=group.pk)
    assert target.kind == Conversation.Kind.ASSISTANT
    _, _, finished = await until_finished(ws)
    assert finished["status"] == "done" and finished["conversation"] == target.pk
    assert len(fake_openai.requests) == 1
    prompt = fake_openai.prompt_text()
    assert "We read chapter 3 on Friday" in prompt and "I'll bring tea" in prompt
    assert "old news" not in prompt and "surprise party" not in prompt
    rows = await stored(target.pk)
    assert rows[-1][1].startswith("**Summary of unread messages in “Book club”**") and rows[-1][2] is True
    assert not [r for r in await stored(group.pk) if r[2]]  # the group itself got nothing
    await ws.disconnect()


def _group(owner, members, title):
    from groups import services as group_services

    return group_services.create_group(user=owner, title=title, member_ids=[m.pk for m in members])


def test_the_bot_cannot_sign_in_be_found_or_messaged(db, client, alice):
    bot = assistant.get_bot()
    assert bot.is_bot and not bot.is_active and not bot.has_usable_password()
    assert assistant.get_bot().pk == bot.pk
    assert not client.login(username=bot.username, password="")
    from accounts.selectors import search_people

    assert bot not in search_people(alice, "assist")
    with pytest.raises(Exception) as refused:
        services.get_or_create_direct_conversation(user=alice, other_id=bot.pk)
    assert getattr(refused.value, "code", None) == "not_found"


def test_the_assistant_chat_is_one_per_person_and_pinned(db, alice):
    first = assistant.get_or_create_assistant_conversation(user=alice)
    assert assistant.get_or_create_assistant_conversation(user=alice).pk == first.pk
    membership = Membership.objects.get(conversation=first, user=alice)
    assert membership.pinned and first.kind == Conversation.Kind.ASSISTANT
    assert User.objects.filter(is_bot=True).count() <= 1


def test_admins_see_and_reset_usage(db, client, alice):
    admin = make_user("root1", is_staff=True, is_superuser=True)
    row = AssistantUsage.objects.create(user=alice, month=assistant.this_month(), prompt_tokens=500,
                                        completion_tokens=200, requests=7)
    client.force_login(admin)
    page = client.get("/admin/messaging/assistantusage/")
    assert page.status_code == 200 and b"alice" in page.content and b"700" in page.content
    done = client.post("/admin/messaging/assistantusage/", {"action": "reset_usage", "_selected_action": [row.pk]})
    assert done.status_code == 302
    row.refresh_from_db()
    assert (row.prompt_tokens, row.completion_tokens, row.requests) == (0, 0, 0)


def test_the_pages_offer_the_assistant_and_say_how_to_turn_it_on(db, settings, alice_client, alice, bob, send):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "", None
    opened = alice_client.get("/assistant/", follow=True)
    assert b"An operator turns it on by setting OPENAI_API_KEY" in opened.content
    conversation = assistant.get_or_create_assistant_conversation(user=alice)
    assert b'href="/assistant/"' in opened.content and b"img/assistant" in opened.content
    message = send(bob, "unread for alice")
    page = alice_client.get(f"/c/{message.conversation_id}/")
    assert b"Summarise unread" not in page.content  # off: nothing else changes
    settings.OPENAI_API_KEY = "sk-test"
    page = alice_client.get(f"/c/{message.conversation_id}/")
    assert b"Summarise unread" in page.content
    assert b"An operator turns it on" not in alice_client.get(f"/c/{conversation.pk}/").content
    refused = alice_client.post(f"/c/{conversation.pk}/summarise/")  # the assistant chat itself: refused
    assert refused.status_code == 302 and refused["Location"] != f"/c/{conversation.pk}/"


def test_the_http_send_path_gets_an_answer_too(fake_openai, client, ana):
    """The htmx POST (the site's send while the socket is down) triggers the same answer."""
    chat = assistant.get_or_create_assistant_conversation(user=ana)
    client.force_login(ana)
    response = client.post(f"/c/{chat.pk}/send/", {"body": "Asked over HTTP", "client_id": "h1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Asked over HTTP" in response.content
    # Without an event loop (the test client), the answer runs to its end before the response.
    bodies = list(Message.objects.filter(conversation=chat).order_by("seq").values_list("body", flat=True))
    assert bodies == ["Asked over HTTP", "Hello there! How can I help?"]
    assert fake_openai.requests[-1]["messages"][-1]["content"] == "Asked over HTTP"
