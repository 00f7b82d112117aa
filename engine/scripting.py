"""Restricted Python for BPMN script tasks, gateway conditions, timer and DMN expressions.

Three layers keep model code in its lane:

1. Compile time (RestrictedPython plus ``_Policy``): no imports, classes, ``with``,
   ``finally`` or catch-all ``except``; no ``_``-prefixed names or attributes; no
   open/eval/exec/getattr/type/...; ``**``, ``*``, ``<<``, ``+`` and ``%``,
   f-string fields and ``*iterable`` unpacking are rewritten into size-checked helpers.
2. Run time: a deadline enforced by ``sys.settrace`` in the executing thread, guarded
   getattr/getitem/getiter/write, and a builtins dict that holds only a whitelist.
3. Data: a script works on a deep copy of the task data; only JSON data is written
   back, and only when the script finished.

The helpers every script and expression sees (``due_in``, ``working_days``,
``share_of``, ``sla_limit``...) take and return ISO 8601 strings, so no datetime
object (with its attributes) ever reaches model code.
"""
from __future__ import annotations

import ast
import copy
import functools
import math
import operator
import re
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, MappingView
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence, raise_
from RestrictedPython.Guards import safer_getattr as _restricted_getattr
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from . import clock, sla
from .errors import ScriptFailed

Mode = Literal["exec", "eval"]
T = TypeVar("T")

DEFAULT_TIME_LIMIT = 1.0
MAX_INT_BITS = 4096  # about 1233 decimal digits: plenty for money and counters
MAX_ITEMS = 1_000_000  # longest str/bytes/list/tuple one operation may build
MAX_RANGE = 1_000_000
MAX_SOURCE_CHARS = 100_000
MAX_DATA_NODES = 1_000_000  # values written back to task data, counted recursively
MAX_DATA_DEPTH = 100
COMPILE_CACHE_SIZE = 1024
_FILENAME = "<string>"  # SpiffWorkflow looks for this name to report the failing line


# --- errors ------------------------------------------------------------------------------------------


class ScriptError(Exception):
    """Base of every error this module raises about a script or expression."""

    kind = "script"  # or "expression" (a condition, a timer): says which in ScriptFailed


class ScriptRejected(ScriptError):
    """The source breaks the rules; nothing of it ran."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("script rejected: " + "; ".join(self.problems))


class ScriptTimeout(ScriptError):
    """The script ran past its time limit and was stopped."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"stopped: the script ran longer than its {seconds:g} s limit")


class ScriptRefused(ScriptError, AttributeError):
    """An attribute the sandbox withholds at run time (a script may catch it as an AttributeError)."""


class ScriptLimitError(ScriptError):
    """An operation would have built a value too large to allow (refused before it ran)."""


class ScriptDataError(ScriptError):
    """A script left a value in task data that is not JSON data."""


class ScriptConfigError(ScriptError):
    """A helper needs something this engine was not given (calendar, SLA lookup)."""


class _Interrupt(BaseException):
    # Raised by the tracer. A BaseException so that `except Exception:` in a script cannot
    # swallow it; `except BaseException` and bare `except:` are refused at compile time.
    pass


# --- size guards (the rewritten operators call these) ---------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)


def _check_items(n: int, what: str) -> None:
    if n > MAX_ITEMS:
        raise ScriptLimitError(f"refused: {what} would have {n:,} items; the limit is {MAX_ITEMS:,}")


def _is_int(value: object) -> bool:
    return isinstance(value, int)  # bool included


