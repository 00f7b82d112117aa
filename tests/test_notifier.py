"""Delivering the SMS outbox: log-file and HTTP gateway adapters, retries, claims."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.models import SmsMessage
from engine.notifier import HttpGatewayAdapter, LogFileAdapter, SmsSender, adapter_from_env


def queue(db, clock, phone: str = "13800138000", text: str = "测试短信") -> int:  # noqa: ANN001
    with db.write() as session:
        message = SmsMessage(phone=phone, template="ack", text=text, status="pending", attempts=0,
                             next_attempt_at=clock.now(), created_at=clock.now(), business_key="TS1")
        session.add(message)
        session.flush()
        return message.id


def row(db, message_id: int) -> SmsMessage:  # noqa: ANN001
    with db.read() as session:
        return session.get(SmsMessage, message_id)


class Gateway:
    """A real HTTP SMS gateway on 127.0.0.1 that fails the first ``failures`` requests."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if gateway.failures > 0:
                    gateway.failures -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                gateway.received.append({"body": body, "auth": self.headers.get("Authorization")})
                payload = json.dumps({"id": f"gw-{len(gateway.received)}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():  # noqa: ANN201
    server = Gateway()
    yield server
    server.close()


def test_log_file_adapter_writes_one_json_line_per_sms(db, clock, tmp_path):  # noqa: ANN001
    message_id = queue(db, clock)
    sender = SmsSender(db, LogFileAdapter(tmp_path / "sms.log"))
    assert sender.send_due() == 1
    line = json.loads((tmp_path / "sms.log").read_text(encoding="utf-8"))
    assert line["phone"] == "13800138000" and line["text"] == "测试短信" and line["ref"] == f"sms-{message_id}"
    sent = row(db, message_id)
    assert sent.status == "sent" and sent.provider_ref == f"log:sms-{message_id}"
    assert sender.send_due() == 0


def test_http_gateway_delivers_with_token(db, clock, gateway):  # noqa: ANN001
    message_id = queue(db, clock)
    assert SmsSender(db, HttpGatewayAdapter(gateway.url, token="secret")).send_due() == 1
    assert gateway.received == [{"body": {"phone": "13800138000", "text": "测试短信", "ref": f"sms-{message_id}"},
                                 "auth": "Bearer secret"}]
    assert row(db, message_id).provider_ref == "gw-1"


def test_failures_retry_with_backoff_then_give_up(db, clock, gateway):  # noqa: ANN001
    gateway.failures = 100
    message_id = queue(db, clock)
    sender = SmsSender(db, HttpGatewayAdapter(gateway.url))
    assert sender.send_due() == 0
    first = row(db, message_id)
    assert first.status == "pending" and first.attempts == 1 and "503" in first.last_error
    assert first.next_attempt_at == datetime(2026, 3, 2, 1, 0, 30, tzinfo=UTC)
    assert sender.send_due() == 0  # not due yet
    assert row(db, message_id).attempts == 1
    for delay in (30, 120, 600, 1800, 3600):
        clock.advance(delay)
        sender.send_due()
    failed = row(db, message_id)
    assert failed.status == "failed" and failed.attempts == 6


def test_retry_succeeds_once_the_gateway_is_back(db, clock, gateway):  # noqa: ANN001
    gateway.failures = 1
    message_id = queue(db, clock)
    sender = SmsSender(db, HttpGatewayAdapter(gateway.url))
    assert sender.send_due() == 0
    clock.advance(30)
    assert sender.send_due() == 1
    assert row(db, message_id).status == "sent" and len(gateway.received) == 1


def test_unreachable_gateway_is_a_retry_not_a_crash(db, clock):  # noqa: ANN001
    message_id = queue(db, clock)
    assert SmsSender(db, HttpGatewayAdapter("http://127.0.0.1:9/sms", timeout=1)).send_due() == 0
    assert "unreachable" in row(db, message_id).last_error


def test_a_claim_left_by_a_dead_worker_is_taken_again(db, clock, tmp_path):  # noqa: ANN001
    message_id = queue(db, clock)
    sender = SmsSender(db, LogFileAdapter(tmp_path / "sms.log"))
    assert [m.id for m in sender._claim(10)] == [message_id]  # claimed, then the worker died
    assert sender.send_due() == 0
    clock.advance(301)
    assert sender.send_due() == 1
    assert row(db, message_id).status == "sent"


def test_adapter_configuration(monkeypatch, tmp_path):  # noqa: ANN001
    monkeypatch.setenv("COMPLAINTFLOW_SMS_ADAPTER", "http")
    monkeypatch.delenv("COMPLAINTFLOW_SMS_URL", raising=False)
    with pytest.raises(ValueError, match="COMPLAINTFLOW_SMS_URL"):
        adapter_from_env()
    monkeypatch.setenv("COMPLAINTFLOW_SMS_URL", "http://127.0.0.1:1/x")
    assert isinstance(adapter_from_env(), HttpGatewayAdapter)
    monkeypatch.setenv("COMPLAINTFLOW_SMS_ADAPTER", "log")
    monkeypatch.setenv("COMPLAINTFLOW_SMS_LOG", str(tmp_path / "x.log"))
    assert adapter_from_env() == LogFileAdapter(tmp_path / "x.log")
    monkeypatch.setenv("COMPLAINTFLOW_SMS_ADAPTER", "pigeon")
    with pytest.raises(ValueError, match="pigeon"):
        adapter_from_env()
