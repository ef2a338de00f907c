"""docs/socket-protocol.md is generated (manage.py socket_protocol) and kept current: a change to a
frame, an event, an error code or a close code without regenerating it fails here."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from chatsite import errors, protocol
from chatsite.protocol_docs import render
from chatsite.realtime import frame_types

DOC = Path(__file__).resolve().parents[2] / "docs" / "socket-protocol.md"


def test_the_committed_socket_protocol_is_what_the_code_says():
    assert DOC.read_text() == render(), "docs/socket-protocol.md is stale: run manage.py socket_protocol"


def test_it_names_every_frame_event_twin_error_and_close_code():
    text = render()
    for name in [*frame_types(), *protocol.EVENTS, *protocol.REPLIES]:
        assert f"### `{name}`" in text, name
    for code in errors.ErrorCode:
        assert f"| `{code.value}` |" in text, code
    for code in (protocol.CLOSE_RECONNECT, protocol.CLOSE_LAGGING, protocol.CLOSE_SIGNED_OUT, protocol.CLOSE_TOO_MANY):
        assert f"| `{code}` |" in text
    assert "### ApiMessage" in text and "API socket and webhook (JSON twin)" in text
    assert "Rate limit: `MESSAGE_RATE_LIMIT`." in text  # a limit from a setting is named, not its value


def test_the_command_checks_and_writes(tmp_path):
    stale = tmp_path / "protocol.md"
    stale.write_text("old")
    with pytest.raises(CommandError, match="stale"):
        call_command("socket_protocol", "--check", "--output", str(stale))
    call_command("socket_protocol", "--output", str(stale))
    assert stale.read_text() == render()
    call_command("socket_protocol", "--check", "--output", str(stale))