def _check_bits(bits: float, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise ScriptLimitError(f"refused: {what} would have about {int(bits):,} bits; "
                               f"the limit is {MAX_INT_BITS}")


# Each check runs before the operation it guards and raises instead of letting C build the value.
# `x op= y` builds a value as large as `x op y`, so the in-place forms use the same checks.

def _check_pow(base: Any, exp: Any) -> None:
    if _is_int(base) and _is_int(exp) and exp > 0 and abs(base) > 1:
        _check_bits(exp * math.log2(abs(base)), "the power")


def _check_mul(a: Any, b: Any) -> None:
    if _is_int(a) and _is_int(b):
        _check_bits(a.bit_length() + b.bit_length(), "the product")
    elif isinstance(a, _SEQUENCES) and _is_int(b):
        _check_items(len(a) * max(b, 0), "the repeated sequence")
    elif isinstance(b, _SEQUENCES) and _is_int(a):
        _check_items(len(b) * max(a, 0), "the repeated sequence")


def _check_lshift(a: Any, b: Any) -> None:
    if _is_int(a) and _is_int(b) and a and b > 0:
        _check_bits(a.bit_length() + b, "the shifted integer")


def _check_concat(a: Any, b: Any) -> None:
    # A loop of `s = s + s` doubles per line, and each step is one uninterruptible C call.
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check_items(len(a) + len(b), "the concatenation")


# '%' formatting: widths and precisions, and how many fields could expand.
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def _check_mod(a: Any, b: Any) -> None:
    if not isinstance(a, (str, bytes)):
        return
    text = a.decode("latin-1") if isinstance(a, bytes) else a
    fields = _PERCENT_FIELD.findall(text)
    if any("*" in width + precision for width, precision in fields):
        raise ScriptLimitError("refused: '*' widths in %-formatting")
    widest = max((int(part) for pair in fields for part in pair if part), default=0)
    _check_items(widest, "a %-format field")
    values = list(b.values()) if isinstance(b, dict) else list(b) if isinstance(b, tuple) else [b]
    longest = max((len(v) for v in values if isinstance(v, (str, bytes))), default=0)
    _check_items(len(a) + len(fields) * (max(widest, longest) + 32), "the formatted string")


def guarded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        _check_pow(base, exp)
        return base ** exp
    if _is_int(mod):  # modular powers are cheap; only the modulus bounds the size
        _check_bits(mod.bit_length(), "the modulus")
    return pow(base, exp, mod)


def guarded_mul(a: Any, b: Any) -> Any:
    _check_mul(a, b)
    return a * b


def guarded_lshift(a: Any, b: Any) -> Any:
    _check_lshift(a, b)
    return a << b


def guarded_add(a: Any, b: Any) -> Any:
    _check_concat(a, b)
    return a + b


def guarded_mod(a: Any, b: Any) -> Any:
    _check_mod(a, b)
    return a % b


def guarded_format(value: Any, conversion: int, spec: str) -> str:
    """Stands in for an f-string field `{value!conversion:spec}`."""
    if conversion == ord("s"):
        value = str(value)
    elif conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("a"):
        value = ascii(value)
    widest = max((int(d) for d in re.findall(r"\d+", spec)), default=0)
    _check_items(widest, "an f-string field width")
    return format(value, spec)


def guarded_sized(value: Any) -> Any:
    """Wraps `*value` in displays: `[*a, *a]` would otherwise double unchecked."""
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        _check_items(len(value), "the unpacked iterable")
    return value


_INPLACE: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], None] | None]] = {
    "+=": (operator.iadd, _check_concat), "*=": (operator.imul, _check_mul),
    "**=": (operator.ipow, _check_pow), "<<=": (operator.ilshift, _check_lshift),
    "%=": (operator.imod, _check_mod), "-=": (operator.isub, None), "/=": (operator.itruediv, None),
    "//=": (operator.ifloordiv, None), ">>=": (operator.irshift, None), "&=": (operator.iand, None),
    "|=": (operator.ior, None), "^=": (operator.ixor, None), "@=": (operator.imatmul, None),
}


def guarded_inplacevar(op: str, target: Any, value: Any) -> Any:
    apply, check = _INPLACE[op]
    if check is not None:
        check(target, value)
    return apply(target, value)


# --- builtins handed to scripts -------------------------------------------------------------------


