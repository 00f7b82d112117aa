"""Schemathesis over the whole OpenAPI document, in-process through WSGI (no network).

Every operation gets generated requests, valid and invalid (schemathesis' positive and negative
modes), three ways: with the bearer token of a user holding every role, the same with the path
pointing at real objects (a running case, its open task, the deployed process), and with no token.
Every answer must be no 5xx, use a status code the document lists for the operation and match
the documented schema. Each operation runs on a fresh database (the fixtures below are per test).
The run is bounded and derandomized so CI is stable; set COMPLAINTFLOW_FUZZ_EXAMPLES to dig deeper.
"""
from __future__ import annotations

import os
from collections.abc import Callable

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from engine import holidays, users
from engine.viewer import SYSTEM
from tests.conftest import BASIC_DIR
from tests.ui_support import COMPLAINT
from webapp import openapi, state

pytest_plugins = ["tests.web_fixtures"]

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EVERY_ROLE = ["intake", "dispatcher", "escalation", "appeals", "supervisor", "owner", "admin", "gateway",
              "dept:network"]
EXAMPLES = int(os.environ.get("COMPLAINTFLOW_FUZZ_EXAMPLES", "20"))
BOUNDED = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
                   suppress_health_check=list(HealthCheck))

# The document is built without an app (it is static); each test sends to its own app.
schema = schemathesis.openapi.from_dict(openapi.document())


@pytest.fixture
def fuzzed_app(make_app: Callable[..., Flask]) -> Flask:
    """The basic test process deployed, with the test clock on so its endpoint is fuzzed too."""
    app = make_app(test_clock=True, processes_dir=BASIC_DIR / "processes", forms_dir=BASIC_DIR / "forms")
    with state(app).db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    state(app).engine.deploy_directory("owner")
    return app


@pytest.fixture
def every_role(fuzzed_app: Flask, make_user: Callable[..., str]) -> dict[str, str]:
    make_user("all_roles", EVERY_ROLE)
    return {"Authorization": f"Bearer {users.issue_token(state(fuzzed_app).db, 'all_roles', ttl_hours=12)}"}


@pytest.fixture
def real_objects(fuzzed_app: Flask) -> dict[str, str]:
    """Path parameter values that name things that exist: a running case and its open task."""
    engine = state(fuzzed_app).engine
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    task_id = engine.get_case(number, SYSTEM)["tasks"][0]["id"]
    return {"number": number, "task_id": task_id, "process_id": "complaint_intake", "version": "1",
            "name": "appeal_received"}


@schema.parametrize()
@BOUNDED
def test_every_operation_with_a_token_of_every_role(case: schemathesis.Case, fuzzed_app: Flask,
                                                    every_role: dict) -> None:
    case.call_and_validate(headers=every_role, checks=CHECKS, app=fuzzed_app)


@schema.parametrize()
@BOUNDED
def test_every_operation_on_real_objects(case: schemathesis.Case, fuzzed_app: Flask, every_role: dict,
                                         real_objects: dict) -> None:
    if case.path_parameters:
        case.path_parameters = {name: real_objects.get(name, value) for name, value in case.path_parameters.items()}
    case.call_and_validate(headers=every_role, checks=CHECKS, app=fuzzed_app)


@schema.parametrize()
@BOUNDED
def test_every_operation_without_a_token(case: schemathesis.Case, fuzzed_app: Flask) -> None:
    case.call_and_validate(checks=CHECKS, app=fuzzed_app)
