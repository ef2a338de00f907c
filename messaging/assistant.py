"""The AI assistant: a bot account that answers through any OpenAI-compatible chat-completions
endpoint (OpenAI, or Ollama / vLLM / llama.cpp through OPENAI_BASE_URL), streamed.

Where it answers
- Each person's assistant chat (Conversation.Kind.ASSISTANT, one per person, pinned): every
  message there is a question; the history of that chat is the context.
- ``@assistant`` in a direct or group chat: the answer goes to that chat, for its members, with
  only that chat's recent messages as context.
- "Summarise unread" on a chat: the asker's unread messages of that one chat (they must be a
  member) are summarised into their own assistant chat.

How an answer runs
The send path (HTTP or socket) only notices that an answer is wanted (``consider_message``: a
string test) and, after the commit, starts ``answer`` as a task on the event loop
(chatsite.realtime.start_on_loop_after_commit). The stream never holds a database thread (on
SQLite there is one): the task uses the database only for short calls (``call_service``) to
check the limits and read the history before, and to store the answer and the usage after.
Between them it publishes ``assistant.started``, one ``message.delta`` per chunk (only the new
text) and ``assistant.finished`` to the conversation's group, so every tab of every member sees
the same stream. The answer is stored once, as one message of the bot, rendered by the same safe
markdown renderer as everyone's; a Stop (``assistant.stop``, from any tab) ends the stream and
keeps what was written. A process that dies mid-stream loses the answer so far: nothing is stored
half-written, and the question stays.
"""

import asyncio
import contextlib
import logging
import math
import re
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import date

import openai
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from chatsite import ratelimit
from chatsite.errors import ErrorCode, InvalidInput, NotFound, ServiceError
from chatsite.realtime import (
    call_service,
    conversation_group,
    event,
    publish_async,
    publish_on_commit,
    start_on_loop_after_commit,
    user_group,
)

from . import events
from .models import AssistantUsage, Conversation, Membership, Message
from .rendering import render_message_html
from .selectors import access_membership

logger = logging.getLogger(__name__)

MENTION = re.compile(r"(?<![\w@/.:+-])@assistant\b", re.IGNORECASE)
HISTORY_ROWS = 200  # newest messages looked at for the context, before the token budget trims them
STOP_POLL_SECONDS = 0.5  # with several processes (REDIS_URL), how often a stream looks for a Stop made elsewhere


class AssistantError(ServiceError):
    code = ErrorCode.ASSISTANT_FAILED


def enabled() -> bool:
    """On when an endpoint is configured: a key for OpenAI, or a base URL (a local server needs no key)."""
    return bool(settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL)


