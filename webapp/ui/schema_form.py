"""HTML forms from a task's JSON Schema (forms/*.json), and the submitted values back as JSON data.

Widgets by schema:

| schema | widget |
|---|---|
| string with ``enum`` (or ``oneOf``/``anyOf`` of ``const``) | select |
| string with ``format`` date-time / date | datetime-local / date input |
| string, ``maxLength`` up to 200 | text input; longer or unlimited: textarea (``x-widget`` overrides) |
| boolean | yes/no radio buttons when required, else a checkbox |
| integer / number | number input with the schema's minimum, maximum and step |
| array of enum strings | checkboxes |
| array of strings | textarea, one value per line |
| anything else | textarea holding JSON |

The engine validates the data (``ValidationFailed.fields``); ``field_error`` words
its per-field messages for the person at the form.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from engine import jsonsafe

from .i18n import CODED_FIELDS, label

TEXTAREA_FROM = 200


@dataclass
class FormField:
    name: str
    title: str
    widget: str
    required: bool = False
    description: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, object] = field(default_factory=dict)
    value: object = None
    error: str | None = None

    @property
    def text(self) -> str:
        """The value as the widget shows it."""
        value = self.value
        if value is None:
            return ""
        if self.widget == "lines" and isinstance(value, list):
            return "\n".join(str(v) for v in value)
        if self.widget == "json" and not isinstance(value, str):
            return json.dumps(value, ensure_ascii=False, indent=2)
        if self.widget == "datetime" and isinstance(value, str):
            return _local_datetime(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def checked(self, option: str) -> bool:
        value = self.value
        if isinstance(value, list):
            return option in [str(v) for v in value]
        if isinstance(value, bool):
            return option == ("true" if value else "false")
        return value is not None and str(value) == option


def _choices(schema: dict, name: str) -> list[tuple[str, str]] | None:
    names = schema.get("x-enumNames") or schema.get("enumNames")
    if isinstance(schema.get("enum"), list):
        values = schema["enum"]
        if isinstance(names, list) and len(names) == len(values):
            return [(str(v), str(n)) for v, n in zip(values, names, strict=True)]
        coded = CODED_FIELDS.get(name)
        return [(str(v), label(coded, v) if coded else str(v)) for v in values]
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
            return [(str(o["const"]), str(o.get("title") or o["const"])) for o in options]
    return None


def _widget(schema: dict, name: str, required: bool) -> tuple[str, list[tuple[str, str]], dict[str, object]]:
    kind = schema.get("type")
    hint = schema.get("x-widget")
    attrs: dict[str, object] = {}
    choices = _choices(schema, name)
    if kind == "boolean":
        return ("radio" if required else "checkbox"), [("true", _("Yes")), ("false", _("No"))], attrs
    if choices is not None and kind in ("string", "integer", "number", None):
        return "select", choices, attrs
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        item_choices = _choices(items, name)
        if item_choices is not None:
            return "checkboxes", item_choices, attrs
        if items.get("type", "string") == "string":
            return "lines", [], attrs
        return "json", [], attrs
    if kind in ("integer", "number"):
        for key in ("minimum", "maximum"):
            if isinstance(schema.get(key), int | float):
                attrs[key[:3]] = schema[key]
        attrs["step"] = schema.get("multipleOf") or (1 if kind == "integer" else "any")
        return "number", [], attrs
    if kind == "string":
        if schema.get("format") == "date-time":
            return "datetime", [], attrs
        if schema.get("format") == "date":
            return "date", [], attrs
        for key, attr in (("maxLength", "maxlength"), ("minLength", "minlength")):
            if isinstance(schema.get(key), int):
                attrs[attr] = schema[key]
        long_text = not isinstance(schema.get("maxLength"), int) or schema["maxLength"] > TEXTAREA_FROM
        if hint in ("textarea", "input"):
            return ("textarea" if hint == "textarea" else "input"), [], attrs
        return ("textarea" if long_text else "input"), [], attrs
    return "json", [], attrs


def fields_of(schema: dict | None, values: dict | None = None, errors: dict[str, str] | None = None) -> list[FormField]:
    """The form's fields, in the schema's order, with values (given, else the schema's default) and errors."""
    if not schema or not isinstance(schema.get("properties"), dict):
        return []
    required = set(schema.get("required") or [])
    values = values or {}
    errors = errors or {}
    result = []
    for name, prop in schema["properties"].items():
        if not isinstance(prop, dict) or prop.get("readOnly"):
            continue
        widget, options, attrs = _widget(prop, name, name in required)
        value = values[name] if name in values else prop.get("default")
        result.append(FormField(name=name, title=str(prop.get("title") or name), widget=widget,
                                required=name in required, description=str(prop.get("description") or ""),
                                options=options, attrs=attrs, value=value,
                                error=field_error(prop, errors[name]) if name in errors else None))
    return result


def _local_datetime(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo("Asia/Shanghai"))
    return moment.strftime("%Y-%m-%dT%H:%M")


def _number(text: str, integer: bool) -> object:
    try:
        number = float(text)
    except ValueError:
        return text  # the engine names the type error
    if integer:
        return int(number) if number.is_integer() else number
    return int(number) if number.is_integer() and "." not in text else number


def parse(schema: dict | None, form, timezone: str = "Asia/Shanghai") -> dict:  # noqa: ANN001 - a MultiDict
    """The submitted form as JSON data for the engine. Empty fields are left out, so the schema's
    ``required`` reports them; values that do not convert are passed on as text for the engine to reject."""
    if not schema or not isinstance(schema.get("properties"), dict):
        return {}
    data: dict = {}
    for item in fields_of(schema):
        name, prop = item.name, schema["properties"][item.name]
        if item.widget == "checkboxes":
            chosen = [v for v in form.getlist(name) if v != ""]
            items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
            if items.get("type") in ("integer", "number"):
                chosen = [_number(v, items["type"] == "integer") for v in chosen]
            if chosen or name in form or f"{name}__present" in form:
                data[name] = chosen
            continue
        if item.widget == "checkbox":
            if f"{name}__present" in form or name in form:
                data[name] = form.get(name) == "true"
            continue
        raw = form.get(name)
        if raw is None:
            continue
        text = raw.strip()
        if text == "":
            continue
        kind = prop.get("type")
        if item.widget == "radio":
            data[name] = {"true": True, "false": False}.get(text, text)
        elif item.widget == "lines":
            data[name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif item.widget == "json":
            try:
                data[name] = jsonsafe.loads(text)
            except ValueError:  # also TooDeep: kept as text, and the form's schema refuses it
                data[name] = text
        elif item.widget == "datetime":
            try:
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=ZoneInfo(timezone))
                data[name] = moment.isoformat()
            except ValueError:
                data[name] = text
        elif kind in ("integer", "number"):
            data[name] = _number(text, kind == "integer")
        else:
            data[name] = raw if item.widget == "textarea" else text
    return data


_TOO_LONG = re.compile(r"is too long|expected at most|has more than|should have at most|is longer than")
_TOO_SHORT = re.compile(r"is too short|should be non-empty|expected at least|has fewer than|should have at least")


def field_error(prop: dict, message: str) -> str:
    """The engine's message about one field, in words for the person at the form."""
    text = str(message)
    kind = prop.get("type")
    if text == "required":
        return _("This field is required.")
    if "is not one of" in text or "is not valid under any of the given schemas" in text:
        return _("Choose one of the options.")
    if "is not of type" in text:
        if kind == "integer":
            return _("Enter a whole number.")
        if kind == "number":
            return _("Enter a number.")
        if kind == "boolean":
            return _("Choose yes or no.")
        return _("This value has the wrong type.")
    if "less than the minimum" in text or "less than or equal to the minimum" in text:
        return _("At least %(n)s.", n=prop.get("minimum", prop.get("exclusiveMinimum")))
    if "greater than the maximum" in text or "greater than or equal to the maximum" in text:
        return _("At most %(n)s.", n=prop.get("maximum", prop.get("exclusiveMaximum")))
    if _TOO_LONG.search(text):
        limit = prop.get("maxLength") if kind == "string" else prop.get("maxItems")
        if kind == "string" and limit is not None:
            return _("At most %(n)s characters.", n=limit)
        if limit is not None:
            return _("At most %(n)s items.", n=limit)
    if _TOO_SHORT.search(text):
        if kind == "string":
            return _("This field is required.") if prop.get("minLength", 1) <= 1 else _(
                "At least %(n)s characters.", n=prop.get("minLength"))
        return _("Choose at least %(n)s.", n=prop.get("minItems", 1))
    if "does not match" in text:
        return _("The format is not valid.")
    if "non-unique" in text or "has non-unique elements" in text:
        return _("Each value may appear only once.")
    return text
