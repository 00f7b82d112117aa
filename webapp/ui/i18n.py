"""Languages and the names of codes.

Simplified Chinese (zh_CN) is the default for everyone; a user may switch to
English for their session. Message ids in the code and templates are English;
webapp/translations holds the catalogs (``make translations`` rebuilds them).
"""
from __future__ import annotations

from flask import Flask, session
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l

LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"
SESSION_KEY = "lang"

babel = Babel()


def select_locale() -> str:
    chosen = session.get(SESSION_KEY)
    return chosen if chosen in LANGUAGES else DEFAULT_LOCALE


def init_i18n(app: Flask) -> None:
    from webapp import state

    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", state(app).settings.timezone)
    babel.init_app(app, locale_selector=select_locale)


def current_language() -> str:
    """The language code this request renders in: zh_CN or en."""
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def html_lang() -> str:
    return "zh-CN" if current_language() == "zh_CN" else "en"


# --- names of codes -------------------------------------------------------------------

ROLES = {
    "intake": _l("Intake agent"),
    "dispatcher": _l("Dispatcher"),
    "escalation": _l("Escalation desk"),
    "appeals": _l("Appeals officer"),
    "supervisor": _l("Supervisor"),
    "owner": _l("Process owner"),
    "admin": _l("Administrator"),
    "gateway": _l("Gateway"),
}

DEPARTMENTS = {
    "network": _l("Network"),
    "billing": _l("Billing"),
    "broadband": _l("Broadband installation & repair"),
    "channel": _l("Sales channels"),
    "enterprise": _l("Enterprise customers"),
    "city": _l("City branch"),
    "product": _l("Products"),
    "it": _l("IT support"),
}

CATEGORIES = {
    "network_coverage": _l("Network coverage"),
    "mobile_data": _l("Mobile data"),
    "mobile_voice": _l("Mobile voice"),
    "broadband_network": _l("Broadband network"),
    "broadband_repair": _l("Broadband repair"),
    "broadband_install": _l("Broadband installation"),
    "broadband_move": _l("Broadband move"),
    "billing": _l("Billing"),
    "product_rules": _l("Products and rules"),
    "service": _l("Channel service"),
    "onboarding": _l("Onboarding"),
    "porting": _l("Number porting"),
    "cancellation": _l("Cancellation"),
    "iptv": _l("IPTV"),
    "fixed_line": _l("Fixed line"),
    "contract": _l("Contracts"),
    "invoice": _l("Invoices"),
    "value_added": _l("Value-added services"),
}

BUSINESS_LINES = {
    "mobile": _l("Mobile"),
    "broadband": _l("Broadband"),
    "fixed": _l("Fixed line"),
    "converged": _l("Converged"),
}

REGIONS = {"urban": _l("Urban"), "suburban": _l("Suburban"), "rural": _l("Rural")}

CHANNELS = {
    "10010": _l("10010 hotline"),
    "online": _l("Online service"),
    "app": _l("Mobile app"),
    "store": _l("Store"),
    "10015": _l("10015 escalation line"),
    "10019": _l("10019 hotline"),
    "regulator": _l("Regulator"),
    "media": _l("Media"),
}

TIERS = {"svip": _l("SVIP"), "high": _l("4-5 star"), "standard": _l("Standard")}

STATUSES = {
    "running": _l("In progress"),
    "suspended": _l("Suspended"),
    "completed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}

SLA_NAMES = {
    "reply": _l("Reply"),
    "resolve": _l("Resolve"),
    "closure": _l("Time-limited closure"),
    "repair": _l("Repair"),
    "install": _l("Installation"),
    "statutory": _l("Statutory reply"),
    "appeal": _l("Appeal answer"),
    "contact": _l("Contact customer"),
}

BASES = {
    "hours": _l("natural hours"),
    "working_days": _l("working days"),
    "business_hours": _l("business hours"),
    "calendar_days": _l("calendar days"),
}

EVENTS = {
    "case_started": _l("Case opened"),
    "sla_policy_changed": _l("SLA limit changed"),
    "case_completed": _l("Case closed"),
    "case_cancelled": _l("Case cancelled"),
    "case_suspended": _l("Case suspended"),
    "case_resumed": _l("Case resumed"),
    "case_linked": _l("Linked case opened"),
    "case_migrated": _l("Moved to another process version"),
    "task_ready": _l("Task opened"),
    "task_completed": _l("Completed"),
    "task_claimed": _l("Claimed"),
    "task_released": _l("Released"),
    "task_reassigned": _l("Reassigned"),
    "task_cancelled": _l("Task withdrawn"),
    "timer_fired": _l("Timer fired"),
    "message_received": _l("Message received"),
    "sms_queued": _l("SMS queued"),
    "comment_added": _l("Comment"),
    "error": _l("Error"),
}

SMS_TEMPLATES = {
    "ack": _l("Receipt"),
    "reply": _l("Reply"),
    "callback": _l("Callback"),
    "reopen": _l("Reopened"),
    "upgrade": _l("Upgraded"),
    "appeal_contact": _l("Appeal contact"),
    "appeal_result": _l("Appeal result"),
}

SMS_STATUSES = {"pending": _l("queued"), "sending": _l("sending"), "sent": _l("sent"), "failed": _l("failed")}

# Case data fields shown first, in this order, on the case page.
FIELDS = {
    "complaint_number": _l("Number"),
    "customer_name": _l("Customer"),
    "phone": _l("Phone"),
    "callback_phone": _l("Callback phone"),
    "star_level": _l("Star level"),
    "svip": _l("SVIP"),
    "channel": _l("Channel"),
    "business_line": _l("Business line"),
    "category": _l("Category"),
    "region": _l("Region"),
    "city": _l("City"),
    "description": _l("Description"),
    "request": _l("Customer request"),
    "repeat_of": _l("Repeat of"),
    "repeat_count": _l("Earlier complaints"),
    "original_number": _l("Original case"),
}

# Values of these fields are codes with names above.
CODED_FIELDS = {"channel": CHANNELS, "business_line": BUSINESS_LINES, "category": CATEGORIES, "region": REGIONS,
                "department": DEPARTMENTS, "departments": DEPARTMENTS, "tier": TIERS}


def role_name(role: str | None) -> str:
    if not role:
        return ""
    if role.startswith("dept:"):
        code = role.split(":", 1)[1]
        return str(DEPARTMENTS.get(code, code))
    return str(ROLES.get(role, role))


def label(table: dict, code: object) -> str:
    if code is None or code == "":
        return ""
    return str(table.get(code, code)) if isinstance(code, str) else str(code)
