"""What a new complaint must carry, and how case numbers are made."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .errors import ValidationFailed
from .models import NumberSequence

SHANGHAI = ZoneInfo("Asia/Shanghai")

CHANNELS = ("10010", "online", "app", "store", "10015", "10019", "regulator", "media")
BUSINESS_LINES = ("mobile", "broadband", "fixed", "converged")
REGIONS = ("urban", "suburban", "rural")
CATEGORIES = (
    "network_coverage", "mobile_data", "mobile_voice", "broadband_network", "broadband_repair",
    "broadband_install", "billing", "product_rules", "service", "onboarding", "porting", "cancellation",
    "iptv", "fixed_line", "contract", "invoice", "value_added", "broadband_move",
)
PHONE = re.compile(r"^\+?[0-9][0-9\-]{4,19}$")

# The process POST /api/v1/complaints starts.
COMPLAINT_PROCESS = "complaint_intake"

# Prefix per process for the case numbers it starts (TS = 投诉, SJ = 升级, SS = 申诉).
NUMBER_PREFIXES = {"complaint_intake": "TS", "upgraded_complaint": "SJ", "customer_appeal": "SS"}


def validate_complaint(data: object) -> dict:
    """Check the fields of POST /complaints; return the clean case data or raise 422 naming each field."""
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", fields={"body": "expected an object"})
    errors: dict[str, str] = {}

    def text(name: str, max_len: int, required: bool = True) -> str | None:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors[name] = "required"
            return None
        if not isinstance(value, str):
            errors[name] = "must be a string"
            return None
        if len(value) > max_len:
            errors[name] = f"at most {max_len} characters"
            return None
        return value.strip()

    def choice(name: str, options: tuple[str, ...]) -> str | None:
        value = data.get(name)
        if value is None:
            errors[name] = "required"
        elif value not in options:
            errors[name] = f"must be one of: {', '.join(options)}"
        else:
            return value
        return None

    clean: dict = {}
    phone = text("phone", 20)
    if phone is not None and not PHONE.match(phone):
        errors["phone"] = "not a phone number"
    clean["phone"] = phone
    clean["customer_name"] = text("customer_name", 64)
    callback = text("callback_phone", 20, required=False)
    if callback is not None and not PHONE.match(callback):
        errors["callback_phone"] = "not a phone number"
    clean["callback_phone"] = callback or phone
    star = data.get("star_level")
    if isinstance(star, bool) or not isinstance(star, int) or not 0 <= star <= 7:
        errors["star_level"] = "an integer from 0 to 7"
    clean["star_level"] = star
    svip = data.get("svip", False)
    if not isinstance(svip, bool):
        errors["svip"] = "true or false"
    clean["svip"] = svip
    clean["channel"] = choice("channel", CHANNELS)
    clean["business_line"] = choice("business_line", BUSINESS_LINES)
    clean["category"] = choice("category", CATEGORIES)
    clean["region"] = choice("region", REGIONS)
    clean["city"] = text("city", 64)
    clean["description"] = text("description", 4000)
    clean["request"] = text("request", 2000)
    unknown = sorted(set(data) - set(clean) - {"callback_phone"})
    for name in unknown:
        errors[name] = "unknown field"
    if errors:
        raise ValidationFailed("the complaint has invalid fields", fields=errors)
    return clean


def next_number(session: Session, prefix: str, when: datetime) -> str:
    """TS + Shanghai date + 6-digit daily sequence, e.g. TS20261124000001. Safe under concurrency."""
    day = when.astimezone(SHANGHAI).strftime("%Y%m%d")
    name = f"{prefix}{day}"
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(NumberSequence).values(name=name, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[NumberSequence.name], set_={"value": NumberSequence.value + 1}
    ).returning(NumberSequence.value)
    value = session.execute(statement).scalar_one()
    return f"{name}{value:06d}"
