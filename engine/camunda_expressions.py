"""Translate the simple expressions of Camunda diagrams into the Python our engine evaluates.

Camunda 7 writes conditions, timers and collections in JUEL (``${approved}``,
``#{amount > 1000 && x == 'a'}``); Camunda 8 (Zeebe) writes FEEL (``= amount > 1000``).
Only the plain forms are translated: names, literals, comparisons, boolean and
arithmetic operators, ``empty`` and the ternary. A method call, property access or
one of Camunda's own context objects (``execution``, ``task``, ``nrOfInstances``...)
means the expression depends on Camunda's runtime: it is not translated, and the
caller reports it. Translation is by a small parser, never by string replacement,
so ``!a == b`` becomes ``(not a) == b`` and a string literal is never rewritten.
"""
from __future__ import annotations

import ast
import json
import keyword
import re
from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

# Names that exist only inside Camunda's engine: an expression using them cannot run here.
CAMUNDA_CONTEXT = frozenset({
    "execution", "task", "externalTask", "variables", "connector", "authenticatedUserId", "currentUser",
    "currentUserGroups", "nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances", "loopCounter",
    "dateTime", "now", "environment", "processEngine", "processEngineServices", "caseExecution",
})

_TOKEN = re.compile(r"""\s*(?:
    (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*/%()?:=,.\[\]{}])
  | (?P<name>[^\W\d]\w*)
)""", re.VERBOSE)

