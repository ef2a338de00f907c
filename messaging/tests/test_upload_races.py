"""Two sends at once claiming one upload (two tabs, two client ids): one message gets it, the
other is refused; the claim and the sweep never both win."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections

from chatsite.errors import ServiceError
from messaging import services, uploads
from messaging.models import Attachment, Message

from .test_uploads import make_upload

pytestmark = pytest.mark.django_db(transaction=True)


def _together(*calls):
    """Run the calls in threads started at one barrier; each result or the ServiceError it raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except ServiceError as error:
            results[index] = error
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_one_upload_is_claimed_by_one_of_two_concurrent_sends(alice, direct):
    photo = make_upload(alice)

    def send(client_id):
        return lambda: services.send_message(user=alice, conversation_id=direct.pk, body="", client_id=client_id,
                                             attachment_ids=[photo.pk])

    results = _together(send("tab-1"), send("tab-2"))
    sent = [r for r in results if isinstance(r, services.SendResult)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(sent) == 1 and len(refused) == 1, results
    assert Message.objects.filter(kind="image").count() == 1
    assert Attachment.objects.get().message_id == sent[0].message.pk


def test_a_claim_and_the_sweep_do_not_both_win(alice, direct):
    photo = make_upload(alice)

    def claim():
        return services.send_message(user=alice, conversation_id=direct.pk, body="", client_id="c",
                                     attachment_ids=[photo.pk])

    results = _together(claim, lambda: uploads.delete_unclaimed_uploads(older_than=timedelta(0)))
    claimed = isinstance(results[0], services.SendResult)
    swept = bool(results[1])
    assert claimed != swept, results
    if claimed:
        assert Attachment.objects.get().message_id == results[0].message.pk
    else:
        assert not Attachment.objects.exists() and not Message.objects.filter(kind="image").exists()