def estimate_tokens(text: str) -> int:
    """About four characters a token: used for the context budget, and for usage when the endpoint
    reports none."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def this_month() -> date:
    return timezone.now().date().replace(day=1)


# --- the bot and its chat -------------------------------------------------------------------------

def get_bot() -> User:
    """The one assistant account, made on first use. Inactive with no usable password: it never
    signs in, and every people search, friend list and direct chat leaves inactive accounts out."""
    bot = User.objects.filter(is_bot=True).order_by("pk").first()
    if bot is not None:
        if bot.first_name != settings.ASSISTANT_NAME:
            User.objects.filter(pk=bot.pk).update(first_name=settings.ASSISTANT_NAME)
            bot.first_name = settings.ASSISTANT_NAME
        return bot
    username = "assistant"
    if User.objects.filter(username__iexact=username).exists():  # someone had it before it was reserved
        username = f"assistant-{uuid.uuid4().hex[:8]}"
    bot = User(username=username, first_name=settings.ASSISTANT_NAME, is_active=False, is_bot=True)
    bot.set_unusable_password()
    bot.save()
    return bot


def _assistant_key(user_id: int) -> str:
    return f"assistant:{user_id}"


@transaction.atomic
def get_or_create_assistant_conversation(*, user: User) -> Conversation:
    """The person's own chat with the assistant, created (and pinned) on first use. The unique
    ``direct_key`` keeps it one per person, as it keeps one direct chat per pair."""
    key = _assistant_key(user.pk)
    conversation = Conversation.objects.filter(direct_key=key).first()
    if conversation is not None:
        return conversation
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(kind=Conversation.Kind.ASSISTANT, direct_key=key,
                                                       title=settings.ASSISTANT_NAME, created_by=user)
    except IntegrityError:  # created by a concurrent request a moment ago
        return Conversation.objects.get(direct_key=key)
    Membership.objects.create(conversation=conversation, user=user, role=Membership.Role.OWNER, pinned=True)
    publish_on_commit([user_group(user.pk)], events.conversation_joined(conversation_id=conversation.pk,
                                                                        user_id=user.pk))
    return conversation


# --- deciding to answer (on the send path) ------------------------------------------------------

def consider_message(*, message: Message, conversation: Conversation, user: User) -> None:
    """Called by messaging.services inside the send's transaction: a string test, nothing more on
    the send path. The answer starts on the event loop after the commit."""
    if not enabled() or getattr(user, "is_bot", False):
        return
    if conversation.kind == Conversation.Kind.ASSISTANT:
        kind = "chat"
    elif message.body and MENTION.search(message.body):
        kind = "mention"
    else:
        return
    asker_id, conversation_id, message_id = user.pk, conversation.pk, message.pk

    def start():
        return answer(kind=kind, asker_id=asker_id, conversation_id=conversation_id, message_id=message_id)

    start_on_loop_after_commit(start)


def request_summary(*, user: User, conversation_id, after_seq=None) -> Conversation:
    """"Summarise unread": the person's messages after ``after_seq`` (what was unread when their page
    opened; by default their read watermark) in one chat they are a member of, summarised into
    their assistant chat. Returns that chat."""
    if not enabled():
        raise ServiceError(_("The assistant is not set up on this site. An operator turns it on by setting "
                             "OPENAI_API_KEY (for OpenAI) or OPENAI_BASE_URL (for a local server such as Ollama)."),
                           code=ErrorCode.ASSISTANT_OFF)
    membership = access_membership(user, conversation_id)
    if membership.conversation.kind == Conversation.Kind.ASSISTANT:
        raise InvalidInput(_("This is already your assistant chat."))
    try:
        after = max(0, int(after_seq)) if after_seq not in (None, "") else membership.last_read_seq
    except (TypeError, ValueError):
        raise InvalidInput(_("The message number is not valid."), field="after_seq") from None
    target = get_or_create_assistant_conversation(user=user)
    source_id, asker_id, target_id = membership.conversation_id, user.pk, target.pk

    def start():
        return answer(kind="summary", asker_id=asker_id, conversation_id=target_id, source_id=source_id,
                      after_seq=after)

    start_on_loop_after_commit(start)
    return target


# --- preparing an answer: limits and context (a short database call) -----------------------------

@dataclass
class Job:
    asker_id: int
    conversation_id: int  # where the answer goes
    private: bool  # the asker's own assistant chat: failures are stored there as a line
    messages: list[dict]
    bot_id: int
    bot_name: str
    prefix: str = ""  # stored before the model's text (a summary's heading)
    stream: str = field(default_factory=lambda: uuid.uuid4().hex)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)


def check_limits(*, user_id: int) -> None:
    """The per-person rate limit (shared cache) and this month's token budget."""
    ratelimit.hit("assistant", user_id, settings.ASSISTANT_RATE_LIMIT,
                  _("You are asking the assistant too often. Please wait a moment."))
    budget = settings.ASSISTANT_MONTHLY_TOKENS
    if budget:
        row = AssistantUsage.objects.filter(user_id=user_id, month=this_month()).first()
        if row is not None and row.total_tokens >= budget:
            raise ServiceError(_("You have used this month's assistant budget (%(budget)s tokens). It renews on "
                                 "the first of next month.") % {"budget": f"{budget:,}"}, code=ErrorCode.OVER_BUDGET)


def _history(conversation_id: int, *, bot_id: int, budget: int, named: bool, after_seq: int | None = None,
             oldest_first_budget: bool = False) -> list[dict]:
    """The chat's newest messages that fit ``budget`` tokens, oldest first, as chat-completion
    messages: the bot's as ``assistant``, everyone else's as ``user`` (``named``: "Name: text")."""
    rows = (Message.objects.filter(conversation_id=conversation_id, deleted_at__isnull=True)
            .exclude(kind__in=(Message.Kind.SYSTEM, Message.Kind.CALL)).select_related("sender"))
    if after_seq is not None:
        rows = rows.filter(seq__gt=after_seq)
    picked, used = [], 0
    for message in rows.order_by("-seq")[:HISTORY_ROWS]:
        text = (message.body or message.preview).strip()
        if not text:
            continue
        if message.sender_id == bot_id:
            item = {"role": "assistant", "content": text}
        else:
            name = message.sender.display_name if message.sender else _("Deleted account")
            item = {"role": "user", "content": f"{name}: {text}" if named else text}
        cost = estimate_tokens(item["content"]) + 4
        if used + cost > budget:
            if picked:
                break
            item["content"] = item["content"][-budget * 4:]  # one very long question: its end
        picked.append(item)
        used += cost
    return list(reversed(picked))


