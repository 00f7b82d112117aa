"""Wall time spent in named functions during a benchmark run: where a request's time goes.

The functions are wrapped for the run and put back after it (``PhaseTimer`` is a context manager);
nothing in the product is changed. Nested phases are timed each on their own: a "save" row includes
its "save: store the state" row.
"""
from __future__ import annotations

import functools
import time
from collections import Counter, defaultdict


class PhaseTimer:
    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._wrapped: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, name: str, label: str) -> None:
        """Time every call of ``owner.name`` (a module's function or a class's method) as ``label``."""
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - started
                self.calls[label] += 1

        setattr(owner, name, timed)
        self._wrapped.append((owner, name, original))

    def __enter__(self) -> PhaseTimer:
        return self

    def __exit__(self, *_exc: object) -> None:
        for owner, name, original in reversed(self._wrapped):
            setattr(owner, name, original)
        self._wrapped.clear()

    def table(self, lifecycles: int) -> str:
        lines = ["| phase | ms per lifecycle | calls per lifecycle | ms per call |", "|---|---:|---:|---:|"]
        for label, spent in self.spent.items():
            calls = self.calls[label]
            lines.append(f"| {label} | {1000 * spent / lifecycles:.2f} | {calls / lifecycles:.1f} "
                         f"| {1000 * spent / calls:.2f} |")
        return "\n".join(lines)
