"""The in-browser editors: BPMN modeler, DMN table editor and form editor, with validate and deploy."""
from __future__ import annotations
