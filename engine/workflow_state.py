"""Saving and loading SpiffWorkflow state.

A process version's parsed spec is serialized once, at deploy, into
``process_definitions.spec_json``. An instance stores only its run state
(tasks, data, subprocesses, events): the converter below leaves the spec out
on save and puts the cached spec object back on load.
"""
from __future__ import annotations

import gzip
import json
import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from . import spiff_join

STATE_FORMAT = "complaintflow-state-1"


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Like SpiffWorkflow's converter, minus the spec and subprocess specs."""

    def to_dict(self, workflow):  # noqa: ANN001, ANN201
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):  # noqa: ANN001, ANN201
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def make_registry():  # noqa: ANN201
    """SpiffWorkflow's converter registry, restoring joins as engine.spiff_join's (same typenames)."""
    return BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, **spiff_join.SERIALIZER_CONFIG})


_spec_serializer = BpmnWorkflowSerializer(make_registry())
_state_registry = make_registry()
_state_converter = _StateOnlyWorkflowConverter(BpmnWorkflow, _state_registry)
# SpiffWorkflow's encoder converts what its registry knows (events and the like) inside task data.
_state_encoder = create_encoder(_state_registry)


def spec_to_json(spec, subprocess_specs: dict) -> str:  # noqa: ANN001
    registry = _spec_serializer.registry
    return json.dumps(
        {
            "spec": registry.convert(spec),
            "subprocess_specs": {name: registry.convert(s) for name, s in subprocess_specs.items()},
        }
    )


def spec_from_json(text: str) -> tuple[Any, dict]:
    dct = json.loads(text)
    registry = _spec_serializer.registry
    spec = registry.restore(dct["spec"])
    subprocess_specs = {name: registry.restore(s) for name, s in dct["subprocess_specs"].items()}
    return spec, subprocess_specs


def state_to_bytes(workflow: BpmnWorkflow) -> bytes:
    _state_registry._encoder_mode = True
    try:
        dct = _state_converter.to_dict(workflow)
    finally:
        _state_registry._encoder_mode = False
    dct["format"] = STATE_FORMAT
    text = json.dumps(dct, separators=(",", ":"), cls=_state_encoder)
    return gzip.compress(text.encode("utf-8"), compresslevel=1)


def state_from_bytes(data: bytes, spec, subprocess_specs: dict, script_engine) -> BpmnWorkflow:  # noqa: ANN001
    dct = json.loads(gzip.decompress(data))
    if dct.pop("format", None) != STATE_FORMAT:
        raise ValueError("unknown workflow state format")
    workflow = _state_converter.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


class SpecCache:
    """Parsed specs by definition id. Specs never change once deployed, so no invalidation."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[int, tuple[Any, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, definition_id: int, spec_json_loader) -> tuple[Any, dict]:  # noqa: ANN001
        with self._lock:
            if definition_id in self._items:
                self._items.move_to_end(definition_id)
                return self._items[definition_id]
        loaded = spec_from_json(spec_json_loader())
        with self._lock:
            self._items[definition_id] = loaded
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return loaded
