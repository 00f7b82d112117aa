"""OpenAPI paths and schemas of webapp/api_reports.py, merged into the document by webapp/openapi.py."""
from __future__ import annotations

from engine.reports import FORMATS, MAX_DAYS, MAX_PAGE_SIZE, PERIODS, REPORT_ROLES, SETTINGS_ROLES, SPLITS

from .openapi import error, json_body, ok, operation, query_param, ref

DATE = {"type": "string", "format": "date"}
RATE = {"type": ["number", "null"], "description": "numerator / denominator, 4 decimals; null when nothing counted"}
COUNTS = {"type": "object", "additionalProperties": {"type": "integer"},
          "description": "Count per part (total, in_time, missed, pending, ...): a drill-down takes any of them."}

RANGE = [
    query_param("from", DATE, "First day (Asia/Shanghai), inclusive; default the first of this month."),
    query_param("to", DATE, f"Last day, inclusive; default today. At most {MAX_DAYS} days from `from`."),
    query_param("period", {"type": "string", "enum": list(PERIODS), "default": "day"},
                "Buckets of the series: day, week (Monday first) or month."),
    query_param("split", {"type": "string", "enum": list(SPLITS)},
                "Also count per customer tier, city, department (a case dispatched to two counts in both) or "
                "category."),
]
FORMAT = query_param("format", {"type": "string", "enum": list(FORMATS), "default": "json"},
                     "json, or a download: csv (UTF-8, Chinese headers) or xlsx (numbers as numbers, rates as %).")
FILES = {"text/csv": {"schema": {"type": "string"}},
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
             {"schema": {"type": "string", "format": "binary"}}}


def _report(summary: str, operation_id: str, schema: str, description: str, parameters: list) -> dict:
    answer = ok("The report (or the file with ?format=csv|xlsx).", ref(schema))
    answer["content"].update(FILES)
    return {"get": operation(summary, {"200": answer, "400": error("BadRequest")}, roles=REPORT_ROLES,
                             tag="reports", operation_id=operation_id, description=description,
                             parameters=[*parameters, FORMAT])}


SOURCE = {"type": "object", "required": ["database", "data_as_of", "fallback"],
          "description": "Where the figures come from. `replica` (COMPLAINTFLOW_REPORTS_DATABASE_URL is set) trails "
          "the primary by the replication lag. While the replica cannot be reached (connection refused, down, "
          "starting up) the primary answers instead: `database` is `primary`, `fallback` true and `reason` "
          "`replica unavailable`. A slow replica or a query error on it is not masked.", "properties": {
    "database": {"enum": ["primary", "replica"]},
    "data_as_of": {"type": ["string", "null"], "format": "date-time",
                   "description": "On a PostgreSQL standby, the commit time of the last transaction it replayed; "
                                  "null when unknown (the figures may lag by an unknown time) and for the primary "
                                  "(live data)."},
    "fallback": {"type": "boolean",
                 "description": "True when the primary stood in for a reports replica that could not be reached."},
    "reason": {"type": "string", "enum": ["replica unavailable"],
               "description": "Why the primary stood in; only with `fallback` true."}}}

SERIES_POINT = {"type": "object", "properties": {
    "bucket": {"type": "string", "description": "2026-03-02, 2026-W10 or 2026-03."},
    "from": DATE, "to": DATE, "numerator": {"type": "integer"}, "denominator": {"type": ["integer", "null"]},
    "rate": RATE, "parts": COUNTS}}

