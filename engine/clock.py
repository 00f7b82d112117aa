"""One injectable clock behind every "now" in complaintflow.

SpiffWorkflow's timer events call ``datetime.now(timezone.utc)`` directly and
offer no hook, so ``install_into_spiff`` swaps the ``datetime`` name inside
SpiffWorkflow's timer module for a subclass whose ``now`` asks our clock.
Everything else in that module (parsing, arithmetic) is unchanged.
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class TestClock:
    """A clock that only moves when told to; thread-safe."""

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = _aware(start or datetime.now(UTC))

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> datetime:
        with self._lock:
            self._now = _aware(when)
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            return self._now


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("clock times must carry a timezone offset")
    return value.astimezone(UTC)


_current: Clock = SystemClock()


def get_clock() -> Clock:
    return _current


def set_clock(clock: Clock) -> Clock:
    """Make ``clock`` the process-wide clock; returns the previous one."""
    global _current
    previous, _current = _current, clock
    return previous


def now() -> datetime:
    return _current.now()


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        current = _current.now()
        return current.astimezone(tz) if tz is not None else current.astimezone().replace(tzinfo=None)


def install_into_spiff() -> None:
    """Route SpiffWorkflow's timer checks through our clock (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockedDatetime
