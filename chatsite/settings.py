"""The one settings module. Everything an operator may change comes from the environment.

With no environment at all the site runs embedded: SQLite in ``var/``, in-memory channel layer and
cache, media under ``var/media/``, email printed to the console. Each production switch is
documented in README.md ("Configuration").
"""

import secrets
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is convenient for developers; production sets real environment variables.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/."""
    if key := env.str("SECRET_KEY", default=""):
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_NAME = env.str("SITE_NAME", default="Chat")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "allauth.headless",
    "ninja",  # the HTTP API (chatsite/api.py); also serves its docs' Swagger UI files
    "corsheaders",
    "django_tasks",
    "django_tasks_db",
    "chatsite",  # its system checks of the settings below (chatsite/checks.py)
    "accounts",
    "messaging",
    "groups",
    "calls",
]

MIDDLEWARE = [
    # First, so everything after it (and the tasks a request enqueues) knows the request's id.
    "chatsite.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before CommonMiddleware, as django-cors-headers asks; it only acts on API_CORS_ORIGINS.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "chatsite.http.JsonDepthMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Sign-in is required by default; public views say so with @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chatsite.context_processors.site",
                # The app shell's data, each from the app that owns it, queried only when shown.
                "accounts.context_processors.notifications",
                "messaging.context_processors.sidebar",
                "groups.context_processors.invitations",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3's pool: connections are reused by the pool, so Django must not keep its own.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        if env.bool("DATABASE_POOL", default=True):
            DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
                "min_size": env.int("DATABASE_POOL_MIN", default=2),
                "max_size": env.int("DATABASE_POOL_MAX", default=20),
                "timeout": 10,
            }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
                # BEGIN so two writers queue on busy_timeout instead of failing with "locked".
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
                ),
                "transaction_mode": "IMMEDIATE",
            },
            "TEST": {"NAME": str(VAR_DIR / "test-db.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Threads that run the WebSockets' database work (chatsite.realtime.in_database_thread). SQLite has
# one writer: more threads would only queue on its lock.
SOCKET_DATABASE_THREADS = env.int(
    "SOCKET_DATABASE_THREADS", default=1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 4)

# --- Cache and channel layer ----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="chat"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # The PubSub layer: one Redis subscription per process, messages fan out in Redis.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="chat"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "chatsite.layers.LocalChannelLayer"}}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
# A form that comes back with an error keeps the passwords typed, not only the other fields.
ACCOUNT_PASSWORD_INPUT_RENDER_VALUE = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = True
ACCOUNT_CHANGE_EMAIL = True
# Changing the email (then resetting the password through it) would hand the account to anyone
# who finds a browser left signed in: email changes ask for the password again after 5 minutes.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_USERNAME_MIN_LENGTH = 3
ACCOUNT_USERNAME_BLACKLIST = ["admin", "root", "system", "support", "all", "here", "everyone", "assistant"]
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"login": "accounts.entrance_forms.LoginForm"}
ACCOUNT_ALLOW_SIGNUP = env.bool("ACCOUNT_ALLOW_SIGNUP", default=True)
# allauth's defaults (with verification by code), spelt out so operators can see them; they are
# kept in CACHES["default"].
ACCOUNT_RATE_LIMITS = {
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "login": "30/m/ip",
    "request_login_code": "20/m/ip,3/m/key",
    "login_failed": "10/m/ip,5/5m/key",
    # One verification mail per address per 10 s. Longer would answer 429 to a person who signs
    # up and then signs in again a minute later: with codes, a new mail (new code) is needed.
    "confirm_email": "1/10s/key",
}
# Behind proxies you run (a load balancer), every request comes from the proxy's address, so the
# per-IP limits above would be shared by everybody. Set TRUSTED_PROXY_COUNT to the number of such
# proxies to rate-limit the client address they record in X-Forwarded-For instead. Never set it
# without a proxy that overwrites X-Forwarded-For: clients could then pick their own address.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = SITE_NAME
# Passkeys need HTTPS; localhost is exempt in browsers, DEBUG lets a plain-HTTP dev host work.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG

SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_PROVIDERS = {}
for _provider in ("google", "facebook", "github"):
    _client_id = env.str(f"{_provider.upper()}_CLIENT_ID", default="")
    _secret = env.str(f"{_provider.upper()}_CLIENT_SECRET", default="")
    # A provider appears on the login page only when its keys are set.
    if _client_id and _secret:
        INSTALLED_APPS.append(f"allauth.socialaccount.providers.{_provider}")
        SOCIALACCOUNT_PROVIDERS[_provider] = {"APPS": [{"client_id": _client_id, "secret": _secret}]}

# --- Files ----------------------------------------------------------------------------------
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served publicly; files go through authorising views
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
# How long a presigned download URL lives (seconds; the issue's ceiling is 5 minutes).
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=300)
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": AWS_QUERYSTRING_EXPIRE,
            "file_overwrite": False,
            # Signature V4: the URL carries its lifetime (X-Amz-Expires), every region accepts it.
            "signature_version": "s3v4",
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "chatsite.storage.StaticFilesStorage"},
}
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=5 * 1024 * 1024)
AVATAR_SIZE = 256
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Attachments (messaging/uploads.py): the largest file, what one person may keep in storage, how long
# an upload no message claimed is kept (`manage.py cleanup_uploads`), the largest image in pixels.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=25 * 1024 * 1024)
UPLOAD_QUOTA_BYTES = env.int("UPLOAD_QUOTA_BYTES", default=1024 * 1024 * 1024)
UPLOAD_GRACE_MINUTES = env.int("UPLOAD_GRACE_MINUTES", default=24 * 60)
# Minutes between the worker's sweeps of unclaimed uploads (0: never; `cleanup_uploads` by hand).
UPLOAD_SWEEP_EVERY_MINUTES = env.int("UPLOAD_SWEEP_EVERY_MINUTES", default=60)
UPLOAD_MAX_PIXELS = env.int("UPLOAD_MAX_PIXELS", default=50_000_000)
UPLOAD_MAX_FILES = env.int("UPLOAD_MAX_FILES", default=10)

# --- Email ----------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env.str("SENDGRID_API_KEY", default=""):
    EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    ANYMAIL = {"SENDGRID_API_KEY": env.str("SENDGRID_API_KEY")}
elif env.str("EMAIL_BACKEND", default=""):
    # Any other anymail ESP: EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend plus ANYMAIL_* keys.
    EMAIL_BACKEND = env.str("EMAIL_BACKEND")
    ANYMAIL = {
        key.removeprefix("ANYMAIL_"): value
        for key, value in env.ENVIRON.items()
        if key.startswith("ANYMAIL_")
    }
elif env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Every email is queued (after the commit) and the worker hands it to the backend chosen above,
# retrying while the provider fails: a slow or down provider never fails a request.
EMAIL_DELIVERY_BACKEND = EMAIL_BACKEND
EMAIL_BACKEND = "chatsite.mail.TaskEmailBackend"

# --- Background tasks (chatsite/tasks.py, docs/tasks.md) ------------------------------------
TASKS_BACKEND = env.str("TASKS_BACKEND", default="database")
# Read by django-rq on import; unused unless TASKS_BACKEND=rq (chatsite.E011 wants REDIS_URL then).
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}}
if TASKS_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Seconds before a failed task's first retry; each next retry waits about twice as long.
TASKS_RETRY_BACKOFF_SECONDS = env.float("TASKS_RETRY_BACKOFF_SECONDS", default=10.0)
# A database worker silent this long is taken for dead: the task it was running runs again.
TASKS_WORKER_TIMEOUT = env.int("TASKS_WORKER_TIMEOUT", default=60)
# Finished task results (and spent idempotency keys) older than this are deleted...
TASKS_PRUNE_AFTER_DAYS = env.int("TASKS_PRUNE_AFTER_DAYS", default=14)
# ...this often (minutes; 0 turns the periodic job off).
TASKS_PRUNE_EVERY_MINUTES = env.int("TASKS_PRUNE_EVERY_MINUTES", default=24 * 60)
# False runs enqueue_on_commit's tasks at once (the test suite's eager backend in `db` tests,
# whose transaction never commits); production always waits for the commit.
TASKS_ON_COMMIT = True

# --- AI assistant and calls -----------------------------------------------------------------
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
# The assistant (messaging/assistant.py): on when OPENAI_API_KEY or OPENAI_BASE_URL is set.
ASSISTANT_NAME = env.str("ASSISTANT_NAME", default="Assistant")
_ASSISTANT_PROMPT = "You are a helpful assistant inside a chat site. Answer briefly and clearly; use Markdown sparingly."
ASSISTANT_SYSTEM_PROMPT = env.str("ASSISTANT_SYSTEM_PROMPT", default=_ASSISTANT_PROMPT)
# Tokens of chat history sent with each question (counted as about four characters a token).
ASSISTANT_CONTEXT_TOKENS = env.int("ASSISTANT_CONTEXT_TOKENS", default=3000)
ASSISTANT_RATE_LIMIT = env.str("ASSISTANT_RATE_LIMIT", default="10/m")
# Tokens (prompt + answer) one person may use per calendar month; 0: no budget.
ASSISTANT_MONTHLY_TOKENS = env.int("ASSISTANT_MONTHLY_TOKENS", default=200000)
# Seconds without a byte from the endpoint before the answer is given up.
ASSISTANT_TIMEOUT_SECONDS = env.float("ASSISTANT_TIMEOUT_SECONDS", default=60.0)
# No STUN/TURN by default: a self-hosted site should not call out to third parties unasked.
ICE_SERVERS = env.json("ICE_SERVERS", default=[])
# Calls: seconds a call rings before it counts as missed; people in one full-mesh call; seconds a
# participant whose socket closed (a reload, a navigation) has to come back before being dropped.
CALL_RING_SECONDS = env.int("CALL_RING_SECONDS", default=30)
# How often the worker sweeps calls (missed when they rang too long, vanished participants dropped).
CALL_SWEEP_EVERY_MINUTES = env.float("CALL_SWEEP_EVERY_MINUTES", default=0.25)
CALL_MAX_PARTICIPANTS = env.int("CALL_MAX_PARTICIPANTS", default=6)
CALL_RECONNECT_SECONDS = env.int("CALL_RECONNECT_SECONDS", default=30)
# A TURN server of one's own (coturn with use-auth-secret): each call hands the browser a
# short-lived username and password made from this shared secret (the TURN REST API's scheme).
TURN_SECRET = env.str("TURN_SECRET", default="")
TURN_URLS = env.list("TURN_URLS", default=[])
TURN_TTL_SECONDS = env.int("TURN_TTL_SECONDS", default=6 * 3600)

# --- Chat limits ----------------------------------------------------------------------------
MESSAGE_MAX_LENGTH = env.int("MESSAGE_MAX_LENGTH", default=4000)
GROUP_MAX_MEMBERS = env.int("GROUP_MAX_MEMBERS", default=256)
DIGEST_AFTER_MINUTES = env.int("DIGEST_AFTER_MINUTES", default=60)
# How often the worker sends the digests (minutes; 0 turns them off).
DIGEST_EVERY_MINUTES = env.int("DIGEST_EVERY_MINUTES", default=60)
# The site's public address, for links in emails sent outside a request (the digest). The default is
# where `make run` serves: a name, not 127.0.0.1, as browsers refuse passkeys at an IP address.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")
MESSAGE_RATE_LIMIT = env.str("MESSAGE_RATE_LIMIT", default="30/10s")

# --- Sockets --------------------------------------------------------------------------------
# Open sockets per person and process (tabs, devices); one more is closed with code 4429.
SOCKET_MAX_PER_USER = env.int("SOCKET_MAX_PER_USER", default=20)
# Events waiting for one socket before it counts as stuck and is closed (code 4001: reconnect, resume).
SOCKET_INBOX_SIZE = env.int("SOCKET_INBOX_SIZE", default=500)
# The largest frame a client may send (a message of MESSAGE_MAX_LENGTH characters fits several times over).
SOCKET_FRAME_MAX_BYTES = env.int("SOCKET_FRAME_MAX_BYTES", default=65536)
# Check every event and socket reply against chatsite/protocol.py as it is made (the test suite).
PROTOCOL_CHECKS = False

# --- Operations -----------------------------------------------------------------------------
# Seconds /readyz waits for each dependency (database, cache, channel layer) before calling it failed.
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=2.0)
# The ASGI server connects to the database and Redis before serving, and refuses to start without.
STARTUP_CHECKS = env.bool("STARTUP_CHECKS", default=True)

# --- HTTP API (chatsite/api.py, docs/api.md) ------------------------------------------------
# Requests per window per token (or per signed-in app), answered 429 with Retry-After past it.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/m")
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=20)
# Origins whose pages may call the API from a browser (CORS). None by default: apps, bots and
# scripts are not browsers and need no CORS; list an origin only for a web client you host elsewhere.
CORS_ALLOWED_ORIGINS = env.list("API_CORS_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api/|_allauth/)"

# The app sign-in API (allauth headless): short-lived JWT access tokens, rotating refresh tokens.
HEADLESS_CLIENTS = ("app",)
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.JWTTokenStrategy"
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = env.int("API_ACCESS_TOKEN_SECONDS", default=300)
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = env.int("API_REFRESH_TOKEN_SECONDS", default=30 * 86400)
HEADLESS_SERVE_SPECIFICATION = False  # its docs page loads Redoc from a CDN; docs/api.md links allauth's spec


def _jwt_private_key() -> str:
    """The RSA key that signs the app API's access tokens: API_JWT_PRIVATE_KEY (PEM), else one
    generated once and kept in var/ like SECRET_KEY (every process of one site must share it)."""
    if key := env.str("API_JWT_PRIVATE_KEY", default="", multiline=True):
        return key
    key_file = VAR_DIR / "jwt_private_key.pem"
    if not key_file.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        key_file.write_bytes(pem)
        key_file.chmod(0o600)
    return key_file.read_text()


HEADLESS_JWT_PRIVATE_KEY = _jwt_private_key()

# --- Web Push and the installable app (accounts/push.py, README "Push notifications") ---------
PUSH_ENABLED = env.bool("PUSH_ENABLED", default=True)


def _vapid_private_key() -> str:
    """The P-256 key that signs every push (VAPID, RFC 8292): VAPID_PRIVATE_KEY (PEM), else one
    generated once and kept in var/ like SECRET_KEY. Browsers bind a subscription to its public
    half: a new key silently orphans every subscription, so every process must share this one."""
    if key := env.str("VAPID_PRIVATE_KEY", default="", multiline=True):
        return key
    key_file = VAR_DIR / "vapid_private_key.pem"
    if not key_file.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        key_file.write_bytes(pem)
        key_file.chmod(0o600)
    return key_file.read_text()


VAPID_PRIVATE_KEY = _vapid_private_key()
# Who the push services may contact about this server's pushes (the JWT's "sub").
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="mailto:noreply@localhost")
# How long a push service keeps a push for a device that is offline.
PUSH_TTL_SECONDS = env.int("PUSH_TTL_SECONDS", default=86400)
# A tab says every so often that it is visible on its device; it counts as gone after this.
PUSH_PRESENCE_TTL_SECONDS = env.int("PUSH_PRESENCE_TTL_SECONDS", default=60)
PUSH_TIMEOUT_SECONDS = env.int("PUSH_TIMEOUT_SECONDS", default=10)

# --- Bots: API sockets and webhooks (chatsite/ws_auth.py, messaging/webhooks.py) -------------
# A socket ticket (POST /api/v1/socket/ticket) opens one socket within this many seconds, once.
SOCKET_TICKET_SECONDS = env.int("SOCKET_TICKET_SECONDS", default=30)
# Outgoing webhooks: a webhook is disabled (its owner notified) after this many failed calls in a row.
WEBHOOK_MAX_FAILURES = env.int("WEBHOOK_MAX_FAILURES", default=10)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Webhook URLs resolving to private, loopback or link-local addresses are refused unless this is on
# (a receiver on the same network, or the test suite's on 127.0.0.1).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
# Messages one incoming webhook (/hooks/<secret>) may post per window.
INCOMING_WEBHOOK_RATE_LIMIT = env.str("INCOMING_WEBHOOK_RATE_LIMIT", default="20/m")

# --- Security -------------------------------------------------------------------------------
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=False)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # The nonce admits the one small per-user rule of the chat page ("my" messages).
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        # The service worker (/sw.js) and the web app manifest (chatsite/pwa.py).
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}
if AWS_STORAGE_BUCKET_NAME:
    # Files are redirects to presigned URLs of the bucket, and S3 uploads go straight to it.
    from chatsite.s3 import admit_bucket, bucket_origins

    CONTENT_SECURITY_POLICY = admit_bucket(CONTENT_SECURITY_POLICY, bucket_origins(AWS_STORAGE_BUCKET_NAME,
                                                                                   _default_storage["OPTIONS"]))

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# Where `manage.py makemessages -l <code>` writes the project's catalogs (none ship yet). Text that
# is stored (system lines in chats, notifications) is written in LANGUAGE_CODE's language.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# `text` for a terminal, `json` (one JSON object per line) for a log shipper; every record carries the
# request id (chatsite/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "chatsite.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "chatsite.logs.json_formatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                             "formatter": "json" if LOG_FORMAT == "json" else "text"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    # The worker says what it runs, retries and gives up on (with the enqueuing request's id).
    "loggers": {"chatsite.tasks": {"level": "INFO"}},
}
