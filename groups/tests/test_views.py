import pytest
from django.urls import reverse

from conftest import make_user
from groups import services
from messaging import services as message_services
from messaging.models import Conversation, Membership

pytestmark = pytest.mark.django_db


def test_create_group_over_http_with_members(client):
    olga, mia = make_user("olga"), make_user("mia", first_name="Mia")
    client.force_login(olga)
    assert client.get(reverse("group_create")).status_code == 200
    picker = client.get(reverse("group_people_picker") + "?q=mi", HTTP_HX_REQUEST="true").content.decode()
    assert 'name="members"' in picker and "Mia" in picker
    response = client.post(reverse("group_create"), {"title": "Book club", "members": [mia.pk]})
    group = Conversation.objects.get(title="Book club")
    assert response["Location"] == reverse("conversation", args=[group.pk])
    assert set(Membership.objects.filter(conversation=group).values_list("user__username", "role")) == {
        ("olga", "owner"), ("mia", "member")}
    page = client.get(response["Location"]).content.decode()
    assert "2 members" in page and "Book club" in page and 'id="chat-members"' in page


def test_create_group_with_no_name_shows_the_error(client):
    client.force_login(make_user("olga"))
    response = client.post(reverse("group_create"), {"title": "  "})
    assert response.status_code == 400 and "A group needs a name." in response.content.decode()
    assert not Conversation.objects.exists()


def test_a_refused_new_group_keeps_the_people_picked_as_chips(client):
    olga, mia = make_user("olga"), make_user("mia", first_name="Mia", last_name="Moss")
    gone = make_user("gone", first_name="Gone", is_active=False)
    client.force_login(olga)
    response = client.post(reverse("group_create"), {"title": " ", "members": [mia.pk, "junk", gone.pk, olga.pk, mia.pk]})
    page = response.content.decode()
    assert response.status_code == 400 and "A group needs a name." in page
    assert page.count('aria-label="Remove Mia Moss"') == 1 and page.count(f'name="members" value="{mia.pk}"') == 1
    assert "Remove Gone" not in page and f'name="members" value="{olga.pk}"' not in page


def test_info_page_shows_roles_and_admin_controls(client, crew):
    client.force_login(crew["owner"])
    page = client.get(reverse("group_info", args=[crew["group"].pk])).content.decode()
    assert "Owner" in page and "Admin" in page and "Save settings" in page and "Delete group" in page
    client.force_login(crew["member"])
    page = client.get(reverse("group_info", args=[crew["group"].pk])).content.decode()
    assert "Save settings" not in page and "Delete group" not in page and "Leave group" in page


def test_invitations_page_accept(client, crew):
    invitation = services.invite(user=crew["owner"], conversation_id=crew["group"].pk, invitee_id=crew["outsider"].pk)
    client.force_login(crew["outsider"])
    page = client.get(reverse("invitations")).content.decode()
    assert "Crew" in page and "Olga Tester invited you" in page
    response = client.post(reverse("invitation_accept", args=[invitation.pk]))
    assert response["Location"] == reverse("conversation", args=[crew["group"].pk])
    assert Membership.objects.filter(conversation=crew["group"], user=crew["outsider"]).exists()


def test_seen_by_list_on_demand(client, crew):
    message = message_services.send_message(user=crew["owner"], conversation_id=crew["group"].pk, body="read me").message
    message_services.mark_read(user=crew["member"], conversation_id=crew["group"].pk, seq=message.seq)
    client.force_login(crew["owner"])
    listing = client.get(reverse("seen_by", args=[message.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "Seen by 1" in listing and "Mia Tester" in listing and "Adam Tester" not in listing
    client.force_login(crew["outsider"])
    assert client.get(reverse("seen_by", args=[message.pk]), HTTP_HX_REQUEST="true").status_code == 404


def test_seen_by_leaves_out_who_joined_after_the_message(client, crew):
    # A newcomer's watermark starts at the last message (its history is not unread for them); that
    # is no sign they saw it. The chat page's "Seen by N" (timeline.js) counts by the same rule.
    message = message_services.send_message(user=crew["owner"], conversation_id=crew["group"].pk, body="read me").message
    message_services.mark_read(user=crew["member"], conversation_id=crew["group"].pk, seq=message.seq)
    services.add_members(user=crew["owner"], conversation_id=crew["group"].pk, user_ids=[crew["outsider"].pk])
    assert Membership.objects.get(conversation=crew["group"], user=crew["outsider"]).last_read_seq >= message.seq
    client.force_login(crew["owner"])
    listing = client.get(reverse("seen_by", args=[message.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "Seen by 1" in listing and "Mia Tester" in listing and "Nina" not in listing


def test_mentions_page(client, crew):
    message_services.send_message(user=crew["member"], conversation_id=crew["group"].pk, body="@adam ping")
    client.force_login(crew["admin"])
    page = client.get(reverse("mentions")).content.decode()
    assert "ping" in page and "<h1>Mentions</h1>" in page


def _png(size=(300, 200), color="red"):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", size, color).save(data, format="PNG")
    return SimpleUploadedFile("picture.png", data.getvalue(), content_type="image/png")


def test_group_picture_is_squared_and_served_to_members_only(client, crew):
    from PIL import Image

    client.force_login(crew["admin"])
    response = client.post(reverse("group_update", args=[crew["group"].pk]), {"title": "Crew", "avatar": _png()})
    assert response.status_code == 302
    group = Conversation.objects.get(pk=crew["group"].pk)
    with group.avatar.open("rb") as stored:
        assert Image.open(stored).size == (256, 256)
    served = client.get(reverse("group_avatar", args=[group.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    client.force_login(crew["outsider"])
    assert client.get(reverse("group_avatar", args=[group.pk])).status_code == 404


def test_a_non_image_group_picture_is_refused_and_nothing_changes(client, crew):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(crew["owner"])
    fake = SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png")
    response = client.post(reverse("group_update", args=[crew["group"].pk]), {"title": "Renamed", "avatar": fake},
                           follow=True, HTTP_REFERER=reverse("group_info", args=[crew["group"].pk]))
    assert "That file is not an image we can read." in response.content.decode()
    group = Conversation.objects.get(pk=crew["group"].pk)
    assert group.title == "Crew" and not group.avatar
