"""A counting stand-in for SendGrid, Twilio and Lob on loopback, for what Prism cannot do.

It records every request, answers like the provider (SendGrid 202 + ``X-Message-Id``; Twilio
message/call resources and lists filtered by To/From; Lob letters/postcards that honour
``Idempotency-Key`` like the real service), and can misbehave on purpose: a fixed status, a
delay, a dropped connection, or holding the answer to each touch's first request (the worker can
be killed while the provider already has the touch).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nurture.store import utcnow


@dataclass
class Seen:
    """One request the stub received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    touch_id: str | None
    at: float = 0.0  # time.monotonic() when it arrived
    message_id: str | None = None  # SendGrid's X-Message-Id for a Mail Send


@dataclass
class Failure:
    """Answer the next ``times`` matching requests with this status (and optional headers)."""

    status: int
    times: int = 1_000_000
    headers: dict[str, str] = field(default_factory=dict)
    path_prefix: str = "/"


class ProviderStub:
    """A threaded HTTP server playing the three providers; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.failures: list[Failure] = []
        self.delay = 0.0  # seconds before answering (timeouts)
        self.drop = False  # close the connection without an answer
        self.hold = 0.0  # seconds to hold the answer to each touch's first create request
        self.held_now = 0  # answers being held right now
        self.held_total = 0  # answers held so far
        self.last_request_at = 0.0
        self.lob_pieces: dict[str, dict[str, Any]] = {}  # idempotency key -> the piece made
        self.twilio_records: list[dict[str, Any]] = []
        self.batches: dict[str, str | None] = {}  # SendGrid batch id -> "cancel" or None
        self.cancel_limit = 10  # SendGrid's limit of batches paused or cancelled at once
        self.activity_delay = 0.0  # seconds before a message is listed by Email Activity
        self._held_keys: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                stub._handle(self)

            def do_POST(self) -> None:
                stub._handle(self)

            def do_DELETE(self) -> None:
                stub._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> ProviderStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ what tests read

    def creates(self, prefix: str) -> list[Seen]:
        """POST requests whose path starts with ``prefix``."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path.startswith(prefix)]

    def emails_out(self) -> dict[str, int]:
        """Mail Sends SendGrid accepted that go out (not in a cancelled batch), by touch id."""
        out: dict[str, int] = {}
        with self._lock:
            for r in self.requests:
                if r.path == "/v3/mail/send" and r.message_id and r.touch_id:
                    batch = (r.body or {}).get("batch_id")
                    if batch is None or self.batches.get(batch) != "cancel":
                        out[r.touch_id] = out.get(r.touch_id, 0) + 1
        return out

    def fail(self, status: int, times: int = 1_000_000, **headers: str) -> None:
        """Answer the next ``times`` requests with ``status``."""
        self.failures.append(Failure(status, times, dict(headers)))

    # ------------------------------------------------------------ serving

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        body: Any
        if "json" in (h.headers.get("Content-Type") or ""):
            body = json.loads(raw or b"null")
        else:
            body = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw.decode()).items()}
        seen = Seen(h.command, url.path, parse_qs(url.query), dict(h.headers), body, None)
        seen.at = time.monotonic()
        seen.touch_id = _touch_id(seen)
        with self._lock:
            self.requests.append(seen)
            self.last_request_at = time.monotonic()
            failure = next(
                (f for f in self.failures if f.times > 0 and url.path.startswith(f.path_prefix)),
                None,
            )
            if failure is not None:
                failure.times -= 1
        if self.drop:
            h.close_connection = True
            h.connection.close()
            return
        if self.delay:
            time.sleep(self.delay)
        if failure is not None:
            self._send(
                h, failure.status, {"errors": [{"message": "stub failure"}]}, failure.headers
            )
            return
        status, payload, headers = self._answer(seen)
        key = seen.touch_id if h.command == "POST" else None
        if self.hold and key:
            with self._lock:
                first = key not in self._held_keys
                self._held_keys.add(key)
                self.held_now += first
                self.held_total += first
            if first:
                time.sleep(self.hold)
                with self._lock:
                    self.held_now -= 1
        with contextlib.suppress(OSError):  # the client may be gone (a killed worker)
            self._send(h, status, payload, headers)

    def _answer(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        path = seen.path
        if path == "/v3/mail/send":
            seen.message_id = f"sg-{next(self._ids)}"
            return 202, None, {"X-Message-Id": seen.message_id}
        if path.startswith(("/v3/mail/batch", "/v3/user/scheduled_sends", "/v3/messages")):
            return self._sendgrid_more(seen)
        if path.startswith("/2010-04-01/") and path.endswith(("/Messages.json", "/Calls.json")):
            kind = "messages" if path.endswith("/Messages.json") else "calls"
            if seen.method == "POST":
                return 201, self._twilio_create(kind, seen.body), {}
            return 200, self._twilio_list(kind, seen.query), {}
        if path in ("/letters", "/postcards"):
            return 200, self._lob_create(path[1:-1], seen), {}
        return 404, {"error": {"message": f"no such path {path}"}}, {}

    def _sendgrid_more(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        """Batches, cancellations and Email Activity, like SendGrid."""
        path, refused = seen.path, {"errors": [{"message": ""}]}
        with self._lock:
            if path == "/v3/mail/batch" and seen.method == "POST":
                batch_id = f"batch{next(self._ids)}"
                self.batches[batch_id] = None
                return 201, {"batch_id": batch_id}, {}
            if path == "/v3/user/scheduled_sends" and seen.method == "POST":
                batch_id = (seen.body or {}).get("batch_id")
                if self.batches.get(batch_id) is not None:
                    refused["errors"][0]["message"] = "batch already cancelled or paused"
                    return 400, refused, {}
                if sum(s is not None for s in self.batches.values()) >= self.cancel_limit:
                    refused["errors"][0]["message"] = "max limit of cancellations reached"
                    return 400, refused, {}
                self.batches[batch_id] = "cancel"
                return 201, {"batch_id": batch_id, "status": "cancel"}, {}
            if path.startswith("/v3/user/scheduled_sends/"):
                batch_id = path.rsplit("/", 1)[1]
                if seen.method == "DELETE":
                    self.batches[batch_id] = None
                    return 204, None, {}
                status = self.batches.get(batch_id)
                return 200, ([{"batch_id": batch_id, "status": status}] if status else []), {}
            if path == "/v3/messages":
                query = seen.query.get("query", [""])[0]
                listed = [
                    {
                        "from_email": "sender@example.com",
                        "msg_id": r.message_id,
                        "subject": "",
                        "to_email": "lead@example.com",
                        "status": "processed",
                        "opens_count": 0,
                        "clicks_count": 0,
                        "last_event_time": "2026-01-01T00:00:00Z",
                    }
                    for r in self.requests
                    if r.path == "/v3/mail/send"
                    and r.message_id
                    and f'"{r.touch_id}"' in query
                    and r.at + self.activity_delay <= time.monotonic()
                    and self.batches.get((r.body or {}).get("batch_id")) != "cancel"
                ]
                return 200, {"messages": listed}, {}
        return 404, {"errors": [{"message": f"no such path {path}"}]}, {}

    def _twilio_create(self, kind: str, form: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            sid = ("SM" if kind == "messages" else "CA") + f"{next(self._ids):032x}"
            record = {
                "kind": kind,
                "sid": sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
                "date_created": format_datetime(utcnow(), usegmt=True),
                "account_sid": "AC" + "0" * 32,
            }
            self.twilio_records.append(record)
        return record

    def _twilio_list(self, kind: str, query: dict[str, list[str]]) -> dict[str, Any]:
        to, from_ = query.get("To", [None])[0], query.get("From", [None])[0]
        with self._lock:
            items = [
                r
                for r in reversed(self.twilio_records)
                if r["kind"] == kind and to in (None, r["to"]) and from_ in (None, r["from"])
            ]
        return {kind: items, "next_page_uri": None, "page": 0, "page_size": len(items)}

    def _lob_create(self, kind: str, seen: Seen) -> dict[str, Any]:
        key = seen.headers.get("Idempotency-Key") or f"no-key-{next(self._ids)}"
        with self._lock:
            if key not in self.lob_pieces:  # like Lob: a known key answers the original piece
                prefix = "ltr" if kind == "letter" else "psc"
                self.lob_pieces[key] = _lob_piece(f"{prefix}_{next(self._ids):016x}", kind, seen)
            return self.lob_pieces[key]

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str]
    ) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)


