"""The API's call history. Thin: calls.selectors reads it."""

from datetime import datetime

from ninja import Query, Router, Schema

from chatsite.apikit import responses

from . import selectors

router = Router(tags=["calls"])


class ParticipantOut(Schema):
    user_id: int
    status: str
    joined_at: datetime | None
    left_at: datetime | None


class CallOut(Schema):
    id: int
    conversation_id: int
    kind: str  # audio | video
    status: str  # ringing | ongoing | ended | missed | declined | cancelled | busy
    initiator_id: int | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    participants: list[ParticipantOut]


@router.get("/calls", response=responses(list[CallOut]), summary="My call history",
            description="The calls I placed, was rung for or joined, newest first.")
def call_history(request, limit: int = Query(selectors.HISTORY_PAGE, ge=1, le=selectors.HISTORY_PAGE)):
    return [{
        "id": call.pk, "conversation_id": call.conversation_id, "kind": call.kind, "status": call.status,
        "initiator_id": call.initiator_id, "started_at": call.started_at, "answered_at": call.answered_at,
        "ended_at": call.ended_at, "duration_seconds": call.duration_seconds,
        "participants": [{"user_id": p.user_id, "status": p.status, "joined_at": p.joined_at, "left_at": p.left_at}
                         for p in call.participants.all()],
    } for call in selectors.list_call_history(request.user, limit=limit)]
