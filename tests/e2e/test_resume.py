"""The tab's side of resume, against a scripted server: Playwright answers the page's socket, so
the test decides the order of hello, live events, refusals and history pages, and the close codes.
The page itself comes from the live server, as any chat page does."""

import json

import pytest
from playwright.sync_api import expect

from conftest import make_user
from messaging import services
from messaging.events import render_message
from messaging.models import Message

from .chat_helpers import sign_in

pytestmark = pytest.mark.e2e


class ScriptedServer:
    """Stands in for /ws/: records the frames each connection sends; the test answers."""

    def __init__(self, page):
        self.connections = []
        page.route_web_socket("**/ws/", self._connect)

    def _connect(self, ws):
        frames = []
        ws.on_message(lambda text: frames.append(json.loads(text)))
        self.connections.append((ws, frames))
        ws.send(json.dumps({"type": "hello", "user_id": 0}))

    @property
    def ws(self):
        return self.connections[-1][0]

    def resumes(self, page, count: int) -> list[dict]:
        """Waits until the newest connection has sent ``count`` resume frames; returns them."""
        for _ in range(200):
            found = [f for f in self.connections[-1][1] if f["type"] == "resume"] if self.connections else []
            if len(found) >= count:
                return found
            page.wait_for_timeout(50)
        raise AssertionError(f"the page sent {len(found)} resume frames, not {count}")

    def wait_for_connections(self, page, count: int) -> None:
        for _ in range(200):
            if len(self.connections) >= count:
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"the page opened {len(self.connections)} sockets, not {count}")

    def send(self, frame: dict) -> None:
        self.ws.send(json.dumps(frame))


def history(conversation, after_seq, messages, *, more):
    return {"type": "history", "conversation": conversation, "after_seq": after_seq, "more": more,
            "messages": [{"seq": m.seq, "id": m.pk, "client_id": "", "sender_id": m.sender_id,
                          "html": render_message(m)} for m in messages]}


def live(m):
    return {"type": "message.created", "conversation": m.conversation_id, "seq": m.seq, "id": m.pk,
            "sender_name": m.sender.display_name, "preview": m.preview, "client_id": "", "sender_id": m.sender_id,
            "created_at": m.created_at.isoformat(), "html": render_message(m, new=True)}


def shown_bodies(page) -> list[str]:
    return [text.strip() for text in page.locator("#messages > li.msg .msg-body").all_inner_texts()]


def test_resume_is_retried_complete_and_applied_once_whatever_the_order(page, off_loop):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)

    def say(*texts):
        for text in texts:
            services.send_message(user=ana, conversation_id=chat.pk, body=text)

    off_loop(say, "one", "two")
    sign_in(page, "bo")
    expect(page.locator("body[data-socket=open]")).to_be_attached()  # the home page's own socket: not scripted
    server = ScriptedServer(page)
    page.goto(f"/c/{chat.pk}/")
    expect(page.locator("body[data-socket=open]")).to_be_attached()
    # Stored after the page was rendered, before its socket said hello: the first resume finds them.
    off_loop(say, *["three", "four", "five", "six", "seven", "eight", "nine"])
    m = {message.seq: message for message in Message.objects.filter(conversation=chat).select_related("sender")}

    # The first resume is refused (rate-limited): the tab asks again later, from the same place,
    # though message 9 arrived live in between (live events may come in any order, or not at all).
    first = server.resumes(page, 1)[0]
    assert (first["conversation"], first["after_seq"]) == (chat.pk, 2)
    server.send({"type": "error", "code": "rate_limited", "error": "Too many requests.", "for": "resume",
                 "client_id": None, "conversation": chat.pk})
    server.send(live(m[9]))
    second = server.resumes(page, 2)[1]
    assert second["after_seq"] == 2, "resume asks from the first missing message, not from the newest"

    # The answer comes in two pages: the tab follows `more`; a page sent twice changes nothing.
    server.send(history(chat.pk, 2, [m[3], m[4], m[5]], more=True))
    third = server.resumes(page, 3)[2]
    assert third["after_seq"] == 5
    server.send(history(chat.pk, 2, [m[3], m[4], m[5]], more=True))  # a late duplicate
    server.send(history(chat.pk, 5, [m[6], m[7], m[8], m[9]], more=False))
    expect(page.get_by_role("log", name="Messages").get_by_text("eight", exact=True)).to_be_visible()
    assert shown_bodies(page) == ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

    # Close code 4001 (this socket fell behind): the tab comes straight back and resumes again.
    server.ws.close(code=4001, reason="too slow")
    server.wait_for_connections(page, 2)
    off_loop(say, "ten")
    m[10] = Message.objects.select_related("sender").get(conversation=chat, seq=10)
    fourth = server.resumes(page, 1)[0]
    assert fourth["after_seq"] == 9
    server.send(history(chat.pk, 9, [m[10]], more=False))
    expect(page.get_by_role("log", name="Messages").get_by_text("ten", exact=True)).to_be_visible()
    assert shown_bodies(page) == ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

    # Signed out (4401): the page says so and stays put.
    server.ws.close(code=4401, reason="signed out")
    expect(page.get_by_role("status").filter(has_text="Your session has ended. Please sign in again.")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_too_many_sockets_waits_and_says_so(new_page, off_loop, shoot, scheme):
    ana = make_user("ana", first_name="Ana", last_name="Lima")
    bo = make_user("bo", first_name="Bo", last_name="Berg")
    chat = off_loop(services.get_or_create_direct_conversation, user=ana, other_id=bo.pk)
    off_loop(services.send_message, user=ana, conversation_id=chat.pk, body="Are you there, Bo?")
    page = new_page(color_scheme=scheme)
    sign_in(page, "bo")
    expect(page.locator("body[data-socket=open]")).to_be_attached()  # the home page's own socket: not scripted
    server = ScriptedServer(page)
    page.goto(f"/c/{chat.pk}/")
    server.resumes(page, 1)
    server.send({"type": "history", "conversation": chat.pk, "after_seq": 1, "more": False, "messages": []})
    # Close code 4429: this person has too many sockets open. The tab says so and waits 30 s.
    server.ws.close(code=4429, reason="too many sockets")
    banner = page.get_by_role("status").filter(has_text="You are connected from too many tabs or devices.")
    expect(banner).to_be_visible()
    shoot(page, "chat-too-many-sockets")
    assert len(server.connections) == 1, "no new socket before the 30 s are up"
