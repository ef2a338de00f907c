"""What a person does in the chat UI, found by role and accessible name."""

import re

from playwright.sync_api import expect

from conftest import PASSWORD


class DroppableSocket:
    """Routes a page's WebSocket through the test so the test can cut it, like a network drop."""

    def __init__(self, page):
        self.online = True
        self.routes = []
        page.route_web_socket(re.compile(r"/ws/$"), self._route)

    def _route(self, ws):
        if not self.online:
            ws.close(code=4000, reason="offline")
            return
        ws.connect_to_server()
        self.routes.append(ws)

    def drop(self):
        self.online = False
        for ws in self.routes:
            ws.close(code=4000, reason="network drop")
        self.routes.clear()

    def restore(self):
        self.online = True


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def open_chat(page, conversation_id: int) -> None:
    page.goto(f"/c/{conversation_id}/")
    page.wait_for_selector("body[data-socket=open]", state="attached")


def send(page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def message_log(page):
    return page.get_by_role("log", name="Messages")


def message_item(page, text: str):
    # The first match: later replies quote the text too.
    return message_log(page).get_by_role("listitem").filter(has_text=text).first


def message_action(page, text: str, action: str):
    item = message_item(page, text)
    item.get_by_label(re.compile(r"^Actions for message from")).click()
    return item.get_by_role("button", name=action, exact=True)
