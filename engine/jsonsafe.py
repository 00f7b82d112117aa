"""Parsing untrusted JSON (request bodies, uploaded forms): bounded nesting, text that is really text.

``json.loads`` itself stops at Python's recursion limit with a RecursionError, not a ValueError,
and a document just under that limit still breaks code that walks it recursively afterwards
(jsonschema, the form renderer). So: parse, turn a RecursionError into ``TooDeep``, and refuse
anything nested deeper than ``MAX_DEPTH``, counted without recursion.

``broken_text`` finds the strings (and keys) that no database can store as text: lone UTF-16
surrogates (``"\\ud800"``, or invalid UTF-8 bytes decoded with ``surrogateescape``) and NUL
characters (PostgreSQL refuses them in text and JSONB).
"""
from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class TooDeep(ValueError):
    """The document is nested deeper than ``MAX_DEPTH`` levels."""


def depth(value: Any) -> int:  # noqa: ANN401 - any JSON value
    """How deeply ``value`` nests: 0 for a scalar, 1 for a flat list or object."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(text: str | bytes, max_depth: int = MAX_DEPTH, **options: Any) -> Any:  # noqa: ANN401
    """``json.loads(text, **options)``; ``TooDeep`` (a ValueError) when nested deeper than ``max_depth``."""
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise TooDeep(f"nested more than {max_depth} levels deep") from None
    if depth(value) > max_depth:
        raise TooDeep(f"nested more than {max_depth} levels deep")
    return value


def _bad(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (invalid UTF-8 bytes or a lone surrogate such as \\ud800)"
    return None


def printable(name: str) -> str:
    """A key as it can be shown in an answer (a lone surrogate cannot be encoded)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def broken_text(value: Any, where: str = "") -> dict[str, str]:  # noqa: ANN401
    """Each place in ``value`` holding text that cannot be stored (``data.note``, ``items[2]``) -> why."""
    found: dict[str, str] = {}
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            reason = _bad(item)
            if reason:
                found[path or "body"] = reason
        elif isinstance(item, dict):
            for key, child in item.items():
                key_path = f"{path}.{printable(key)}" if path else printable(key)
                reason = _bad(key)
                if reason:
                    found[key_path] = f"the name {reason}"
                stack.append((child, key_path))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
    return found