def _system(text: str) -> dict:
    return {"role": "system", "content": text}


def prepare(*, kind: str, asker_id: int, conversation_id: int, message_id: int | None = None,
            source_id: int | None = None, after_seq: int | None = None) -> Job:
    """Everything the stream needs, read in one short database call; ServiceError when the person
    may not ask now (rate, budget) or is no longer a member."""
    asker = User.objects.get(pk=asker_id)
    membership = access_membership(asker, conversation_id)  # the answer's chat: a member's only
    check_limits(user_id=asker_id)
    bot = get_bot()
    budget = settings.ASSISTANT_CONTEXT_TOKENS
    base = settings.ASSISTANT_SYSTEM_PROMPT
    who = _("You are %(bot)s. You are talking with %(name)s.") % {"bot": bot.display_name, "name": asker.display_name}
    prefix = ""
    if kind == "chat":
        messages = [_system(f"{base}\n\n{who}"), *_history(conversation_id, bot_id=bot.pk, budget=budget, named=False)]
    elif kind == "mention":
        title = membership.conversation.title or _("a direct chat")
        context = _("%(name)s mentioned you with @assistant in the chat “%(title)s”. The messages are that chat's "
                    "recent history, each starting with its sender's name. Answer %(name)s's last message.") % {
            "name": asker.display_name, "title": title}
        messages = [_system(f"{base}\n\n{who} {context}"),
                    *_history(conversation_id, bot_id=bot.pk, budget=budget, named=True)]
    elif kind == "summary":
        source = access_membership(asker, source_id)  # must be a member of the chat summarised, too
        unread = _history(source.conversation_id, bot_id=bot.pk, budget=budget, named=True, after_seq=after_seq)
        if not unread:
            raise InvalidInput(_("There is nothing unread to summarise in that chat."))
        title = _chat_title(source, asker)
        messages = [
            _system(f"{base}\n\n{who} " + _("Summarise for %(name)s, in a few short points, the messages of the "
                                            "chat “%(title)s” that follow. Each starts with its sender's name.")
                    % {"name": asker.display_name, "title": title}),
            {"role": "user", "content": "\n".join(item["content"] if item["role"] == "user"
                                                  else f"{bot.display_name}: {item['content']}" for item in unread)},
        ]
        prefix = _("**Summary of unread messages in “%(title)s”**") % {"title": title} + "\n\n"
    else:
        raise ValueError(kind)
    del message_id  # the question is the newest message of the history
    return Job(asker_id=asker_id, conversation_id=membership.conversation_id,
               private=membership.conversation.kind == Conversation.Kind.ASSISTANT, messages=messages,
               bot_id=bot.pk, bot_name=bot.display_name, prefix=prefix)


def _chat_title(membership: Membership, viewer: User) -> str:
    conversation = membership.conversation
    if conversation.kind == Conversation.Kind.DIRECT:
        other = Membership.objects.filter(conversation_id=conversation.pk).exclude(user=viewer).select_related("user").first()
        return other.user.display_name if other else _("Deleted account")
    return conversation.title or _("Untitled group")


# --- storing (short database calls) ---------------------------------------------------------------

def record_usage(*, user_id: int, prompt_tokens: int, completion_tokens: int) -> None:
    month = this_month()
    with transaction.atomic():
        try:
            with transaction.atomic():
                row, _created = AssistantUsage.objects.get_or_create(user_id=user_id, month=month)
        except IntegrityError:  # a concurrent first request of the month
            row = AssistantUsage.objects.get(user_id=user_id, month=month)
        AssistantUsage.objects.filter(pk=row.pk).update(
            prompt_tokens=F("prompt_tokens") + max(0, int(prompt_tokens)),
            completion_tokens=F("completion_tokens") + max(0, int(completion_tokens)),
            requests=F("requests") + 1)


def reset_usage(*, usage_ids) -> int:
    """Admins: set the chosen months' counts back to zero (the person may ask again at once)."""
    return AssistantUsage.objects.filter(pk__in=list(usage_ids)).update(prompt_tokens=0, completion_tokens=0,
                                                                         requests=0)


