"""The SMS texts a process may send, by template name. Placeholders: {number} and the given params."""
from __future__ import annotations

import string

TEMPLATES: dict[str, str] = {
    "ack": "【中国联通】您的投诉已受理，工单号{number}，我们将尽快处理并与您联系。",
    "reply": "【中国联通】您的投诉（工单号{number}）已处理：{result}。如有疑问请致电10010。",
    "callback": "【中国联通】我们将就工单{number}的处理结果与您回访，感谢您的耐心。",
    "reopen": "【中国联通】您对工单{number}的处理不满意，我们已重新处理，将尽快与您联系。",
    "upgrade": "【中国联通】您的投诉已升级处理，升级工单号{number}，专席将在2小时内与您联系。",
    "reminder": "【中国联通】工单{number}即将到期，请尽快处理。",
    "appeal_contact": "【中国联通】您的申诉（{regulator_ticket}）已收到，工单号{number}，我们将与您联系。",
    "appeal_result": "【中国联通】您的申诉（{regulator_ticket}）处理结果：{outcome}。",
}

MAX_TEXT = 500


class TemplateError(ValueError):
    pass


def render(template: str, number: str, params: dict | None = None) -> str:
    if template not in TEMPLATES:
        raise TemplateError(f"unknown SMS template {template!r}; known: {', '.join(sorted(TEMPLATES))}")
    values = {key: str(value) for key, value in (params or {}).items()}
    values["number"] = number
    needed = {field for _, field, _, _ in string.Formatter().parse(TEMPLATES[template]) if field}
    missing = sorted(needed - set(values))
    if missing:
        raise TemplateError(f"SMS template {template!r} needs {', '.join(missing)}")
    text = TEMPLATES[template].format_map(values)
    if len(text) > MAX_TEXT:
        raise TemplateError(f"SMS text of template {template!r} is {len(text)} characters; the limit is {MAX_TEXT}")
    return text
