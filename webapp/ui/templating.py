"""Jinja filters and globals for the UI: local times, remaining time, names of codes."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from . import i18n
from .session import current_viewer


def _zone() -> ZoneInfo:
    from webapp import state

    return ZoneInfo(state(current_app).settings.timezone)


def to_local(value: object) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.astimezone(_zone()) if value.tzinfo is not None else value


def fmt_time(value: object, style: str = "short") -> str:
    """``short``: 03-02 09:00; ``full``: 2026-03-02 09:00; ``date``: 2026-03-02."""
    moment = to_local(value)
    if moment is None:
        return "" if value in (None, "") else str(value)
    pattern = {"short": "%m-%d %H:%M", "full": "%Y-%m-%d %H:%M", "date": "%Y-%m-%d"}.get(style, "%m-%d %H:%M")
    return moment.strftime(pattern)


def span_text(seconds: float) -> str:
    """A plain-time span: 2天3小时, 3小时20分, 12分钟."""
    seconds = abs(seconds)
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(d)sd %(h)sh", d=days, h=hours) if hours else _("%(d)sd", d=days)
    if hours:
        return _("%(h)sh %(m)sm", h=hours, m=minutes) if minutes else _("%(h)sh", h=hours)
    if minutes:
        return _("%(m)s min", m=minutes)
    return _("under 1 min")


def amount_text(deadline: dict) -> str:
    remaining = deadline.get("remaining")
    if remaining is None:
        return ""
    basis = deadline.get("basis")
    if basis == "working_days":
        days = round(abs(remaining), 1)
        return ngettext("%(amount)s working day", "%(amount)s working days", 1 if days == 1 else 2,
                        amount=f"{days:g}")
    if basis == "business_hours":
        hours = round(abs(remaining) / 3600, 1)
        return ngettext("%(amount)s business hour", "%(amount)s business hours", 1 if hours == 1 else 2,
                        amount=f"{hours:g}")
    return span_text(remaining)


def remaining_text(deadline: dict | None) -> str:
    """'2.5 working days left', '3h 20m left' or 'overdue 1h 5m'."""
    if not deadline or deadline.get("state") == "none":
        return _("no deadline")
    amount = amount_text(deadline)
    if deadline.get("state") == "overdue":
        return _("overdue %(amount)s", amount=amount)
    return _("%(amount)s left", amount=amount)


def value_text(name: str, value: object) -> str:
    """A case data value for reading: names for codes, yes/no, lists joined."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None or value == "":
        return "—"
    table = i18n.CODED_FIELDS.get(name)
    if table is not None and isinstance(value, str):
        return i18n.label(table, value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        shown = [i18n.label(table, v) if table is not None else str(v) for v in value]
        return "、".join(shown) if shown else "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def form_value(labels: dict, name: str, value: object) -> str:
    """A value entered in a task form, with the form's names for coded values (x-enumNames, oneOf titles)."""
    options = (labels.get(name) or {}).get("options") or {}
    if options:
        if isinstance(value, list):
            value = [options.get(str(v), v) for v in value]
        elif isinstance(value, str | int) and not isinstance(value, bool) and str(value) in options:
            return options[str(value)]
    return value_text(name, value)


def form_title(labels: dict, name: str) -> str:
    return (labels.get(name) or {}).get("title") or name


def init_templating(app: Flask) -> None:
    env = app.jinja_env
    env.filters.update(
        local=fmt_time,
        remaining=remaining_text,
        category=lambda code: i18n.label(i18n.CATEGORIES, code),
        business_line=lambda code: i18n.label(i18n.BUSINESS_LINES, code),
        region=lambda code: i18n.label(i18n.REGIONS, code),
        channel=lambda code: i18n.label(i18n.CHANNELS, code),
        tier=lambda code: i18n.label(i18n.TIERS, code),
        status=lambda code: i18n.label(i18n.STATUSES, code),
        sla_name=lambda code: i18n.label(i18n.SLA_NAMES, code),
        basis=lambda code: i18n.label(i18n.BASES, code),
        event=lambda code: i18n.label(i18n.EVENTS, code),
        role=i18n.role_name,
        sms_template=lambda code: i18n.label(i18n.SMS_TEMPLATES, code),
        sms_status=lambda code: i18n.label(i18n.SMS_STATUSES, code),
    )
    env.globals.update(value_text=value_text, form_value=form_value, form_title=form_title)

    @app.context_processor
    def _globals() -> dict:
        return {
            "viewer": current_viewer(),
            "html_lang": i18n.html_lang(),
            "languages": i18n.LANGUAGES,
            "current_locale": i18n.current_language(),
            "labels": i18n,
        }