def store_answer(*, job: Job, text: str, prompt_tokens: int, completion_tokens: int) -> Message | None:
    """One message of the bot with the whole answer (``text`` may be empty: a Stop before the first
    word), and the usage, in one transaction."""
    from .services import post_message  # services imports this module for the send path

    with transaction.atomic():
        record_usage(user_id=job.asker_id, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        if not text:
            return None
        body = job.prefix + text
        bot = User.objects.get(pk=job.bot_id)
        return post_message(conversation_id=job.conversation_id, sender=bot, kind=Message.Kind.TEXT, body=body,
                            body_html=render_message_html(body, mentioned=set()))


def store_failure_line(*, conversation_id: int, sentence: str) -> None:
    """In the asker's own assistant chat a failure stays as a line (after a reload too)."""
    from .services import post_system_message

    post_system_message(conversation_id=conversation_id, body=sentence)


# --- the stream (on the event loop) ---------------------------------------------------------------

_streams: dict[str, Job] = {}  # this process's answers being written, by stream id


# One client per event loop and configuration: making one (its TLS context, its connection pool)
# costs more than the site's whole part of an answer, so a question must not pay for it each time.
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, openai.AsyncOpenAI]]" = (
    weakref.WeakKeyDictionary())


def _client() -> openai.AsyncOpenAI:
    config = (settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.ASSISTANT_TIMEOUT_SECONDS)
    made = _clients.setdefault(asyncio.get_running_loop(), {})
    if config not in made:
        # No retries: a retried stream would be paid twice, and the person sees the failure at once.
        made[config] = openai.AsyncOpenAI(api_key=config[0] or "no-key", base_url=config[1], timeout=config[2],
                                          max_retries=0)
    return made[config]


class _Refused(Exception):
    """The endpoint ended the answer with finish_reason "content_filter"."""


def explain(error: BaseException) -> tuple[ErrorCode, str]:
    """The code and the sentence the chat shows for a failure of the endpoint."""
    code = ErrorCode.ASSISTANT_FAILED
    if isinstance(error, _Refused):
        return code, _("The assistant declined to answer that (the model's content filter stopped it).")
    if isinstance(error, openai.APITimeoutError):
        return code, _("The assistant took too long to answer. Please try again.")
    if isinstance(error, openai.APIConnectionError):
        return code, _("The assistant cannot reach its model server right now. Please try again later.")
    if isinstance(error, openai.AuthenticationError):
        return code, _("The assistant's model server refused its key. An operator needs to check OPENAI_API_KEY.")
    if isinstance(error, openai.RateLimitError):
        if getattr(error, "code", None) == "insufficient_quota":
            return code, _("The assistant's account with its model provider is out of credit. Please tell an operator.")
        return ErrorCode.RATE_LIMITED, _("The assistant's model server is busy. Please try again in a minute.")
    if isinstance(error, openai.BadRequestError) and (
            getattr(error, "code", None) == "context_length_exceeded" or "context" in str(error).lower()):
        return code, _("This conversation is too long for the assistant's model. An operator can lower "
                       "ASSISTANT_CONTEXT_TOKENS.")
    if isinstance(error, openai.APIStatusError):
        return code, _("The assistant's model server answered with an error (%(status)s). Please try again later.") % {
            "status": error.status_code}
    return code, _("The assistant could not answer. Please try again later.")


def _finished(job_or_conversation: int, stream: str, status: str, **fields) -> dict:
    return event("assistant.finished", {"conversation": job_or_conversation, "stream": stream, "status": status,
                                        **fields}, conversation_id=job_or_conversation)


async def answer(*, kind: str, asker_id: int, conversation_id: int, message_id: int | None = None,
                 source_id: int | None = None, after_seq: int | None = None) -> None:
    """Check, stream, store. Never raises: every failure ends as a line the asker sees."""
    try:
        job = await call_service(prepare, kind=kind, asker_id=asker_id, conversation_id=conversation_id,
                                 message_id=message_id, source_id=source_id, after_seq=after_seq)
    except NotFound:
        return  # no longer a member of that chat: nobody to answer
    except ServiceError as refused:
        await _refused(asker_id=asker_id, conversation_id=conversation_id, error=refused,
                       private=kind in ("chat", "summary"))
        return
    except Exception:
        logger.exception("preparing an assistant answer failed")
        return
    await run(job)


async def _refused(*, asker_id: int, conversation_id: int, error: ServiceError, private: bool) -> None:
    """Not started (rate limit, budget): the asker's tabs only; in their assistant chat also a line."""
    if private:
        with contextlib.suppress(Exception):
            await call_service(store_failure_line, conversation_id=conversation_id, sentence=error.message)
    await publish_async([user_group(asker_id)], event("assistant.finished", {
        "conversation": conversation_id, "stream": "", "status": "failed", "error": error.message,
        "code": str(error.code)}))