SCHEMAS: dict = {
    "ReportFigure": {
        "type": "object",
        "required": ["id", "numerator", "denominator", "rate", "series"],
        "description": "One figure. Drill down with GET /reports/cases?figure={id}&part={numerator_part} and the "
                       "from/to of the range, of a series point or with split and key.",
        "properties": {
            "id": {"type": "string", "examples": ["closure"]},
            "process_id": {"type": "string"},
            "numerator": {"type": "integer"}, "denominator": {"type": ["integer", "null"]}, "rate": RATE,
            "numerator_part": {"type": ["string", "null"]}, "denominator_part": {"type": ["string", "null"]},
            "target": {"type": ["number", "null"]}, "met_target": {"type": ["boolean", "null"]},
            "unit": {"type": "string", "description": "per_million for the appeal rate (申诉率)."},
            "parts": COUNTS,
            "series": {"type": "array", "items": SERIES_POINT},
            "splits": {"type": "array", "items": {"type": "object", "properties": {
                "key": {"type": "string", "description": "The split's value; - when the case has none."},
                "numerator": {"type": "integer"}, "denominator": {"type": "integer"}, "rate": RATE,
                "parts": COUNTS, "series": {"type": "array", "items": SERIES_POINT}}}},
        },
    },
    "ServiceQualityReport": {
        "type": "object",
        "required": ["from", "to", "period", "figures", "stages"],
        "description": "限时办结率 (closure), 一次性解决率 (first_contact), 重复投诉率 (repeat), "
                       "升级投诉率 (upgraded), 回访满意率 (satisfaction), 申诉率 (appeal_rate, per million "
                       "customers) and the time per stage.",
        "properties": {
            "from": DATE, "to": DATE, "period": {"enum": list(PERIODS)}, "split": {"type": ["string", "null"]},
            "as_of": {"type": "string", "format": "date-time"},
            "source": SOURCE,
            "customer_count": {"type": ["integer", "null"]},
            "buckets": {"type": "array", "items": {"type": "object"}},
            "figures": {"type": "array", "items": ref("ReportFigure")},
            "stages": {"type": "array", "items": {"type": "object", "properties": {
                "stage": {"enum": ["accept", "dispatch", "handle", "review", "callback"]},
                "figure": {"type": "string"}, "count": {"type": "integer"},
                "avg_seconds": {"type": ["number", "null"]}, "p90_seconds": {"type": ["number", "null"]},
                "splits": {"type": "array", "items": {"type": "object"}}}}},
        },
    },
    "StandardsReport": {
        "type": "object",
        "required": ["lines"],
        "properties": {
            "from": DATE, "to": DATE, "as_of": {"type": "string", "format": "date-time"},
            "source": SOURCE,
            "lines": {"type": "array", "items": {"allOf": [ref("ReportFigure"), {"type": "object", "properties": {
                "policy": {"type": "string"}, "clock": {"type": "string"}, "basis": {"type": "string"},
                "amount": {"type": "integer"},
                "missed_cases": {"type": "array", "items": ref("ReportCase"),
                                 "description": "The newest cases that missed the line (as many as ?missed= asks; "
                                                "in a file up to 200); all of them via the drill-down."},
            }}]}},
        },
    },
    "AppealsMonthlyReport": {
        "type": "object",
        "required": ["month", "counts", "outcomes", "issues"],
        "properties": {
            "month": {"type": "string", "examples": ["2026-03"]}, "from": DATE, "to": DATE,
            "previous_month": {"type": "string"}, "last_year_month": {"type": "string"},
            "source": SOURCE,
            "counts": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"enum": ["total", "repeat", "invalid", "valid"]}, "part": {"type": "string"},
                "value": {"type": "integer"}, "previous": {"type": "integer"}, "last_year": {"type": "integer"},
                "mom": {"type": ["number", "null"], "description": "Month-on-month change; null after a 0."},
                "yoy": {"type": ["number", "null"], "description": "Year-on-year change; null after a 0."},
            }}},
            "outcomes": {"type": "array", "items": {"type": "object", "properties": {
                "outcome": {"enum": ["和解", "不认可", "知晓", None]}, "part": {"type": "string"},
                "count": {"type": "integer"}}}},
            "issues": {"type": "array", "maxItems": 10, "items": {"type": "object", "properties": {
                "issue": {"type": "string"}, "count": {"type": "integer"}, "share": RATE}}},
        },
    },
    "ReportCase": {
        "type": "object",
        "properties": {
            "number": {"type": "string"}, "process_id": {"type": "string"}, "status": {"type": "string"},
            "received_at": {"type": "string", "format": "date-time"}, "tier": {"type": ["string", "null"]},
            "city": {"type": ["string", "null"]}, "category": {"type": ["string", "null"]},
            "departments": {"type": "array", "items": {"type": "string"}},
            "clock": {"type": "object", "properties": {
                "name": {"type": "string"}, "policy": {"type": ["string", "null"]},
                "due_at": {"type": ["string", "null"]}, "met_at": {"type": ["string", "null"]},
                "state": {"enum": ["in_time", "missed", "pending", None]}}},
            "seconds": {"type": ["number", "null"], "description": "The stage's time, for a stage figure."},
        },
    },
    "ReportCaseList": {
        "type": "object",
        "required": ["items", "total", "page", "page_size"],
        "properties": {
            "figure": {"type": "string"}, "part": {"type": "string"}, "from": DATE, "to": DATE,
            "split": {"type": ["string", "null"]}, "key": {"type": ["string", "null"]},
            "items": {"type": "array", "items": ref("ReportCase")}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "page_size": {"type": "integer"},
            "source": SOURCE,
        },
    },
    "ReportSettings": {
        "type": "object",
        "properties": {
            "customer_count": {"type": ["integer", "null"], "minimum": 1,
                               "description": "Customers behind 申诉率 (valid appeals per million customers)."},
            "updated_by": {"type": ["string", "null"]},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
}

PATHS: dict = {
    "/api/v1/reports/service-quality": _report(
        "Service-quality KPIs", "getServiceQualityReport", "ServiceQualityReport",
        "Complaints (TS) received in the range, counted per day/week/month of receipt (Asia/Shanghai) and "
        "optionally per split. 限时办结率 = dispatched complaints whose closure clock was met by its deadline / "
        "dispatched complaints; open cases not yet due count as pending (in the denominator).", RANGE),
    "/api/v1/reports/standards": _report(
        "The service standard's lines", "getStandardsReport", "StandardsReport",
        "Mobile reply within 2 working days (target 100%), non-coverage resolved within 5 working days (98%), "
        "broadband install/move 72 h, repair 24/36/48 h (urban/suburban/rural): each with its rate, target and "
        "the cases that missed it. Compares each case's clock met_at with its due_at.",
        [*RANGE, query_param("missed", {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_SIZE, "default": 0},
                             "List this many of the newest missed cases per line (one query per line).")]),
    "/api/v1/reports/appeals/monthly": _report(
        "The regulator's monthly appeal report", "getAppealsMonthlyReport", "AppealsMonthlyReport",
        "Total, repeat, invalid and valid appeals received in the month with month-on-month and year-on-year "
        "change, the outcome split (和解 / 不认可 / 知晓) and the top-10 issues.",
        [query_param("month", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                     "The month, YYYY-MM; default last month.")]),
    "/api/v1/reports/cases": _report(
        "Drill-down: the cases behind a figure", "getReportCases", "ReportCaseList",
        "Newest first, paged; with ?format=csv|xlsx every row (up to 50,000).",
        [query_param("figure", {"type": "string"}, "Figure id, e.g. closure, first_contact, appeals, "
                     "stage_handle or a standard's policy such as mobile_reply_2wd. Required."),
         query_param("part", {"type": "string"}, "Which part of the figure (default its numerator part)."),
         *RANGE[:2],
         query_param("split", {"type": "string", "enum": [*SPLITS, "issue"]}, "Narrow to one split key."),
         query_param("key", {"type": "string"}, "The split's value (- for cases without one)."),
         query_param("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number."),
         query_param("page_size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 50},
                     "Page size.")]),
    "/api/v1/reports/settings": {
        "get": operation("Report settings", {"200": ok("The settings.", ref("ReportSettings"))},
                         roles=REPORT_ROLES, tag="reports", operation_id="getReportSettings"),
        "put": operation(
            "Set the customer count behind 申诉率",
            {"200": ok("The settings after the change.", ref("ReportSettings")), "400": error("BadRequest"),
             "415": error("UnsupportedMediaType"), "422": error("ValidationFailed")},
            roles=SETTINGS_ROLES, tag="reports", operation_id="putReportSettings",
            description="Writes an audit event (report_setting_changed).",
            body=json_body({"type": "object", "required": ["customer_count"],
                            "properties": {"customer_count": {"type": "integer", "minimum": 1}}},
                           {"customer_count": 12000000})),
    },
}