_DURATION = re.compile(
    r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$", re.IGNORECASE)
_CRON_FIELD = re.compile(r"^[0-9*?/,LW#A-Z\-]+$", re.IGNORECASE)

# Python precedence levels of what we emit; an operand is parenthesised when it binds looser.
TERNARY, OR, AND, NOT, CMP, ADD, MUL, NEG, ATOM = 0, 1, 2, 3, 4, 5, 6, 7, 9

JUEL_EQUALITY = {"==": "==", "eq": "==", "!=": "!=", "ne": "!="}
JUEL_RELATION = {"<": "<", "lt": "<", ">": ">", "gt": ">", "<=": "<=", "le": "<=", ">=": ">=", "ge": ">="}
JUEL_MULTIPLY = {"*": "*", "/": "/", "div": "/", "%": "%", "mod": "%"}
FEEL_EQUALITY = {"=": "==", "!=": "!="}
FEEL_RELATION = {"<": "<", ">": ">", "<=": "<=", ">=": ">="}
JUEL_WORDS = frozenset({"and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod", "empty",
                        "instanceof", "true", "false", "null"})
FEEL_WORDS = frozenset({"and", "or", "true", "false", "null", "between", "in", "instance", "of", "some",
                        "every", "satisfies", "if", "then", "else", "for", "return", "function"})


@dataclass(frozen=True)
class Translation:
    """``python`` is the translated source; None when it cannot be translated, and ``reason`` says why.

    ``dialect`` is what the source was: ``juel``, ``feel``, ``iso`` (a timer literal) or ``plain``
    (no Camunda syntax: left as it is).
    """

    source: str
    python: str | None
    dialect: str
    reason: str = ""

    @property
    def changed(self) -> bool:
        return self.python is not None and self.python != self.source


class Untranslatable(Exception):
    pass


def dialect_of(text: str) -> str:
    stripped = text.strip()
    if len(stripped) >= 3 and stripped[:2] in ("${", "#{") and stripped.endswith("}"):
        return "juel"
    if stripped.startswith("="):
        return "feel"
    return "plain"


def translate(text: str) -> Translation:
    """A condition or value expression: JUEL or FEEL to Python; anything else is left as it is."""
    dialect = dialect_of(text)
    if dialect == "plain":
        return Translation(text, text, "plain")
    stripped = text.strip()
    inner = stripped[2:-1] if dialect == "juel" else stripped[1:]
    try:
        python = _Parser(_tokens(inner), feel=dialect == "feel").parse()
        ast.parse(python, mode="eval")  # belt and braces: what we emit must be Python
    except Untranslatable as exc:
        return Translation(text, None, dialect, str(exc))
    except SyntaxError:
        return Translation(text, None, dialect, "not a plain expression")
    return Translation(text, python, dialect)


def translate_timer(kind: str, text: str) -> Translation:
    """A timer's ``timeDate``, ``timeDuration`` or ``timeCycle``: ISO 8601 literals become quoted strings."""
    stripped = text.strip()
    if dialect_of(stripped) != "plain":
        return translate(stripped)
    if stripped[:1] in ("'", '"'):
        return Translation(text, text, "plain")  # already a Python string literal
    literal = json.dumps(stripped)
    if kind == "timeDuration" and _DURATION.match(stripped):
        return Translation(text, literal, "iso")
    if kind == "timeDate" and _is_datetime(stripped):
        return Translation(text, literal, "iso")
    if kind == "timeCycle" and stripped.upper().startswith("R") and _is_cycle(stripped):
        return Translation(text, literal, "iso")
    if _DURATION.match(stripped) or _is_datetime(stripped):
        return Translation(text, None, "iso", f"an ISO 8601 value of the wrong kind: {kind} needs a "
                                              f"{_TIMER_WORDS.get(kind, 'timer value')}")
    fields = stripped.split()
    if kind == "timeCycle" and 5 <= len(fields) <= 7 and all(_CRON_FIELD.match(f) for f in fields):
        return Translation(text, None, "cron", "a cron expression; only ISO 8601 repeating intervals "
                                              "such as R3/PT10M are supported")
    try:
        ast.parse(stripped, mode="eval")
    except SyntaxError:
        return Translation(text, None, "plain", f"not an ISO 8601 {_TIMER_WORDS.get(kind, 'timer value')}")
    return Translation(text, text, "plain")  # already a Python expression, such as closure_due


_TIMER_WORDS = {"timeDate": "date-time such as 2026-01-01T00:00:00Z", "timeDuration": "duration such as PT5M",
                "timeCycle": "repeating interval such as R3/PT10M"}


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_cycle(text: str) -> bool:
    try:
        TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception:  # noqa: BLE001 - SpiffWorkflow's parser raises whatever the text makes it raise
        return False
    return True


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise Untranslatable(f"unexpected character {text[position:].strip()[:1]!r}")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


def _wrap(node: tuple[str, int], level: int) -> str:
    code, precedence = node
    return code if precedence >= level else f"({code})"


class _Parser:
    """Recursive descent over JUEL's (or FEEL's) operator grammar, emitting Python with its precedences."""

    def __init__(self, tokens: list[tuple[str, str]], feel: bool) -> None:
        self.tokens = tokens
        self.at = 0
        self.feel = feel
        self.equality = FEEL_EQUALITY if feel else JUEL_EQUALITY
        self.relation = FEEL_RELATION if feel else JUEL_RELATION
        self.multiply = {"*": "*", "/": "/"} if feel else JUEL_MULTIPLY
        self.words = FEEL_WORDS if feel else JUEL_WORDS

    def parse(self) -> str:
        if not self.tokens:
            raise Untranslatable("the expression is empty")
        node = self.ternary()
        if self.at < len(self.tokens):
            raise Untranslatable(f"unexpected {self.tokens[self.at][1]!r}")
        return node[0]

    # -- token helpers

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self, *values: str) -> str | None:
        value = self.peek()
        if value is not None and value in values and self.tokens[self.at][0] in ("op", "name"):
            self.at += 1
            return value
        return None

    def expect(self, value: str) -> None:
        if self.take(value) is None:
            raise Untranslatable(f"expected {value!r}")

    # -- grammar, loosest first

    def ternary(self) -> tuple[str, int]:
        condition = self.disjunction()
        if not self.feel and self.take("?"):
            then = self.ternary()
            self.expect(":")
            otherwise = self.ternary()
            return f"{_wrap(then, OR)} if {_wrap(condition, OR)} else {_wrap(otherwise, TERNARY)}", TERNARY
        return condition

    def disjunction(self) -> tuple[str, int]:
        left = self.conjunction()
        while self.take("or", *(() if self.feel else ("||",))):
            right = self.conjunction()
            left = f"{_wrap(left, OR)} or {_wrap(right, AND)}", OR
        return left

    def conjunction(self) -> tuple[str, int]:
        left = self.comparison(self.equality, self.relational)
        while self.take("and", *(() if self.feel else ("&&",))):
            right = self.comparison(self.equality, self.relational)
            left = f"{_wrap(left, AND)} and {_wrap(right, NOT)}", AND
        return left

    def relational(self) -> tuple[str, int]:
        return self.comparison(self.relation, self.additive)

    def comparison(self, operators: dict[str, str], operand) -> tuple[str, int]:  # noqa: ANN001
        left = operand()
        while (op := self.take(*operators)) is not None:
            right = operand()
            # JUEL compares left to right, one pair at a time; Python would chain a < b < c.
            left = f"{_wrap(left, ADD)} {operators[op]} {_wrap(right, ADD)}", CMP
        return left

    def additive(self) -> tuple[str, int]:
        left = self.multiplicative()
        while (op := self.take("+", "-")) is not None:
            right = self.multiplicative()
            left = f"{_wrap(left, ADD)} {op} {_wrap(right, MUL)}", ADD
        return left

    def multiplicative(self) -> tuple[str, int]:
        left = self.unary()
        while (op := self.take(*self.multiply)) is not None:
            right = self.unary()
            left = f"{_wrap(left, MUL)} {self.multiply[op]} {_wrap(right, NEG)}", MUL
        return left

    def unary(self) -> tuple[str, int]:
        if not self.feel and self.take("!", "not"):
            return f"not {_wrap(self.unary(), NOT)}", NOT
        if self.take("-"):
            return f"-{_wrap(self.unary(), NEG)}", NEG
        if not self.feel and self.take("empty"):
            operand = self.unary()
            # JUEL's empty: null, or an empty string, list or map (0 and false are not empty).
            return f"{_wrap(operand, ADD)} in (None, '', [], {{}})", CMP
        return self.primary()

    def primary(self) -> tuple[str, int]:
        if self.at >= len(self.tokens):
            raise Untranslatable("the expression ends too early")
        kind, value = self.tokens[self.at]
        self.at += 1
        if kind == "number":
            return _number(value), ATOM
        if kind == "string":
            return repr(_string(value, self.feel)), ATOM
        if kind == "op" and value == "(":
            inner = self.ternary()
            self.expect(")")
            return inner
        if kind == "name":
            return self.name(value)
        raise Untranslatable(f"unexpected {value!r}")

    def name(self, value: str) -> tuple[str, int]:
        if value in ("true", "false", "null"):
            return {"true": "True", "false": "False", "null": "None"}[value], ATOM
        if self.feel and value == "not" and self.peek() == "(":
            self.at += 1
            inner = self.ternary()
            self.expect(")")
            return f"not {_wrap(inner, NOT)}", NOT
        if value in self.words:
            raise Untranslatable(f"the operator {value!r} is not supported here")
        following = self.peek()
        if following == "(":
            raise Untranslatable(f"calls {value}(...): method and function calls are not translated")
        if following in (".", "["):
            raise Untranslatable(f"reads a property of {value!r}: only plain variable names are translated")
        if value in CAMUNDA_CONTEXT:
            raise Untranslatable(f"uses Camunda's {value!r}, which does not exist in complaintflow")
        if keyword.iskeyword(value) or value in ("None", "True", "False") or value.startswith("_"):
            raise Untranslatable(f"the variable name {value!r} cannot be used in Python")
        return value, ATOM


def _number(text: str) -> str:
    if text.isdigit():
        return str(int(text))
    return repr(float(text))


def _string(token: str, feel: bool) -> str:
    quote, body = token[0], token[1:-1]
    if feel and quote == "'":
        raise Untranslatable("FEEL strings use double quotes")
    result, escaped = [], False
    for char in body:
        if escaped:
            if char not in ("\\", "'", '"'):
                raise Untranslatable(f"the escape \\{char} is not translated")
            result.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            result.append(char)
    return "".join(result)
