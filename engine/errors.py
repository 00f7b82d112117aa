"""Errors the engine raises; each carries the HTTP status it means."""
from __future__ import annotations


class EngineError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def to_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class BadRequest(EngineError):
    status, code = 400, "bad_request"


class Unauthorized(EngineError):
    status, code = 401, "unauthorized"


class Forbidden(EngineError):
    status, code = 403, "forbidden"


class NotFound(EngineError):
    status, code = 404, "not_found"


class Conflict(EngineError):
    status, code = 409, "conflict"


class PayloadTooLarge(EngineError):
    status, code = 413, "payload_too_large"


class TooManyRequests(EngineError):
    """Too many failed sign-ins; ``retry_after`` seconds until the next attempt is heard."""

    status, code = 429, "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ValidationFailed(EngineError):
    """Input that is well-formed but wrong: 422 with per-field messages."""

    status, code = 422, "validation_failed"


class ModelInvalid(EngineError):
    """A BPMN/DMN/form upload with problems; ``problems`` lists each with file, element and line."""

    status, code = 422, "model_invalid"

    def __init__(self, message: str, problems: list[dict]) -> None:
        super().__init__(message)
        self.problems = problems

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "problems": self.problems}


class ProcessFault(EngineError):
    """Our fault or the model's while running a case: logged, case left as it was."""

    status, code = 500, "process_fault"


class ScriptFailed(EngineError):
    """A script or condition of the model was stopped by its time limit or refused by the sandbox
    while a case ran: the model's fault, not ours. Logged and recorded on the case, which is left as it was."""

    status, code = 422, "script_failed"

    def __init__(self, message: str, element_id: str, file: str) -> None:
        super().__init__(message)
        self.element_id = element_id
        self.file = file

    def to_dict(self) -> dict:
        return {**super().to_dict(), "element_id": self.element_id, "file": self.file}


class HolidayDataMissing(EngineError):
    """A deadline reaches into a year whose holiday arrangement is not loaded."""

    status, code = 422, "holiday_data_missing"

    def __init__(self, year: int) -> None:
        super().__init__(
            f"no holiday data for {year}: import the State Council arrangement for {year} "
            f"(admin calendar) before computing working-day deadlines that reach into it"
        )
        self.year = year


class DatabaseFault(EngineError):
    """The database could not do its part (down, read-only, full), not the request nor a bug.

    The transaction was rolled back, so the same request can be sent again once the fault is gone
    (``retry_after`` seconds is a hint). Only a connection lost during COMMIT leaves it unknown whether
    the change was made; the retry then answers 409 or 404 if it was.
    """

    status, code = 503, "database_unavailable"
    retry_after = 5

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail  # the driver's words, for the log only (they may name hosts)


class DatabaseUnavailable(DatabaseFault):
    """No connection, or the connection was lost (a restart, a network cut, too many connections)."""

    status, code = 503, "database_unavailable"


class DatabaseReadOnly(DatabaseFault):
    """The database takes no writes (a standby, or default_transaction_read_only); reads still work."""

    status, code = 503, "database_read_only"
    retry_after = 30


class StorageFull(DatabaseFault):
    """The disk (or SQLite's max_page_count) is full; reads still work."""

    status, code = 507, "storage_full"
    retry_after = 60
