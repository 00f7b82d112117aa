"""The zh_CN catalog covers every UI string, and the committed .mo matches the .po (`make translations`)."""
from __future__ import annotations

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from engine.config import PROJECT_ROOT

WEBAPP = PROJECT_ROOT / "webapp"
CATALOG = WEBAPP / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def ui_strings() -> set:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEBAPP), method_map=[("**.py", "python"), ("templates/**.html", "jinja2")], keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_every_ui_string_has_a_chinese_translation() -> None:
    with open(CATALOG / "messages.po", "rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    translated = {}
    for message in catalog:
        if message.id:
            key = message.id if isinstance(message.id, str) else tuple(message.id)
            value = message.string if isinstance(message.string, str) else message.string[0]
            translated[key] = value
    missing = sorted(str(s) for s in ui_strings() if not translated.get(s))
    assert missing == [], "run `make translations` and translate these in messages.po"


def _entries(catalog) -> dict:  # noqa: ANN001
    def plain(value):  # noqa: ANN001, ANN202
        return value if isinstance(value, str) else tuple(value)

    return {plain(m.id): plain(m.string) for m in catalog if m.id}


def test_the_compiled_catalog_matches_the_po_file() -> None:
    with open(CATALOG / "messages.po", "rb") as handle:
        po = _entries(read_po(handle, locale="zh_CN"))
    with open(CATALOG / "messages.mo", "rb") as handle:
        mo = _entries(read_mo(handle))
    assert mo == po, "run `make translations` to compile messages.mo"
