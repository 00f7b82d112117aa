"""Where parallel branches meet: what each one brings to the joined task data.

SpiffWorkflow's joins (the end of every process and subprocess, parallel and inclusive gateways)
deep-merge each arriving branch's *whole* data into the joining task. A branch carries the copy of
the data it forked with (a 催办 reminder branch: the data from before the task its timer sits on),
so its stale values overwrote what the other branches changed since; the branch that arrived last
won outright. And as SpiffWorkflow copies task data only one level deep, that merge rewrote the
other branch's own nested dicts (``sla_clocks[...]``) in place, past repair.

The joins here replay instead. From the data where the arriving branches forked, every task below
that point applies what it changed compared with its parent (down to single values inside nested
dicts; deleted keys included), in the order the tasks finished. So a branch contributes only what
it changed, a stale copy changes nothing, and when two branches changed the same value the later
change wins. The joined data is a deep copy: it shares no dict or list with any other task, and no
other task's data is touched.

The classes keep SpiffWorkflow's class names, hence the serialized ``typename``: specs deployed
before this module still load (and get these joins), and audit entries keep their element types.
``SERIALIZER_CONFIG`` installs them in a serializer registry (see ``engine.workflow_state``).
"""
from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    ConditionalGatewayConverter,
    ParallelGatewayConverter,
)
from SpiffWorkflow.bpmn.specs import control
from SpiffWorkflow.bpmn.specs import defaults as bpmn_defaults
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_GONE = object()  # a key the task deleted


def _lineage(task: Task) -> list[Task]:
    """The task's ancestors from the root down, ending with the task itself."""
    chain = []
    node: Task | None = task
    while node is not None:
        chain.append(node)
        node = node.parent
    chain.reverse()
    return chain


def _changes(before: dict, after: dict, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, new value) for every value ``after`` holds differently from ``before``; ``_GONE`` when deleted.

    Dicts are compared key by key, so two branches that changed different entries of one dict both
    count; any other value (a list included) is replaced whole.
    """
    for key, value in after.items():
        old = before.get(key, _GONE)
        if old is value or (type(old) is type(value) and old == value):
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            yield from _changes(old, value, (*path, key))
        else:
            yield (*path, key), value
    for key in before:
        if key not in after:
            yield (*path, key), _GONE


def _apply(target: dict, path: tuple, value: Any, source: dict) -> None:
    """Write one change into ``target`` as a copy; ``source`` is the data of the task that made it."""
    node = target
    for depth, key in enumerate(path[:-1]):
        child = node.get(key)
        if not isinstance(child, dict):
            # Elsewhere this dict was replaced or deleted meanwhile: the changing task's whole dict wins.
            if value is not _GONE:
                owner = source
                for part in path[:depth + 1]:
                    owner = owner[part]
                node[key] = deepcopy(owner)
            return
        node = child
    if value is _GONE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = deepcopy(value)


def joined_data(arrivals: list[Task]) -> dict:
    """The data where the branches ending in ``arrivals`` (each branch's last task) meet; a fresh copy."""
    lineages = [_lineage(task) for task in arrivals]
    shared = 0
    for level in zip(*lineages, strict=False):
        if any(task is not level[0] for task in level):
            break
        shared += 1
    fork = lineages[0][shared - 1]
    below: dict[Any, tuple[Task, int]] = {}
    for lineage in lineages:
        for depth in range(shared, len(lineage)):
            below[lineage[depth].id] = (lineage[depth], depth)
    data = deepcopy(fork.data)
    # Finishing order, ancestors first on a tie: a task's changes count from the moment it finished.
    for task, _depth in sorted(below.values(), key=lambda item: (item[0].last_state_change, item[1])):
        for path, value in _changes(task.parent.data, task.data):
            _apply(data, path, value, task.data)
    return data


def join_branches(spec: Any, my_task: Task) -> None:
    """Give ``my_task`` (a firing join) the data of every branch that arrived at it since it last fired."""
    previous = my_task.parent
    while previous is not None and previous.task_spec is not spec:
        previous = previous.parent
    others = [t for t in my_task.workflow.tasks.values()
              if t.task_spec is spec and t is not my_task and t.has_state(TaskState.FINISHED_MASK)
              and not my_task.is_descendant_of(t)]
    arrivals = [my_task.parent]
    for task in sorted(others, key=lambda t: t.last_state_change):
        # A branch counts once it reached the join; a loop's earlier round was joined when the join last fired.
        if task.parent is not None and task.parent.has_state(TaskState.COMPLETED) and (
                previous is None or task.last_state_change > previous.last_state_change):
            arrivals.append(task.parent)
        # As SpiffWorkflow does: after a reset into a branch, drop what the old copy of the join started.
        if task.has_state(TaskState.COMPLETED):
            task._drop_children(force=True)
    my_task.data = joined_data(arrivals)


class _EndJoin(control._EndJoin):
    """The join every process and subprocess ends in (it waits for all branches), replaying their changes."""

    def _run_hook(self, my_task: Task) -> bool:
        join_branches(self, my_task)
        my_task.workflow.data.update(deepcopy(my_task.data))
        return True


class ParallelGateway(bpmn_defaults.ParallelGateway):
    """A parallel gateway whose join replays the arriving branches' changes."""

    def _run_hook(self, my_task: Task) -> bool:
        join_branches(self, my_task)
        return True


class InclusiveGateway(bpmn_defaults.InclusiveGateway):
    """An inclusive gateway whose join replays the arriving branches' changes, then picks its outputs."""

    def _run_hook(self, my_task: Task) -> bool:
        join_branches(self, my_task)
        # The rest as SpiffWorkflow's InclusiveGateway._run_hook.
        matches, defaults = self._get_matching_outputs(my_task)
        if len(matches + defaults) == 0:
            raise WorkflowTaskException("No conditions satisfied on gateway", task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


# Added after SpiffWorkflow's own config, these take over their typenames when specs are restored.
SERIALIZER_CONFIG = {
    _EndJoin: BpmnTaskSpecConverter,
    ParallelGateway: ParallelGatewayConverter,
    InclusiveGateway: ConditionalGatewayConverter,
}
