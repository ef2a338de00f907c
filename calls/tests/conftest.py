import pytest

from conftest import make_user
from groups import services as group_services


@pytest.fixture
def carol(db):
    return make_user("carol", first_name="Carol", last_name="Cook")


@pytest.fixture
def dan(db):
    return make_user("dan", first_name="Dan", last_name="Doe")


@pytest.fixture
def group(alice, bob, carol):
    return group_services.create_group(user=alice, title="Team", member_ids=[bob.pk, carol.pk])
