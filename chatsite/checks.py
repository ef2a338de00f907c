"""System checks of the project's own settings.

A bad value fails at start: ``manage.py check`` and every command that runs the checks (``migrate``,
so ``make run`` and the Procfile's release step), and the ASGI application's import
(``raise_for_bad_settings`` in chatsite/asgi.py) — not at the first request that reads it.

To check a new setting, add a row to ``SETTINGS``: a new id (never reuse one), the setting's name,
a validator (a function that raises ValueError with a sentence saying what is wrong) and a hint
saying what a good value looks like.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .ratelimit import parse_rate

TAG = "settings"


# --- validators: each raises ValueError saying what is wrong --------------------------------------
def whole_number(minimum: int) -> Callable[[Any], None]:
    def validate(value) -> None:
        # bool is an int in Python: True would pass as 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{value!r} is not a whole number")
        if value < minimum:
            raise ValueError(f"{value!r} is less than {minimum}")

    return validate


positive_int = whole_number(1)


def positive_number(value) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{value!r} is not a number of seconds above 0")
def at_most(maximum: int) -> Callable[[Any], None]:
    def validate(value) -> None:
        positive_int(value)
        if value > maximum:
            raise ValueError(f"{value!r} is more than {maximum}")

    return validate


def one_of(*choices: str) -> Callable[[Any], None]:
    def validate(value) -> None:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")

    return validate


def rate(value) -> None:
    parse_rate(value)


def rates(value) -> None:
    """A mapping of names (e.g. frame types) to rates."""
    if not isinstance(value, dict):
        raise ValueError(f"{value!r} is not a mapping of names to rates")
    for name, each in value.items():
        try:
            parse_rate(each)
        except ValueError as error:
            raise ValueError(f"{name!r}: {error}") from None


def http_url(value) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a URL")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise ValueError(f"{value!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"{value!r} is not an http:// or https:// URL with a host name")
    if parts.query or parts.fragment:
        # Paths are appended to it (the digest's links).
        raise ValueError(f"{value!r} has a query or a fragment")


_ICE_SCHEMES = ("stun", "stuns", "turn", "turns")


def ice_servers(value) -> None:
    """What the browser's RTCPeerConnection accepts as ``iceServers``; it refuses the whole list
    (and so every call) for one bad entry."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"{value!r} is not a list of servers")
    for number, server in enumerate(value, start=1):
        if not isinstance(server, dict) or "urls" not in server:
            raise ValueError(f"server {number} ({server!r}) is not an object with \"urls\"")
        urls = server["urls"]
        urls = [urls] if isinstance(urls, str) else urls
        if not isinstance(urls, list | tuple) or not urls or not all(isinstance(url, str) for url in urls):
            raise ValueError(f"server {number}: \"urls\" is not a URL or a non-empty list of URLs")
        for url in urls:
            scheme = url.partition(":")[0]
            if scheme not in _ICE_SCHEMES or not url.partition(":")[2]:
                raise ValueError(f"server {number}: {url!r} is not a stun:, stuns:, turn: or turns: URL")
            if scheme.startswith("turn") and not (isinstance(server.get("username"), str)
                                                  and isinstance(server.get("credential"), str)):
                raise ValueError(f"server {number}: a TURN server needs \"username\" and \"credential\"")


def tasks_backend(value) -> None:
    if value not in ("database", "rq"):
        raise ValueError(f"{value!r} is neither \"database\" nor \"rq\"")
    if value == "rq" and not settings.REDIS_URL:
        raise ValueError("the RQ backend keeps its queue in Redis, and REDIS_URL is not set")


def non_negative_number(value) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 or value == float("inf"):
        raise ValueError(f"{value!r} is not a number of 0 or more")
def optional_http_url(value) -> None:
    if value is not None and (not isinstance(value, str) or not value.startswith(("http://", "https://"))
                              or not urlsplit(value).hostname):
        raise ValueError(f"{value!r} is not an http:// or https:// URL with a host name")


def short_text(maximum: int) -> Callable[[Any], None]:
    def validate(value) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{value!r} is empty")
        if len(value) > maximum:
            raise ValueError(f"{value!r} is longer than {maximum} characters")

    return validate


