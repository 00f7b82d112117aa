"""Delivering the SMS outbox through a configurable gateway adapter, with retries.

A row is claimed (status ``sending``) and committed before the gateway is
called, so no database lock is held during network I/O. A worker that dies
mid-send leaves the row ``sending``; it is claimed again after CLAIM_TIMEOUT,
so delivery is at-least-once and never silently lost.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import and_, or_, select

from . import clock
from .config import PROJECT_ROOT
from .db import Database
from .models import SmsMessage

log = logging.getLogger(__name__)

RETRY_DELAYS = (30, 120, 600, 1800, 3600)  # seconds; after the last, the message is failed
CLAIM_TIMEOUT = timedelta(minutes=5)


class DeliveryError(Exception):
    pass


class SmsAdapter(Protocol):
    def send(self, phone: str, text: str, ref: str) -> str:
        """Deliver one SMS; return the provider's reference or raise DeliveryError."""


@dataclass
class LogFileAdapter:
    """The default: one JSON line per SMS in a file (and the log). For demo and development."""

    path: Path

    def send(self, phone: str, text: str, ref: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"ref": ref, "phone": phone, "text": text, "at": clock.now().isoformat()},
                                 ensure_ascii=False) + "\n")
        log.info("SMS %s to %s: %s", ref, phone, text)
        return f"log:{ref}"


@dataclass
class HttpGatewayAdapter:
    """POST {phone, text, ref} as JSON to an SMS gateway; a 2xx with {"id": ...} is success."""

    url: str
    token: str = ""
    timeout: float = 10.0

    def send(self, phone: str, text: str, ref: str) -> str:
        body = json.dumps({"phone": phone, "text": text, "ref": ref}, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"gateway answered {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise DeliveryError(f"gateway unreachable: {exc}") from None
        return str(payload.get("id") or ref)


def adapter_from_env() -> SmsAdapter:
    kind = os.environ.get("COMPLAINTFLOW_SMS_ADAPTER", "log")
    if kind == "http":
        url = os.environ.get("COMPLAINTFLOW_SMS_URL", "")
        if not url:
            raise ValueError("COMPLAINTFLOW_SMS_ADAPTER=http needs COMPLAINTFLOW_SMS_URL")
        return HttpGatewayAdapter(url, os.environ.get("COMPLAINTFLOW_SMS_TOKEN", ""),
                                  float(os.environ.get("COMPLAINTFLOW_SMS_TIMEOUT", "10")))
    if kind == "log":
        return LogFileAdapter(Path(os.environ.get("COMPLAINTFLOW_SMS_LOG", PROJECT_ROOT / "instance" / "sms.log")))
    raise ValueError(f"COMPLAINTFLOW_SMS_ADAPTER must be 'log' or 'http', not {kind!r}")


class SmsSender:
    def __init__(self, db: Database, adapter: SmsAdapter) -> None:
        self.db = db
        self.adapter = adapter

    def _claim(self, limit: int) -> list[SmsMessage]:
        now = clock.now()
        with self.db.write() as session:
            due = or_(and_(SmsMessage.status == "pending", SmsMessage.next_attempt_at <= now),
                      and_(SmsMessage.status == "sending", SmsMessage.next_attempt_at <= now - CLAIM_TIMEOUT))
            rows = session.scalars(select(SmsMessage).where(due).order_by(SmsMessage.id).limit(limit)
                                   .with_for_update(skip_locked=True)).all()
            for row in rows:
                row.status, row.next_attempt_at, row.attempts = "sending", now, row.attempts + 1
            return rows

    def send_due(self, limit: int = 100) -> int:
        """Send what is due; returns how many were delivered."""
        delivered = 0
        for message in self._claim(limit):
            try:
                ref = self.adapter.send(message.phone, message.text, f"sms-{message.id}")
                self._finish(message.id, sent=True, ref=ref)
                delivered += 1
            except DeliveryError as exc:
                log.warning("SMS %s for case %s failed: %s", message.id, message.business_key, exc)
                self._finish(message.id, sent=False, error=str(exc))
        return delivered

    def _finish(self, message_id: int, sent: bool, ref: str | None = None, error: str | None = None) -> None:
        now = clock.now()
        with self.db.write() as session:
            row = session.get(SmsMessage, message_id)
            if sent:
                row.status, row.sent_at, row.provider_ref, row.last_error = "sent", now, ref, None
            elif row.attempts > len(RETRY_DELAYS):
                row.status, row.last_error = "failed", error
            else:
                row.status, row.last_error = "pending", error
                row.next_attempt_at = now + timedelta(seconds=RETRY_DELAYS[row.attempts - 1])
