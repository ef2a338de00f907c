import re

import pytest
from django.urls import reverse

from accounts.models import User


@pytest.mark.django_db
def test_signup_sends_code_and_verifying_signs_in(client, mailoutbox):
    response = client.post(reverse("account_signup"), {
        "email": "ana@example.com", "username": "ana", "first_name": "Ana", "last_name": "Lima",
        "password1": "a sturdy passphrase 9", "password2": "a sturdy passphrase 9",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="ana")
    assert (user.first_name, user.last_name) == ("Ana", "Lima")
    assert len(mailoutbox) == 1
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mailoutbox[0].body, re.M).group(1)
    page = client.get(response["Location"])
    assert page.status_code == 200
    response = client.post(response["Location"], {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