def turn_urls(value) -> None:
    """TURN_URLS: the TURN servers the credentials made from TURN_SECRET are for."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"{value!r} is not a list of URLs")
    for url in value:
        scheme, _, rest = str(url).partition(":")
        if scheme not in ("turn", "turns") or not rest:
            raise ValueError(f"{url!r} is not a turn: or turns: URL")


# --- Web Push (accounts/push.py) ------------------------------------------------------------------
def vapid_private_key(value) -> None:
    """A PEM P-256 private key: browsers accept no other curve for VAPID (RFC 8292)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(value.encode() if isinstance(value, str) else value, password=None)
    except (TypeError, ValueError, AttributeError):
        raise ValueError("it is not a PEM private key without a password") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("it is not a P-256 (prime256v1) elliptic-curve key")


def vapid_subject(value) -> None:
    if not isinstance(value, str) or not (value.startswith("mailto:") and "@" in value
                                          or value.startswith("https://") and urlsplit(value).hostname):
        raise ValueError(f"{value!r} is neither a mailto: address nor an https:// URL")



# --- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SettingRule:
    id: str
    setting: str
    validate: Callable[[Any], object]
    hint: str


SETTINGS: tuple[SettingRule, ...] = (
    SettingRule("chatsite.E001", "MESSAGE_RATE_LIMIT", rate,
                'Set MESSAGE_RATE_LIMIT to a count per window, e.g. "30/10s", "5/m" or "100/h".'),
    SettingRule("chatsite.E002", "MESSAGE_MAX_LENGTH", positive_int,
                "Set MESSAGE_MAX_LENGTH to the longest message in characters, e.g. 4000."),
    SettingRule("chatsite.E003", "GROUP_MAX_MEMBERS", positive_int,
                "Set GROUP_MAX_MEMBERS to the largest group allowed, e.g. 256."),
    SettingRule("chatsite.E004", "DIGEST_AFTER_MINUTES", positive_int,
                "Set DIGEST_AFTER_MINUTES to the minutes offline before a digest is sent, e.g. 60."),
    SettingRule("chatsite.E005", "SOCKET_DATABASE_THREADS", positive_int,
                "Set SOCKET_DATABASE_THREADS to 1 or more (1 on SQLite)."),
    SettingRule("chatsite.E006", "ICE_SERVERS", ice_servers,
                'Set ICE_SERVERS to a JSON list such as [{"urls": ["stun:stun.example.com:3478"]}, '
                '{"urls": "turn:turn.example.com:3478", "username": "u", "credential": "p"}], or [] for none.'),
    SettingRule("chatsite.E007", "SITE_URL", http_url,
                "Set SITE_URL to the site's public address, e.g. https://chat.example.com."),
    SettingRule("chatsite.E008", "SOCKET_MAX_PER_USER", positive_int,
                "Set SOCKET_MAX_PER_USER to the open sockets (tabs, devices) one person may have per process, e.g. 20."),
    SettingRule("chatsite.E009", "SOCKET_INBOX_SIZE", whole_number(10),
                "Set SOCKET_INBOX_SIZE to the events a socket may have waiting before it is closed for resume, "
                "at least 10 (e.g. 500)."),
    SettingRule("chatsite.E010", "SOCKET_FRAME_MAX_BYTES", whole_number(4096),
                "Set SOCKET_FRAME_MAX_BYTES to the largest frame a client may send, at least 4096 (e.g. 65536)."),
    SettingRule("chatsite.E011", "HEALTH_CHECK_TIMEOUT", positive_number,
                "Set HEALTH_CHECK_TIMEOUT to the seconds /readyz waits for each dependency, e.g. 2."),
    SettingRule("chatsite.E019", "LOG_FORMAT", one_of("text", "json"),
                'Set LOG_FORMAT to "text" (the default) or "json" (one JSON object per line).'),
    SettingRule("chatsite.E012", "TASKS_BACKEND", tasks_backend,
                'Set TASKS_BACKEND to "database" (the default: the queue in the database) or "rq" '
                "(the queue in Redis: set REDIS_URL too)."),
    SettingRule("chatsite.E013", "TASKS_RETRY_BACKOFF_SECONDS", non_negative_number,
                "Set TASKS_RETRY_BACKOFF_SECONDS to the seconds before a failed task's first retry, e.g. 10."),
    SettingRule("chatsite.E014", "TASKS_WORKER_TIMEOUT", whole_number(2),
                "Set TASKS_WORKER_TIMEOUT to the seconds of silence after which a worker counts as dead, "
                "at least 2 (e.g. 60)."),
    SettingRule("chatsite.E015", "TASKS_PRUNE_AFTER_DAYS", positive_int,
                "Set TASKS_PRUNE_AFTER_DAYS to the days finished task results are kept, e.g. 14."),
    SettingRule("chatsite.E016", "TASKS_PRUNE_EVERY_MINUTES", whole_number(0),
                "Set TASKS_PRUNE_EVERY_MINUTES to the minutes between prunings, e.g. 1440, or 0 for never."),
    SettingRule("chatsite.E017", "DIGEST_EVERY_MINUTES", whole_number(0),
                "Set DIGEST_EVERY_MINUTES to the minutes between digest runs, e.g. 60, or 0 for none."),
    SettingRule("chatsite.E018", "UPLOAD_SWEEP_EVERY_MINUTES", whole_number(0),
                "Set UPLOAD_SWEEP_EVERY_MINUTES to the minutes between sweeps of unclaimed uploads, e.g. 60, or 0 for none."),
    SettingRule("chatsite.E020", "UPLOAD_MAX_BYTES", positive_int,
                "Set UPLOAD_MAX_BYTES to the largest file in bytes, e.g. 26214400 (25 MB)."),
    SettingRule("chatsite.E021", "UPLOAD_QUOTA_BYTES", positive_int,
                "Set UPLOAD_QUOTA_BYTES to the storage one person may use in bytes, e.g. 1073741824 (1 GB)."),
    SettingRule("chatsite.E022", "UPLOAD_GRACE_MINUTES", positive_int,
                "Set UPLOAD_GRACE_MINUTES to how long an upload no message claimed is kept, e.g. 1440."),
    SettingRule("chatsite.E023", "UPLOAD_MAX_PIXELS", positive_int,
                "Set UPLOAD_MAX_PIXELS to the largest image in pixels (width x height), e.g. 50000000."),
    SettingRule("chatsite.E024", "UPLOAD_MAX_FILES", positive_int,
                "Set UPLOAD_MAX_FILES to the most files one message may carry, e.g. 10."),
    SettingRule("chatsite.E025", "AWS_QUERYSTRING_EXPIRE", at_most(300),
                "Set AWS_QUERYSTRING_EXPIRE to the seconds a presigned download URL lives, at most 300."),
    SettingRule("chatsite.E026", "CALL_RING_SECONDS", positive_int,
                "Set CALL_RING_SECONDS to the seconds a call rings before it is missed, e.g. 30."),
    SettingRule("chatsite.E031", "CALL_SWEEP_EVERY_MINUTES", non_negative_number,
                "Set CALL_SWEEP_EVERY_MINUTES to the minutes between call sweeps, e.g. 0.25 (15 s), or 0 for none."),
    SettingRule("chatsite.E027", "CALL_MAX_PARTICIPANTS", whole_number(2),
                "Set CALL_MAX_PARTICIPANTS to the people in one (full-mesh) call, at least 2 (e.g. 6)."),
    SettingRule("chatsite.E028", "CALL_RECONNECT_SECONDS", positive_int,
                "Set CALL_RECONNECT_SECONDS to the seconds a disconnected participant has to come back, e.g. 30."),
    SettingRule("chatsite.E029", "TURN_URLS", turn_urls,
                "Set TURN_URLS to comma-separated turn: or turns: URLs, e.g. turn:turn.example.com:3478?transport=udp."),
    SettingRule("chatsite.E030", "TURN_TTL_SECONDS", positive_int,
                "Set TURN_TTL_SECONDS to how long a TURN password lasts, e.g. 21600 (6 hours)."),
    SettingRule("chatsite.E032", "ASSISTANT_RATE_LIMIT", rate,
                'Set ASSISTANT_RATE_LIMIT to the questions one person may ask per window, e.g. "10/m".'),
    SettingRule("chatsite.E033", "ASSISTANT_CONTEXT_TOKENS", whole_number(100),
                "Set ASSISTANT_CONTEXT_TOKENS to the tokens of history sent with a question, at least 100 (e.g. 3000)."),
    SettingRule("chatsite.E034", "ASSISTANT_MONTHLY_TOKENS", whole_number(0),
                "Set ASSISTANT_MONTHLY_TOKENS to the tokens one person may use per month, e.g. 200000, or 0 for no budget."),
    SettingRule("chatsite.E035", "ASSISTANT_TIMEOUT_SECONDS", positive_number,
                "Set ASSISTANT_TIMEOUT_SECONDS to the seconds to wait for the endpoint, e.g. 60."),
    SettingRule("chatsite.E036", "OPENAI_BASE_URL", optional_http_url,
                "Set OPENAI_BASE_URL to an OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 "
                "(Ollama), or leave it unset for OpenAI's."),
    SettingRule("chatsite.E037", "ASSISTANT_NAME", short_text(40),
                "Set ASSISTANT_NAME to the assistant's name as people see it, e.g. Assistant."),
    # Web Push and the installable app.
    SettingRule("chatsite.E040", "VAPID_PRIVATE_KEY", vapid_private_key,
                "Set VAPID_PRIVATE_KEY to a PEM P-256 key (openssl ecparam -name prime256v1 -genkey | "
                "openssl pkcs8 -topk8 -nocrypt), or unset it to use the one generated in var/."),
    SettingRule("chatsite.E041", "VAPID_SUBJECT", vapid_subject,
                "Set VAPID_SUBJECT to a contact for the push services, e.g. mailto:admin@example.com."),
    SettingRule("chatsite.E042", "PUSH_TTL_SECONDS", at_most(28 * 86400),
                "Set PUSH_TTL_SECONDS to how long a push waits for an offline device, 1 to 2419200 (e.g. 86400)."),
    SettingRule("chatsite.E043", "PUSH_PRESENCE_TTL_SECONDS", at_most(3600),
                "Set PUSH_PRESENCE_TTL_SECONDS to the seconds a visible tab silences its device's pushes "
                "without a refresh, 1 to 3600 (e.g. 60)."),
    SettingRule("chatsite.E044", "PUSH_TIMEOUT_SECONDS", at_most(120),
                "Set PUSH_TIMEOUT_SECONDS to the seconds to wait for a push service, 1 to 120 (e.g. 10)."),
    # Bots: API sockets and webhooks.
    SettingRule("chatsite.E050", "SOCKET_TICKET_SECONDS", at_most(300),
                "Set SOCKET_TICKET_SECONDS to the seconds a socket ticket may wait to be used, 1 to 300 (e.g. 30)."),
    SettingRule("chatsite.E051", "WEBHOOK_MAX_FAILURES", positive_int,
                "Set WEBHOOK_MAX_FAILURES to the failed calls in a row that disable a webhook, e.g. 10."),
    SettingRule("chatsite.E052", "WEBHOOK_TIMEOUT_SECONDS", positive_number,
                "Set WEBHOOK_TIMEOUT_SECONDS to the seconds a webhook receiver has to answer, e.g. 5."),
    SettingRule("chatsite.E053", "INCOMING_WEBHOOK_RATE_LIMIT", rate,
                'Set INCOMING_WEBHOOK_RATE_LIMIT to the messages one incoming webhook may post per window, e.g. "20/m".'),
)


def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    for rule in SETTINGS:
        if not hasattr(settings, rule.setting):
            errors.append(checks.Error(f"The {rule.setting} setting is missing.", hint=rule.hint, id=rule.id))
            continue
        try:
            rule.validate(getattr(settings, rule.setting))
        except ValueError as error:
            errors.append(checks.Error(f"{rule.setting} is not valid: {error}.", hint=rule.hint, id=rule.id))
    return errors


def raise_for_bad_settings() -> None:
    """For servers that start without a management command (uvicorn, daphne)."""
    if errors := check_settings():
        raise ImproperlyConfigured("\n".join(f"{error.id}: {error.msg} HINT: {error.hint}" for error in errors))