async def run(job: Job) -> None:
    groups = [conversation_group(job.conversation_id)]
    _streams[job.stream] = job
    parts: list[str] = []
    usage: dict = {}
    started = time.monotonic()
    status, failure = "done", None
    client = _client()
    watcher = asyncio.ensure_future(_watch_for_remote_stop(job)) if settings.REDIS_URL else None
    try:
        await publish_async(groups, event("assistant.started", {
            "conversation": job.conversation_id, "stream": job.stream, "name": job.bot_name, "asker_id": job.asker_id,
        }, conversation_id=job.conversation_id))
        work = asyncio.ensure_future(_generate(job, client, groups, parts, usage, started))
        stop = asyncio.ensure_future(job.stopped.wait())
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            status = "stopped"
            work.cancel()
            with contextlib.suppress(BaseException):
                await work
        else:
            stop.cancel()
            failure = work.exception()
            if failure is None and not "".join(parts).strip():
                failure = AssistantError(_("The assistant sent an empty answer. Please try again."))
    finally:
        _streams.pop(job.stream, None)
        if watcher is not None:
            watcher.cancel()
    text = "".join(parts).strip()
    if isinstance(failure, _Refused):
        text = ""  # filtered text is not kept
    prompt_tokens = usage.get("prompt_tokens") or sum(estimate_tokens(m["content"]) for m in job.messages)
    completion_tokens = usage.get("completion_tokens") or estimate_tokens(text)
    try:
        message = await call_service(store_answer, job=job, text=text if failure is None else "",
                                     prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    except Exception:
        logger.exception("storing an assistant answer failed")
        message, failure = None, failure or AssistantError(_("The assistant's answer could not be saved."))
    if failure is not None:
        if not isinstance(failure, ServiceError | openai.OpenAIError | _Refused):
            logger.error("assistant stream failed", exc_info=failure)
        code, sentence = (failure.code, failure.message) if isinstance(failure, ServiceError) else explain(failure)
        if job.private:
            with contextlib.suppress(Exception):
                await call_service(store_failure_line, conversation_id=job.conversation_id, sentence=sentence)
        await publish_async(groups, _finished(job.conversation_id, job.stream, "failed", error=sentence,
                                              code=str(code)))
        return
    await publish_async(groups, _finished(job.conversation_id, job.stream, status,
                                          message_id=message.pk if message else None))


async def _generate(job: Job, client, groups, parts: list[str], usage: dict, started: float) -> None:
    stream = await client.chat.completions.create(model=settings.OPENAI_MODEL, messages=job.messages, stream=True,
                                                  stream_options={"include_usage": True})
    try:
        async for chunk in stream:
            if chunk.usage is not None:
                usage["prompt_tokens"] = chunk.usage.prompt_tokens or 0
                usage["completion_tokens"] = chunk.usage.completion_tokens or 0
            for choice in chunk.choices or ():
                text = choice.delta.content if choice.delta is not None else None
                if text:
                    if not parts:
                        logger.info("assistant: first delta after %.3f s", time.monotonic() - started)
                    parts.append(text)
                    await publish_async(groups, event("message.delta", {
                        "conversation": job.conversation_id, "stream": job.stream, "text": text,
                    }, conversation_id=job.conversation_id))
                if choice.finish_reason == "content_filter":
                    raise _Refused()
    finally:
        with contextlib.suppress(Exception):
            await stream.close()


def _stop_key(stream: str) -> str:
    return f"assistant:stop:{stream}"


async def request_stop(*, user_id: int, conversation_id: int, stream: str) -> bool:
    """Stop an answer: in the asker's own chat any of their tabs, elsewhere the person who asked.
    An answer running in another process (REDIS_URL) sees the request within STOP_POLL_SECONDS."""
    job = _streams.get(stream)
    if job is not None:
        if job.conversation_id != conversation_id or job.asker_id != user_id:
            return False
        job.stopped.set()
        return True
    if settings.REDIS_URL:
        await cache.aset(_stop_key(stream), [conversation_id, user_id], timeout=600)
    return False


async def _watch_for_remote_stop(job: Job) -> None:
    while not job.stopped.is_set():
        await asyncio.sleep(STOP_POLL_SECONDS)
        if await cache.aget(_stop_key(job.stream)) == [job.conversation_id, job.asker_id]:
            job.stopped.set()


def running_streams() -> dict[str, Job]:
    """This process's answers being written (tests and the page's state)."""
    return dict(_streams)
