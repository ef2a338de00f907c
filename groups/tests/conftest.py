import pytest

from conftest import make_user
from groups import services
from messaging.models import Membership


@pytest.fixture
def crew(db):
    """A group: owner Olga, admin Adam, member Mia; Nina is not in it."""
    olga, adam, mia, nina = (make_user(n, first_name=n.capitalize()) for n in ("olga", "adam", "mia", "nina"))
    group = services.create_group(user=olga, title="Crew", member_ids=[adam.pk, mia.pk])
    services.set_role(user=olga, conversation_id=group.pk, member_id=adam.pk, role=Membership.Role.ADMIN)
    return {"group": group, "owner": olga, "admin": adam, "member": mia, "outsider": nina}
