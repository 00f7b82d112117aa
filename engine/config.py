"""Settings read from the environment, with defaults that work from a fresh clone."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _whole(name: str, default: int, minimum: int = 0) -> int:
    """An integer setting; a bad value is refused with the variable's name."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def _seconds(name: str, default: float, minimum: float = 0.0) -> float:
    """A number of seconds; a bad value is refused with the variable's name."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, not {raw!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum:g}, not {raw}")
    return value


def default_database_url() -> str:
    instance_dir = PROJECT_ROOT / "instance"
    return f"sqlite:///{instance_dir / 'complaintflow.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=default_database_url)
    port: int = 5000
    test_clock: bool = False
    demo: bool = False
    processes_dir: Path = PROJECT_ROOT / "processes"
    forms_dir: Path = PROJECT_ROOT / "forms"
    timezone: str = "Asia/Shanghai"
    # Upload limits: a BPMN file larger than this is refused before parsing.
    max_model_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 8 * 1024 * 1024
    # Script tasks, conditions and timer expressions get this much wall time.
    script_time_limit_seconds: float = 1.0
    scheduler_interval_seconds: float = 1.0
    token_ttl_hours: int = 12
    # How long each process trusts a bearer-token check (webapp/auth.py TokenCache); 0: check every call.
    token_cache_seconds: float = 5.0
    # PostgreSQL: the inbox's count of matching tasks gets this many milliseconds; past it the reply carries
    # the planner's estimate (total_estimated). 0: no budget, always count (up to the cap).
    inbox_count_budget_ms: int = 100
    secret_key: str = ""
    # `serve`: gunicorn worker processes (None: 1 on SQLite, one per CPU on PostgreSQL) and threads in each.
    web_workers: int | None = None
    web_threads: int = 4
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted (0: none).
    proxy_hops: int = 0
    # SQLAlchemy connection pool per process (PostgreSQL): kept open, and extra under load.
    db_pool_size: int = 10
    db_max_overflow: int = 20
    # Reports read from this database (a read replica) when set; None: from database_url.
    reports_database_url: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL") or default_database_url(),
            port=int(os.environ.get("PORT", "5000")),
            test_clock=_flag("COMPLAINTFLOW_TEST_CLOCK"),
            demo=_flag("COMPLAINTFLOW_DEMO"),
            processes_dir=Path(os.environ.get("COMPLAINTFLOW_PROCESSES_DIR", PROJECT_ROOT / "processes")),
            forms_dir=Path(os.environ.get("COMPLAINTFLOW_FORMS_DIR", PROJECT_ROOT / "forms")),
            scheduler_interval_seconds=float(os.environ.get("COMPLAINTFLOW_SCHEDULER_INTERVAL", "1.0")),
            secret_key=os.environ.get("COMPLAINTFLOW_SECRET_KEY") or os.environ.get("SECRET_KEY", ""),
            web_workers=_whole("COMPLAINTFLOW_WORKERS", 0, 0) or None,
            web_threads=_whole("COMPLAINTFLOW_THREADS", 4, 1),
            proxy_hops=_whole("COMPLAINTFLOW_PROXY_HOPS", 0, 0),
            db_pool_size=_whole("COMPLAINTFLOW_DB_POOL_SIZE", 10, 1),
            db_max_overflow=_whole("COMPLAINTFLOW_DB_MAX_OVERFLOW", 20, 0),
            token_cache_seconds=_seconds("COMPLAINTFLOW_TOKEN_CACHE_SECONDS", 5.0),
            inbox_count_budget_ms=_whole("COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS", 100, 0),
            reports_database_url=os.environ.get("COMPLAINTFLOW_REPORTS_DATABASE_URL", "").strip() or None,
        )
