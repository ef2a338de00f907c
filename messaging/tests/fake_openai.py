"""A fake OpenAI-compatible server on 127.0.0.1: real HTTP, ``POST /v1/chat/completions`` with
server-sent-event streaming, as OpenAI, Ollama and vLLM speak it.

Each request takes the next behaviour from ``script`` (then ``default``):
- ``"ok"``: ``tokens`` one chunk each (``delay`` seconds apart), then, when the request asked for
  ``stream_options.include_usage``, a last chunk with ``usage``, then ``data: [DONE]``;
- ``"slow"``: the same with ``slow_delay`` between tokens (for Stop);
- ``"no_usage"``: "ok" without the usage chunk (usage is then counted from the text);
- ``"401"``, ``"429"``, ``"500"``: that status with an OpenAI error body;
- ``"context"``: 400 ``context_length_exceeded``;
- ``"filter"``: a few tokens, then ``finish_reason: "content_filter"``;
- ``"hang"``: headers, then nothing until the client gives up (a timeout).
Every request's JSON body is kept in ``requests`` so tests can check what the prompt held.
``refused_url()`` is an address where nothing listens (connection refused).
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    TOKENS = ("Hello", " there", "!", " How", " can", " I", " help", "?")

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[str] = []
        self.default = "ok"
        self.tokens = list(self.TOKENS)
        self.delay = 0.0
        self.slow_delay = 0.25
        self.usage = {"prompt_tokens": 42, "completion_tokens": 8, "total_tokens": 50}
        self.closing = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-openai", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    def start(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        self.requests.clear()
        self.script.clear()
        self.default = "ok"
        self.delay = 0.0
        self.slow_delay = 0.25
        self.tokens = list(self.TOKENS)

    def next_behaviour(self) -> str:
        return self.script.pop(0) if self.script else self.default

    def prompt_text(self, index: int = -1) -> str:
        """All the message contents of one recorded request, joined (for `in` checks)."""
        return "\n".join(m["content"] for m in self.requests[index]["messages"])

    @staticmethod
    def refused_url() -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # As real servers do (TCP_NODELAY): each SSE chunk leaves at once instead of waiting
            # behind the client's delayed ACK, so what is measured and tested is the site's timing.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    return self._error(404, "not_found", "No such route")
                fake.requests.append(body)
                behaviour = fake.next_behaviour()
                if behaviour == "401":
                    return self._error(401, "invalid_api_key", "Incorrect API key provided.")
                if behaviour == "429":
                    return self._error(429, "rate_limit_exceeded", "Rate limit reached.")
                if behaviour == "500":
                    return self._error(500, "server_error", "The server had an error.")
                if behaviour == "context":
                    return self._error(400, "context_length_exceeded",
                                       "This model's maximum context length is 10 tokens.")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                if behaviour == "hang":
                    fake.closing.wait(30)
                    return
                delay = fake.slow_delay if behaviour == "slow" else fake.delay
                tokens = fake.tokens[:3] if behaviour == "filter" else fake.tokens
                try:
                    for index, token in enumerate(tokens):
                        if index and delay and fake.closing.wait(delay):
                            return
                        self._chunk({"role": "assistant", "content": token} if index == 0 else {"content": token})
                    finish = "content_filter" if behaviour == "filter" else "stop"
                    self._chunk({}, finish_reason=finish)
                    include = (body.get("stream_options") or {}).get("include_usage")
                    if include and behaviour != "no_usage":
                        self._event({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                                     "model": body.get("model", "fake"), "choices": [], "usage": fake.usage})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (Stop): as a real server sees it

            def _chunk(self, delta, finish_reason=None):
                self._event({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": "fake", "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]})

            def _event(self, payload):
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

            def _error(self, status, code, message):
                data = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code,
                                             "param": None}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
