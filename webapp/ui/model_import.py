"""Importing diagrams made in Camunda Modeler or bpmn.io."""
from __future__ import annotations
