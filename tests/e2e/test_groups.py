"""Three people and a group: create, invite, accept, chat live, mention, remove."""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_user
from messaging.models import Conversation

from .a11y import assert_accessible
from .chat_helpers import message_item, message_log, open_chat, send, sign_in
from .conftest import DESKTOP

pytestmark = pytest.mark.e2e


def test_group_life(new_page, shoot):
    make_user("olga", first_name="Olga", last_name="Ortiz")
    make_user("mia", first_name="Mia", last_name="Moss")
    make_user("nina", first_name="Nina", last_name="Novak")
    olga, mia, nina = new_page(), new_page(), new_page()
    for page, name in ((olga, "olga"), (mia, "mia"), (nina, "nina")):
        sign_in(page, name)
    nina.wait_for_selector("body[data-socket=open]", state="attached")

    # Olga creates the group with Mia in it.
    olga.get_by_role("link", name="New group").click()
    olga.get_by_label("Group name").fill("Trip to Porto")
    olga.get_by_label("Find people to add").fill("mi")
    olga.get_by_role("checkbox", name=re.compile("Mia Moss")).check()
    shoot(olga, "group-create")
    olga.get_by_role("button", name="Create group").click()
    expect(olga.get_by_role("heading", level=1)).to_have_text("Trip to Porto")
    expect(olga.get_by_text("2 members · group info")).to_be_visible()
    group = Conversation.objects.get(title="Trip to Porto")

    # Olga invites Nina; Nina sees the invitation arrive live and joins.
    olga.get_by_role("link", name="2 members · group info").click()
    olga.get_by_label("Find people by name, username or email").fill("nin")
    olga.get_by_role("button", name="Invite Nina Novak").click()
    expect(olga.get_by_text("Nina Novak was invited.")).to_be_visible()
    shoot(olga, "group-info")
    expect(nina.get_by_role("link", name=re.compile(r"^Invitations 1"))).to_be_visible()
    nina.get_by_role("link", name=re.compile(r"^Invitations")).click()
    nina.get_by_role("button", name="Join Trip to Porto").click()
    expect(nina.get_by_role("heading", level=1)).to_have_text("Trip to Porto")
    nina.wait_for_selector("body[data-socket=open]", state="attached")

    # Everyone chats live.
    open_chat(olga, group.pk)
    open_chat(mia, group.pk)
    send(olga, "Hello travellers")
    expect(message_log(mia).get_by_text("Hello travellers")).to_be_visible()
    expect(message_log(nina).get_by_text("Hello travellers")).to_be_visible()
    expect(message_item(olga, "Hello travellers").get_by_role("button", name="Seen by 2")).to_be_visible()

    # Mia mentions Nina with the autocomplete.
    box = mia.get_by_role("textbox", name="Message")
    box.press_sequentially("@ni")
    expect(mia.get_by_role("option", name=re.compile("Nina Novak"))).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value("@nina ")
    box.press_sequentially("bring sunscreen")
    box.press("Enter")
    mention = message_item(nina, "bring sunscreen")
    expect(mention.locator("strong", has_text="@nina")).to_be_visible()
    shoot(nina, "group-chat")

    # Olga removes Mia: Mia's page says so at once and she gets nothing sent afterwards.
    olga.goto(f"/g/{group.pk}/")
    olga.get_by_role("button", name="Remove Mia Moss from the group").click()
    expect(olga.get_by_text("The member was removed.")).to_be_visible()
    expect(mia.get_by_text("You are no longer a member of this conversation.")).to_be_visible()
    expect(mia.get_by_role("textbox", name="Message")).to_be_disabled()
    open_chat(olga, group.pk)
    send(olga, "secret plan for the two of us")
    expect(message_log(nina).get_by_text("secret plan for the two of us")).to_be_visible()
    mia.wait_for_timeout(500)
    expect(message_log(mia).get_by_text("secret plan for the two of us")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_new_group_keeps_every_pick_as_a_removable_chip(new_page, shoot, scheme):
    """People ticked before another search stay chosen, each a chip with its own remove button."""
    make_user("olga", first_name="Olga", last_name="Ortiz")
    make_user("alice", first_name="Alice", last_name="Adams")
    make_user("bob", first_name="Bob", last_name="Brown")
    make_user("carol", first_name="Carol", last_name="Clark")
    page = new_page(color_scheme=scheme)
    sign_in(page, "olga")
    page.goto("/groups/new/")
    page.get_by_label("Group name").fill("Book club")
    search = page.get_by_label("Find people to add")
    chosen = page.get_by_role("list", name="People to add")
    expect(chosen).to_be_hidden()  # nobody yet: no empty box

    for query, name in (("ali", "Alice Adams"), ("bo", "Bob Brown"), ("car", "Carol Clark")):
        search.fill(query)
        page.get_by_role("checkbox", name=re.compile(name)).check()
        expect(chosen.get_by_role("button", name=f"Remove {name}")).to_be_visible()
    search.press("Enter")  # searches again; it does not submit the form
    expect(page.get_by_role("checkbox", name=re.compile("Carol Clark"))).to_be_checked()
    expect(chosen.get_by_role("listitem")).to_have_count(3)
    assert chosen.bounding_box()["y"] < search.bounding_box()["y"], "the chips are above the search"
    assert_accessible(page)
    shoot(page, "group-picker-chips", widths=(("desktop", DESKTOP), ("390", {"width": 390, "height": 844})))

    # Carol's chip goes, and her tick with it; focus stays in the picker.
    chosen.get_by_role("button", name="Remove Carol Clark").click()
    expect(page.get_by_role("checkbox", name=re.compile("Carol Clark"))).not_to_be_checked()
    expect(chosen.get_by_role("listitem")).to_have_count(2)
    expect(chosen.get_by_role("button", name="Remove Bob Brown")).to_be_focused()
    # Searching for Alice again shows her as already ticked; unticking her there removes her chip.
    search.fill("al")
    expect(page.get_by_role("checkbox", name=re.compile("Alice Adams"))).to_be_checked()

    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book club")
    expect(page.get_by_text("3 members · group info")).to_be_visible()
    group = Conversation.objects.get(title="Book club")
    assert sorted(group.memberships.values_list("user__username", flat=True)) == ["alice", "bob", "olga"]

