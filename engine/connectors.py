"""Service-task connectors: what a BPMN service task may do to the world.

They run inside the step's transaction: an SMS is written to the outbox and a
linked case is started in the same commit as the step that asked for it, or
not at all.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from . import audit, clock
from .complaints import PHONE
from .models import ProcessInstance, SmsMessage
from .scripting import RestrictedScriptEngine
from .sms_templates import TemplateError, render


class ConnectorError(ValueError):
    pass


# start_case(session, process_id, data, actor, original) -> new case number
StartCase = Callable[[Session, str, dict, str, ProcessInstance], str]


class Connectors:
    def __init__(self, session: Session, instance: ProcessInstance, start_case: StartCase) -> None:
        self.session = session
        self.instance = instance
        self.start_case = start_case
        self.operations: dict[str, Callable[..., dict]] = {"sms.send": self.sms_send, "case.start": self.case_start}

    def call(self, name: str, params: dict[str, Any]) -> dict:
        operation = self.operations.get(name)
        if operation is None:
            raise ConnectorError(f"unknown connector {name!r}; known: {', '.join(sorted(self.operations))}")
        try:
            return operation(**params)
        except TypeError as exc:
            raise ConnectorError(f"connector {name}: {exc}") from None

    def sms_send(self, phone: str, template: str, params: dict | None = None) -> dict:
        if not isinstance(phone, str) or not PHONE.match(phone):
            raise ConnectorError(f"sms.send: {phone!r} is not a phone number")
        if params is not None and not isinstance(params, dict):
            raise ConnectorError("sms.send: params must be a dict")
        try:
            text = render(template, self.instance.business_key, params)
        except TemplateError as exc:
            raise ConnectorError(f"sms.send: {exc}") from None
        now = clock.now()
        message = SmsMessage(instance_id=self.instance.id, business_key=self.instance.business_key, phone=phone,
                             template=template, text=text, status="pending", attempts=0, next_attempt_at=now,
                             created_at=now)
        self.session.add(message)
        self.session.flush()
        audit.record(self.session, "sms_queued", "engine", instance_id=self.instance.id,
                     business_key=self.instance.business_key, data={"template": template, "phone": phone})
        return {"outbox_id": message.id}

    def case_start(self, process_id: str, data: dict | None = None, link: str = "linked") -> dict:
        if data is not None and not isinstance(data, dict):
            raise ConnectorError("case.start: data must be a dict")
        number = self.start_case(self.session, process_id, dict(data or {}), "engine", self.instance)
        audit.record(self.session, "case_linked", "engine", instance_id=self.instance.id,
                     business_key=self.instance.business_key, data={"link": link, "to": number})
        return {"number": number}


class CaseScriptEngine(RestrictedScriptEngine):
    """The restricted engine plus service-task connectors bound to the running step."""

    def __init__(self, connectors: Connectors | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connectors = connectors

    def call_service(self, task, operation_name=None, operation_params=None, **_: Any) -> str:  # noqa: ANN001
        if self.connectors is None:
            raise ConnectorError("connectors are not available here")
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        return json.dumps(self.connectors.call(operation_name, params))


__all__ = ["CaseScriptEngine", "Connectors", "ConnectorError"]
