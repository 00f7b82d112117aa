"""Requests whose text is not text are refused before any view (or the CSRF check) reads them.

- A NUL character anywhere in the query or the path: PostgreSQL cannot compare or store it,
  so it would fail deep in a query. 400 naming the parameter (404 for a path part).
- A form post of the web UI with a field that is not text. Werkzeug keeps an undecodable
  ``%FF`` in a urlencoded field as those three characters and turns invalid UTF-8 in a
  multipart field into U+FFFD, so the raw urlencoded body is decoded here field by field,
  strictly, and every parsed field is checked for U+FFFD and NUL. (A U+FFFD typed on purpose
  is refused too: no form has a use for it.) 400 page naming the field; nothing is stored.

JSON bodies are checked where they are read (webapp.api.json_body, engine.jsonsafe).
Registered first among the app's before_request functions (webapp.create_app).
"""
from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import request
from flask_babel import gettext as _

from engine import jsonsafe
from engine.errors import BadRequest, NotFound

URLENCODED = "application/x-www-form-urlencoded"
NOT_TEXT = ("\ufffd", "\x00")


def _decoded(raw: bytes) -> str | None:
    """A urlencoded name or value as text; None when its bytes are not UTF-8."""
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def broken_parameter() -> str | None:
    """The first query parameter or path part that holds a NUL character, or None."""
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            return jsonsafe.printable(name)
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and "\x00" in value:
            return name
    return None


def broken_form_field() -> str | None:
    """The name of the first form field that is not valid text, or None."""
    if request.mimetype == URLENCODED:
        for pair in request.get_data(cache=True).split(b"&"):
            raw_name, _sep, raw_value = pair.partition(b"=")
            name, value = _decoded(raw_name), _decoded(raw_value)
            if name is None or value is None or any(bad in name + value for bad in NOT_TEXT):
                shown = name if name is not None else unquote_to_bytes(raw_name).decode("utf-8", "replace")
                return jsonsafe.printable(shown)
        return None
    if request.mimetype == "multipart/form-data":
        for name, value in request.form.items(multi=True):
            if any(bad in name or bad in value for bad in NOT_TEXT):
                return jsonsafe.printable(name)
    return None


def refuse_broken_text() -> tuple[str, int] | None:
    """``before_request``: 400 for a NUL in the query or path, or a UI form field that is not text."""
    field = broken_parameter()
    if field is None and request.method == "POST" and request.blueprint == "ui":
        field = broken_form_field()
    if field is None:
        return None
    if request.blueprint == "ui":
        from .ui.errors import error_page

        return error_page(400, _("The field “%(field)s” is not valid text: it holds bytes that are not UTF-8 or "
                                 "a NUL character. Nothing was saved.", field=field))
    if field in (request.view_args or {}):
        raise NotFound(f"no such {field}")  # nothing is named with a NUL; every call with a path part has a 404
    raise BadRequest(f"{field} holds a NUL character", fields={field: "contains a NUL character"})