def guarded_range(*args: int) -> range:
    span = range(*args)
    start, stop, step = span.start, span.stop, span.step
    length = max(0, (stop - start + step - (1 if step > 0 else -1)) // step)  # len() may overflow
    if length > MAX_RANGE:
        raise ScriptLimitError(f"refused: range() would have {length:,} items; the limit is {MAX_RANGE:,}")
    return span


def guarded_round(number: Any, ndigits: int | None = None) -> Any:
    # round(5, -10**8) computes 10**(10**8) inside C.
    if ndigits is not None and _is_int(ndigits) and abs(ndigits) > 1000:
        raise ScriptLimitError("refused: round() to more than 1000 digits")
    return round(number) if ndigits is None else round(number, ndigits)


def guarded_sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    # sum(lists, []) is quadratic inside C and cannot be interrupted.
    if not isinstance(start, (int, float, complex)):
        raise TypeError("sum() adds numbers only; build lists with comprehensions")
    return sum(iterable, start)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _getitem(obj: Any, key: Any) -> Any:
    return obj[key]


# Attribute names refused on any object: type-walking (mro), unbounded builders
# (int.from_bytes, str.translate/maketrans) and format strings, which can reach attributes.
_BLOCKED_ATTRIBUTES = frozenset({"mro", "from_bytes", "format", "format_map", "translate", "maketrans"})


def _width_guard(method: Callable[..., Any]) -> Callable[..., Any]:
    def padded(width: int, *args: Any) -> Any:
        if _is_int(width):
            _check_items(width, "the padded string")
        return method(width, *args)
    return padded


def _guard_expandtabs(text: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def expandtabs(tabsize: int = 8) -> Any:
        tab = "\t" if isinstance(text, str) else b"\t"
        _check_items(len(text) + text.count(tab) * max(int(tabsize), 0), "the expanded string")  # type: ignore[arg-type]
        return method(tabsize)
    return expandtabs


def _guard_replace(text: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: int = -1) -> Any:
        if isinstance(old, (str, bytes)) and isinstance(new, (str, bytes)):
            hits = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
            if _is_int(count) and count >= 0:
                hits = min(hits, count)
            _check_items(len(text) + hits * max(len(new) - len(old), 0), "the replaced string")
        return method(old, new, count)
    return replace


def _guard_join(separator: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def join(items: Iterable[Any]) -> Any:
        parts = list(items)
        sizes = sum(len(p) for p in parts if isinstance(p, (str, bytes)))
        _check_items(sizes + len(separator) * max(len(parts) - 1, 0), "the joined string")
        return method(parts)
    return join


def _guard_extend(target: list[Any], method: Callable[..., Any]) -> Callable[..., Any]:
    def extend(items: Iterable[Any]) -> None:
        parts = items if isinstance(items, (list, tuple)) else list(items)
        _check_items(len(target) + len(parts), "the extended list")
        method(parts)
    return extend


_STRING_GUARDS: dict[str, Callable[[Any, Callable[..., Any]], Callable[..., Any]]] = {
    "ljust": lambda _t, m: _width_guard(m), "rjust": lambda _t, m: _width_guard(m),
    "center": lambda _t, m: _width_guard(m), "zfill": lambda _t, m: _width_guard(m),
    "expandtabs": _guard_expandtabs, "replace": _guard_replace, "join": _guard_join,
}


def guarded_getattr(obj: Any, name: str, default: Any = raise_) -> Any:
    """RestrictedPython's safer_getattr (no `_` names, no str.format) plus our own refusals.

    A missing attribute raises AttributeError (safer_getattr's own default would give None).
    """
    if isinstance(name, str) and name in _BLOCKED_ATTRIBUTES:
        raise ScriptRefused(f'"{name}" is not available in scripts')
    is_type = isinstance(obj, type)
    if is_type and issubclass(obj, (str, bytes, list)) and (name in _STRING_GUARDS or name == "extend"):
        # str.join(sep, items) would bypass the bound-method guards below.
        raise ScriptRefused(f'call "{name}" on a value, not on the type')
    value = _restricted_getattr(obj, name, default)
    if not is_type:
        if isinstance(obj, (str, bytes)) and name in _STRING_GUARDS:
            return _STRING_GUARDS[name](obj, value)
        if isinstance(obj, list) and name == "extend":
            return _guard_extend(obj, value)
    return value


# Exceptions a script may raise and catch. BaseException, SystemExit, KeyboardInterrupt
# and GeneratorExit stay out: they would pass SpiffWorkflow's `except Exception`.
CATCHABLE_EXCEPTIONS: dict[str, type[Exception]] = {
    name: value for name, value in safe_builtins.items()
    if isinstance(value, type) and issubclass(value, Exception)
}

# Names a script may not even mention: they are absent at run time too, but a clear
# message at deploy time beats a NameError in production.
FORBIDDEN_NAMES = frozenset({
    "open", "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr", "hasattr",
    "globals", "locals", "vars", "type", "breakpoint", "input", "dir", "help", "memoryview",
    "object", "super", "exit", "quit", "iter", "BaseException", "SystemExit", "KeyboardInterrupt",
    "GeneratorExit",
})


def _tick() -> None:
    """Called at the top of every while-loop iteration (see _Policy.visit_While)."""
    deadline = getattr(_limits, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise _Interrupt


def _base_builtins() -> dict[str, Any]:
    allowed = {name: value for name, value in safe_builtins.items()
               if not name.startswith("_") and name not in FORBIDDEN_NAMES
               and name not in {"pow", "range", "round"}
               and (not isinstance(value, type) or not issubclass(value, BaseException)
                    or name in CATCHABLE_EXCEPTIONS)}
    allowed.update(CATCHABLE_EXCEPTIONS)
    allowed.update({
        "len": len, "min": min, "max": max, "sum": guarded_sum, "sorted": sorted, "reversed": reversed,
        "round": guarded_round, "pow": guarded_pow, "abs": abs, "any": any, "all": all,
        "int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict, "set": set,
        "tuple": tuple, "range": guarded_range, "enumerate": enumerate, "zip": zip, "isinstance": isinstance,
    })
    # The names RestrictedPython's rewritten code calls, and ours.
    allowed.update({
        "_getattr_": guarded_getattr, "_getitem_": _getitem, "_getiter_": iter, "_write_": full_write_guard,
        "_inplacevar_": guarded_inplacevar, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence, "_apply_": _apply, "_print_": PrintCollector,
        "_cf_pow_": guarded_pow, "_cf_mul_": guarded_mul, "_cf_lshift_": guarded_lshift,
        "_cf_add_": guarded_add, "_cf_mod_": guarded_mod, "_cf_format_": guarded_format,
        "_cf_sized_": guarded_sized, "_cf_exc_": dict(CATCHABLE_EXCEPTIONS), "_cf_tick_": _tick,
    })
    return allowed


# --- compile-time policy ---------------------------------------------------------------------------

_BINOP_HELPERS: dict[type[ast.operator], str] = {
    ast.Pow: "_cf_pow_", ast.Mult: "_cf_mul_", ast.LShift: "_cf_lshift_", ast.Add: "_cf_add_",
    ast.Mod: "_cf_mod_",
}


def _call(helper: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(helper, ast.Load()), args=args, keywords=[])
    copy_locations(node, like)
    return node


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules, tightened, plus rewrites of the operators C cannot interrupt."""

    def _refuse(self, node: ast.AST, message: str) -> ast.AST:
        self.error(node, message)
        return node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        return self._refuse(node, "import is not allowed; the helpers are available without importing")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        return self._refuse(node, "import is not allowed; the helpers are available without importing")

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._refuse(node, "class definitions are not allowed")

    def visit_With(self, node: ast.With) -> ast.AST:
        return self._refuse(node, "with statements are not allowed")

    def visit_Try(self, node: ast.Try) -> ast.AST:
        # A finally block (or one with break/continue) would run, untraced, after the time limit fired.
        if node.finalbody:
            self.error(node, "try/finally is not allowed")
        return self.node_contents_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        node = super().visit_ExceptHandler(node)
        kinds = [node.type] if isinstance(node.type, ast.Name) else (
            node.type.elts if isinstance(node.type, ast.Tuple) else [])
        names = [k.id for k in kinds if isinstance(k, ast.Name)]
        if node.type is None:
            return self._refuse(node, "a bare except: is not allowed; name the exceptions, e.g. ValueError")
        if not names or len(names) != len(kinds) or any(n not in CATCHABLE_EXCEPTIONS for n in names):
            return self._refuse(node, "except may only name built-in exceptions such as ValueError")
        # Look the classes up where a script cannot rebind them (task data named ValueError, say).
        lookups: list[ast.expr] = [
            ast.Subscript(ast.Name("_cf_exc_", ast.Load()), ast.Constant(n), ast.Load()) for n in names]
        node.type = lookups[0] if len(lookups) == 1 else ast.Tuple(lookups, ast.Load())
        copy_locations(node.type, node)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in FORBIDDEN_NAMES and not node.id.startswith("_"):  # RestrictedPython reports `_` names
            self.error(node, f'"{node.id}" is not available in scripts')
        return super().visit_Name(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if node.attr in _BLOCKED_ATTRIBUTES:
            self.error(node, f'"{node.attr}" is not available in scripts')
        return super().visit_Attribute(node)

    def visit_While(self, node: ast.While) -> ast.AST:
        # `while True: pass` compiles to a jump onto itself, which raises no trace event at all;
        # a call at the top of every iteration gives the time limit a place to strike.
        node = self.node_contents_visit(node)
        tick = ast.Expr(_call("_cf_tick_", [], node))
        copy_locations(tick, node)
        node.body.insert(0, tick)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        helper = _BINOP_HELPERS.get(type(node.op))
        return _call(helper, [node.left, node.right], node) if helper else node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        spec: ast.expr = node.format_spec if node.format_spec is not None else ast.Constant("")
        value = _call("_cf_format_", [node.value, ast.Constant(node.conversion), spec], node)
        replacement = ast.FormattedValue(value=value, conversion=-1, format_spec=None)
        copy_locations(replacement, node)
        return replacement

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _call("_cf_sized_", [node.value], node)
        return node


@functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)
def _compiled(source: str, mode: Mode) -> tuple[types.CodeType | None, tuple[str, ...]]:
    """Restricted byte code for ``source``, or its problems. Cached: the same expressions run constantly."""
    if len(source) > MAX_SOURCE_CHARS:
        return None, (f"the script is longer than {MAX_SOURCE_CHARS:,} characters",)
    compile_mode = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        result = compile_mode(source, filename=_FILENAME, policy=_Policy)
    except (RecursionError, MemoryError):
        return None, ("the script is nested too deeply",)
    except ValueError as exc:  # e.g. NUL bytes in the source
        return None, (f"the script cannot be compiled: {exc}",)
    problems = tuple(dict.fromkeys(result.errors))  # dedupe, keep order
    return (None, problems) if problems or result.code is None else (result.code, ())


def check_source(source: str, mode: Mode) -> list[str]:
    """Problems with ``source`` as a script ("exec") or expression ("eval"); empty when it may run."""
    if mode not in ("exec", "eval"):
        raise ValueError("mode must be 'exec' or 'eval'")
    if not isinstance(source, str):
        return [f"expected source text, not {type(source).__name__}"]
    return list(_compiled(source, mode)[1])


def compile_checked(source: str, mode: Mode) -> types.CodeType:
    """Restricted byte code for ``source``; raises ``ScriptRejected`` listing its problems."""
    if not isinstance(source, str):
        raise ScriptRejected([f"expected source text, not {type(source).__name__}"])
    code, problems = _compiled(source, mode)
    if code is None:
        raise ScriptRejected(problems)
    return code


# --- time limit ---------------------------------------------------------------------------------

_limits = threading.local()


def _tracer(frame: types.FrameType, event: str, arg: Any) -> Any:
    deadline = getattr(_limits, "deadline", None)
    if deadline is None:
        return None
    if time.monotonic() > deadline:
        raise _Interrupt
    return _tracer


def run_with_time_limit(seconds: float, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)``, stopped with ScriptTimeout once it has run ``seconds``.

    ``sys.settrace`` sees every new line, backward jump and call in Python frames of this
    thread, so it works in any thread, not only the main one (unlike signal.alarm). It cannot
    stop one long C call; the size guards are for that. This is a plain function, not a
    context manager, on purpose: the frame that calls settrace is never traced itself, so
    the clean-up below cannot be interrupted. Nested calls share the tracer and the earlier
    deadline; the tracer in place before (a debugger, coverage) is put back afterwards.
    """
    outer = getattr(_limits, "deadline", None)
    deadline = time.monotonic() + seconds
    if outer is not None:
        _limits.deadline = min(outer, deadline)
        try:
            return func(*args)
        finally:
            _limits.deadline = outer
    previous = sys.gettrace()
    _limits.deadline = deadline
    sys.settrace(_tracer)
    try:
        return func(*args)
    except _Interrupt:
        raise ScriptTimeout(seconds) from None
    finally:
        # CPython drops a tracer that raised, so this also restores tracing for the caller.
        sys.settrace(previous)
        _limits.deadline = None


# --- deadline helpers ---------------------------------------------------------------------------


class CalendarLike(Protocol):
    """What the helpers need of engine.calendar.WorkCalendar."""

    def add_hours(self, start: datetime, hours: float) -> datetime: ...
    def add_working_days(self, start: datetime, n: int) -> datetime: ...
    def add_business_hours(self, start: datetime, hours: float) -> datetime: ...
    def add_calendar_days(self, start: datetime, n: int) -> datetime: ...


@dataclass(frozen=True)
class ScriptContext:
    """What the helpers read: the injectable clock, the work calendar and SLA policies."""

    now: Callable[[], datetime] = clock.now
    calendar: Callable[[], CalendarLike] | None = None
    sla_lookup: Callable[[str], dict] | None = None


def _instant(value: Any, what: str = "a time") -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{what} must be an ISO 8601 date-time, not {value!r}") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        raise ValueError(f"{what} must be an ISO 8601 date-time, not {value!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} needs a UTC offset (e.g. +08:00 or Z): {value!r}")
    return moment.astimezone(UTC)


def iso(value: Any) -> str:
    """ISO 8601 in UTC, from an ISO string (any offset), a datetime or epoch seconds."""
    return _instant(value).isoformat()


def parse_iso(value: Any) -> float:
    """Epoch seconds of an ISO 8601 date-time, for comparing and arithmetic in scripts."""
    return _instant(value).timestamp()


def share_of(start: Any, due: Any, fraction: float) -> str:
    """The instant at ``fraction`` of the way from ``start`` to ``due`` (a reminder at 75%: 0.75)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be a number from 0 to 1, not {fraction!r}")
    begin, end = _instant(start, "start"), _instant(due, "due")
    return (begin + (end - begin) * fraction).isoformat()


@dataclass
class _Helpers:
    context: ScriptContext
    names: dict[str, Callable[..., Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.names = {
            "now": self.now, "due_in": self.due_in, "hours": self.hours, "working_days": self.working_days,
            "business_hours": self.business_hours, "calendar_days": self.calendar_days,
            "share_of": share_of, "iso": iso, "parse_iso": parse_iso, "sla_limit": self.sla_limit,
            "sla_open": self.sla_open, "sla_pause": self.sla_pause, "sla_resume": self.sla_resume,
            "sla_met": self.sla_met,
        }

    def now(self) -> str:
        return iso(self.context.now())

    def _calendar(self) -> CalendarLike:
        if self.context.calendar is None:
            raise ScriptConfigError("no work calendar is configured for scripts")
        return self.context.calendar()

    def due_in(self, hours: float | None = None, working_days: int | None = None,
               business_hours: float | None = None, calendar_days: int | None = None,
               start: Any = None) -> str:
        """The deadline (ISO 8601 UTC) counting exactly one of the four bases from ``start`` (default now)."""
        chosen = {k: v for k, v in {"hours": hours, "working_days": working_days,
                                    "business_hours": business_hours, "calendar_days": calendar_days}.items()
                  if v is not None}
        if len(chosen) != 1:
            raise ValueError("due_in() takes exactly one of hours, working_days, business_hours or "
                             "calendar_days")
        (basis, amount), = chosen.items()
        begin = self.context.now() if start is None else _instant(start, "start")
        method = getattr(self._calendar(), f"add_{basis}")
        return iso(method(begin.astimezone(UTC), amount))

    def hours(self, n: float, start: Any = None) -> str:
        return self.due_in(hours=n, start=start)

    def working_days(self, n: int, start: Any = None) -> str:
        return self.due_in(working_days=n, start=start)

    def business_hours(self, n: float, start: Any = None) -> str:
        return self.due_in(business_hours=n, start=start)

    def calendar_days(self, n: int, start: Any = None) -> str:
        return self.due_in(calendar_days=n, start=start)

    def _moment(self, at: Any) -> datetime:
        return self.context.now().astimezone(UTC) if at is None else _instant(at, "at")

    def sla_open(self, name: str, policy: str, basis: str, amount: float, start: Any = None) -> dict:
        """A new SLA clock (see engine.sla): deadline and 75% reminder on the limit's own basis."""
        return sla.open_clock(self._calendar(), name, policy, basis, amount, self._moment(start))

    def sla_pause(self, clocks: dict, at: Any = None) -> dict:
        return sla.pause(json_data(clocks, "clocks"), self._moment(at))

    def sla_resume(self, clocks: dict, at: Any = None) -> dict:
        return sla.resume(self._calendar(), json_data(clocks, "clocks"), self._moment(at))

    def sla_met(self, clocks: dict, name: str, at: Any = None) -> dict:
        return sla.met(json_data(clocks, "clocks"), name, self._moment(at))

    def sla_limit(self, name: str) -> dict:
        """The admin's limit for policy ``name`` ({basis, amount}), or {} when the DMN default stands."""
        if self.context.sla_lookup is None:
            raise ScriptConfigError("sla_limit() is not available: no SLA policy lookup is configured")
        # Plain JSON data only: whatever the lookup returns, scripts never see its objects.
        return json_data(self.context.sla_lookup(name) or {}, f"sla_limit({name!r})")


# --- task data in and out -------------------------------------------------------------------------


def _visible(key: object) -> bool:
    """Task data keys a script sees; `_` names cannot be written in restricted code anyway."""
    return isinstance(key, str) and not key.startswith("_")


def _is_temporary(value: object) -> bool:
    """Values a script leaves behind that are clearly not data: dropped, as SpiffWorkflow does."""
    return callable(value) or isinstance(value, (types.ModuleType, range, Iterator, MappingView))


def json_data(value: Any, where: str) -> Any:
    """``value`` as JSON data (tuples become lists), or ScriptDataError naming the offending spot."""
    budget = [MAX_DATA_NODES]

    def walk(item: Any, path: str, depth: int, seen: frozenset[int]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise ScriptDataError(f"{where} is too large for task data (over {MAX_DATA_NODES:,} values)")
        if depth > MAX_DATA_DEPTH:
            raise ScriptDataError(f"{path} is nested more than {MAX_DATA_DEPTH} levels deep")
        if item is None or isinstance(item, (bool, int, str)):
            return item
        if isinstance(item, float):
            if not math.isfinite(item):
                raise ScriptDataError(f"{path} is {item}, which JSON cannot hold")
            return item
        if isinstance(item, (list, tuple, dict)):
            if id(item) in seen:
                raise ScriptDataError(f"{path} contains itself")
            inner = seen | {id(item)}
            if isinstance(item, dict):
                out = {}
                for key, sub in item.items():
                    if not isinstance(key, str):
                        raise ScriptDataError(f"{path} has the key {key!r}; task data keys must be strings")
                    out[key] = walk(sub, f"{path}[{key!r}]", depth + 1, inner)
                return out
            return [walk(sub, f"{path}[{i}]", depth + 1, inner) for i, sub in enumerate(item)]
        raise ScriptDataError(f"{path} holds a {type(item).__name__}, which cannot be kept in task data "
                              f"(use lists, dicts, strings, numbers, booleans or None)")

    return walk(value, where, 0, frozenset())


# --- the SpiffWorkflow environment and engine ----------------------------------------------------


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates expressions and runs scripts in restricted Python, with a time limit."""

    def __init__(self, context: ScriptContext | None = None, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        super().__init__({})
        if not time_limit > 0:
            raise ValueError("time_limit must be positive")
        self.context = context or ScriptContext()
        self.time_limit = time_limit
        self.builtins = {**_base_builtins(), **_Helpers(self.context).names}

    def _scope(self, external_context: Mapping[str, Any] | None,
               context: Mapping[str, Any]) -> dict[str, Any]:
        scope = {k: v for k, v in (external_context or {}).items() if _visible(k)}
        scope.update((k, v) for k, v in context.items() if _visible(k))
        scope["__builtins__"] = self.builtins  # without it exec would hand out the real builtins
        return scope

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        try:
            code = compile_checked(expression, "eval")
            scope = self._scope(external_context, context)
            result = run_with_time_limit(self.time_limit, eval, code, scope)
        except ScriptError as exc:
            exc.kind = "expression"  # for the error people see: a condition, not a script
            raise
        # A generator or function would run later, outside the time limit.
        if callable(result) or isinstance(result, Iterator):
            raise ScriptDataError(f"the expression gave a {type(result).__name__}, not a value")
        return result

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        code = compile_checked(script, "exec")
        external = dict(external_context or {})
        # Work on copies: a script that fails or times out leaves the task data as it was.
        scope = self._scope(copy.deepcopy(external), copy.deepcopy(context))
        run_with_time_limit(self.time_limit, exec, code, scope)
        updates: dict[str, Any] = {}
        for key, value in scope.items():
            if not _visible(key) or (key in external and key not in context) or _is_temporary(value):
                continue
            updates[key] = json_data(value, key)
        for key in [k for k in context if _visible(k) and k not in updates]:
            del context[key]  # deleted by the script, or replaced by a function
        context.update(updates)
        return True


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine, running everything through ``RestrictedEnvironment``."""

    def __init__(self, context: ScriptContext | None = None, time_limit: float = DEFAULT_TIME_LIMIT,
                 environment: RestrictedEnvironment | None = None) -> None:
        super().__init__(environment=environment or RestrictedEnvironment(context, time_limit))

    def validate(self, expression: str) -> None:
        # DMN tells "5" from "> 5" by catching SyntaxError here, so parse errors stay SyntaxErrors.
        ast.parse(expression, mode="eval")
        compile_checked(expression, "eval")


# --- a script stopped or refused while a case ran -----------------------------------------------------

# What the sandbox stops or refuses: the model's fault, answered as ScriptFailed (422), not as our 500.
# RecursionError is Python's own stop for runaway recursion in a script.
SANDBOX_STOPS = (ScriptTimeout, ScriptRejected, ScriptLimitError, ScriptRefused, RecursionError)


def _in_chain(exc: BaseException | None, kinds: type | tuple[type, ...]) -> BaseException | None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kinds):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def script_failure(exc: BaseException) -> ScriptFailed | None:
    """The ScriptFailed naming the BPMN element and file, when ``exc`` is the sandbox stopping a script.

    SpiffWorkflow wraps what a script raised in a WorkflowTaskException that knows the task; the
    sandbox's own error is further down the chain. None for anything else (our faults stay 500).
    """
    task_error = _in_chain(exc, WorkflowTaskException)
    stop = _in_chain(task_error, SANDBOX_STOPS)
    if task_error is None or stop is None:
        return None
    task = getattr(task_error, "task", None)
    spec = getattr(task_error, "task_spec", None) or getattr(task, "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None) or "an element"
    file = getattr(getattr(getattr(task, "workflow", None), "spec", None), "file", None) or "the model"
    where = f"{getattr(stop, 'kind', 'script')} of {element} in {file}"
    if isinstance(stop, ScriptTimeout):
        what = f"{where} ran past its {stop.seconds:g} s time limit and was stopped"
    elif isinstance(stop, RecursionError):
        what = f"{where} recursed too deeply and was stopped"
    else:
        what = f"{where} was refused by the sandbox ({stop})"
    return ScriptFailed(f"{what}; nothing was changed: the process owner must fix the model",
                        element_id=element, file=file)


# --- deploy-time validation of whole process specs -------------------------------------------------


def _dmn_entry_problems(text: str) -> list[str]:
    """Mirrors DMNEngine.evaluate: `?` stands for the input; an entry may be a value or `op value`."""
    replaced = re.sub(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)', "dmninputexpr", text)
    problems = check_source(replaced, "eval")
    if "dmninputexpr" not in replaced and problems:
        try:
            ast.parse(replaced, mode="eval")
        except SyntaxError:
            problems = check_source(f"v {replaced}", "eval")
    return problems


def _event_expressions(definition: Any, label: str) -> Iterator[tuple[str, str]]:
    if definition is None:
        return
    kind = "timer expression" if isinstance(definition, TimerEventDefinition) else f"{label} expression"
    if isinstance(getattr(definition, "expression", None), str):
        yield kind, definition.expression
    for prop in getattr(definition, "correlation_properties", None) or []:
        if isinstance(getattr(prop, "retrieval_expression", None), str):
            yield "correlation expression", prop.retrieval_expression
    for inner in getattr(definition, "event_definitions", None) or []:
        yield from _event_expressions(inner, label)


def _spec_sources(task_spec: Any, specs: Mapping[str, Any]) -> Iterator[tuple[str, str, Mode]]:
    """(what, source, mode) for every piece of code SpiffWorkflow may run for ``task_spec``."""
    scripts = (("script", "script"), ("prescript", "pre-script"), ("postscript", "post-script"))
    for attribute, label in scripts:
        source = getattr(task_spec, attribute, None)
        if isinstance(source, str) and source.strip():
            yield label, source, "exec"
    if isinstance(task_spec, MultiChoice):
        for condition, target in task_spec.cond_task_specs:
            expression = getattr(condition, "args", [None])[0] if condition is not None else None
            if isinstance(expression, str):
                target_spec = specs.get(target)
                target_id = getattr(target_spec, "bpmn_id", None) or target
                yield f"condition on the flow to {target_id}", expression, "eval"
    for attribute, label in (("cardinality", "loop cardinality"), ("condition", "loop condition")):
        expression = getattr(task_spec, attribute, None)
        if isinstance(expression, str) and expression.strip():
            yield label, expression, "eval"
    definition = getattr(task_spec, "event_definition", None)
    for label, expression in _event_expressions(definition, type(definition).__name__):
        yield label, expression, "eval"
    for name, param in (getattr(task_spec, "operation_params", None) or {}).items():
        if isinstance(param, dict) and isinstance(param.get("value"), str):
            yield f"service parameter {name}", param["value"], "eval"


def _dmn_sources(task_spec: Any) -> Iterator[tuple[str, list[str]]]:
    table = getattr(getattr(task_spec, "dmnEngine", None), "decision_table", None)
    if table is None:
        return
    for given in table.inputs:
        if isinstance(given.expression, str) and given.expression.strip():
            yield f"DMN {table.id} input {given.label or given.id}", check_source(given.expression, "eval")
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if isinstance(lhs, str) and lhs.strip() and lhs.strip() != "-":
                    yield f"DMN {table.id} rule {rule.row_number} input", _dmn_entry_problems(lhs)
        for entry in rule.outputEntries:
            if isinstance(getattr(entry, "text", None), str) and entry.text.strip():
                yield f"DMN {table.id} rule {rule.row_number} output", check_source(entry.text, "eval")


def validate_workflow_spec(spec: Any, subprocess_specs: Mapping[str, Any] | None = None) -> list[dict]:
    """Every script, condition, timer and DMN expression in the specs, checked without running any.

    Returns ``{"element_id", "message"}`` dicts; the element is the BPMN element holding the code.
    """
    found: list[dict] = []
    process_specs = [spec, *(s for s in (subprocess_specs or {}).values() if s is not None and s is not spec)]
    for process in process_specs:
        condition = getattr(process, "completion_condition", None)
        if isinstance(condition, str) and condition.strip():
            for problem in check_source(condition, "eval"):
                found.append({"element_id": process.name, "message": f"completion condition: {problem}"})
        specs: Mapping[str, Any] = getattr(process, "task_specs", {})
        for task_spec in specs.values():
            element = getattr(task_spec, "bpmn_id", None) or None
            for label, source, mode in _spec_sources(task_spec, specs):
                for problem in check_source(source, mode):
                    found.append({"element_id": element, "message": f"{label}: {problem}"})
            for label, problems in _dmn_sources(task_spec):
                for problem in problems:
                    found.append({"element_id": element, "message": f"{label}: {problem}"})
    return found