def _touch_id(seen: Seen) -> str | None:
    """The touch a request is about: SendGrid custom args, Twilio callback URL, Lob metadata."""
    body = seen.body if isinstance(seen.body, dict) else {}
    for person in body.get("personalizations") or []:
        if "touch_id" in (person.get("custom_args") or {}):
            return str(person["custom_args"]["touch_id"])
    callback = body.get("StatusCallback")
    if isinstance(callback, str) and "touch_id=" in callback:
        return parse_qs(urlsplit(callback).query)["touch_id"][0]
    metadata = body.get("metadata") or {}
    return metadata.get("touch_id") or seen.headers.get("Idempotency-Key")


def _lob_address(fields: dict[str, Any]) -> dict[str, Any]:
    now = utcnow().isoformat().replace("+00:00", "Z")
    return {
        "id": "adr_0123456789abcdef",
        "name": fields.get("name"),
        "address_line1": fields.get("address_line1") or "1 Main St",
        "address_city": fields.get("address_city") or "Springfield",
        "address_state": fields.get("address_state") or "IL",
        "address_zip": fields.get("address_zip") or "62701",
        "address_country": "UNITED STATES",
        "date_created": now,
        "date_modified": now,
        "object": "address",
    }


def _lob_piece(piece_id: str, kind: str, seen: Seen) -> dict[str, Any]:
    body = seen.body if isinstance(seen.body, dict) else {}
    now = utcnow().isoformat().replace("+00:00", "Z")
    sender = body.get("from")
    piece: dict[str, Any] = {
        "id": piece_id,
        "to": _lob_address(body.get("to") or {}),
        "from": _lob_address(sender if isinstance(sender, dict) else {}),
        "url": f"https://lob-assets.example/{piece_id}.pdf",
        "metadata": body.get("metadata") or {},
        "date_created": now,
        "date_modified": now,
        "use_type": "marketing",
        "object": kind,
    }
    if kind == "letter":
        piece["return_envelope"] = False
    return piece
