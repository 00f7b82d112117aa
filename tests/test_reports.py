"""Service-quality reports over a known month (tests/reports_support.py: March 2026, built through the engine
with the test clock), asserting every figure exactly; the drill-down, the exports, the API and the
reporting rows (case_facts) themselves.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from flask import Flask
from lxml import etree
from openpyxl import load_workbook
from sqlalchemy import delete, select

from engine import case_facts, report_export, report_settings, reports
from engine.case_facts import CaseFact
from engine.config import PROJECT_ROOT
from engine.errors import BadRequest, Forbidden, ValidationFailed
from engine.models import AuditEvent
from engine.viewer import Viewer
from tests.reports_support import AS_OF, CUSTOMERS, MARCH, Driver, csv_block, csv_blocks, product_engine

pytest_plugins = ["tests.web_fixtures", "tests.reports_fixtures"]

SUPERVISOR = Viewer("supervisor", frozenset({"supervisor"}))
H = 3600


def by_id(items: list[dict], key: str = "id") -> dict[str, dict]:
    return {item[key]: item for item in items}


def numbers(figure: dict) -> tuple:
    return figure["numerator"], figure["denominator"], figure["rate"]


def splits(figure: dict) -> dict[str, tuple]:
    return {s["key"]: (s["numerator"], s["denominator"]) for s in figure["splits"]}


# -- the service-quality report ----------------------------------------------------------------------------


def test_every_service_quality_figure_of_the_month(month) -> None:  # noqa: ANN001
    report = reports.service_quality(month.db, SUPERVISOR, {**MARCH, "period": "month"})
    assert (report["from"], report["to"]) == ("2026-03-01", "2026-03-31")
    assert report["as_of"] == AS_OF.astimezone(UTC).isoformat()
    figures = by_id(report["figures"])
    assert list(figures) == ["closure", "first_contact", "repeat", "upgraded", "satisfaction", "appeal_rate"]
    # 限时办结率: 7 dispatched (C1 C2 C3 C5 C8 C9 C10); in time C1 C5 C9; C2 late, C3 reopened and past
    # its new deadline; C8 paused waiting for the customer and C10 not yet due are pending.
    assert numbers(figures["closure"]) == (3, 7, 0.4286)
    assert figures["closure"]["parts"] == {"total": 7, "in_time": 3, "missed": 2, "pending": 2}
    # 一次性解决率: 8 reached first contact (C6, C7 were upgraded at once), C4 and C5 solved there.
    assert numbers(figures["first_contact"]) == (2, 8, 0.25)
    assert numbers(figures["repeat"]) == (1, 10, 0.1)  # C6 repeats C1; C0 (February) is not counted
    assert numbers(figures["upgraded"]) == (2, 10, 0.2)  # C6 (repeat) and C7 (10015)
    # 回访满意率: the last callback of C1 C2 C3 C4 C5 C9 (C5 unsatisfied first, satisfied after dispatch).
    assert numbers(figures["satisfaction"]) == (4, 6, 0.6667)
    assert figures["satisfaction"]["parts"] == {"total": 6, "satisfied": 4, "neutral": 1, "dissatisfied": 1}
    # 申诉率: 3 valid appeals (A4 is invalid) per 2,000,000 customers = 1.5 per million.
    assert numbers(figures["appeal_rate"]) == (3, CUSTOMERS, 1.5)
    assert figures["appeal_rate"]["unit"] == "per_million"
    assert [(s["bucket"], s["numerator"], s["denominator"], s["rate"]) for s in figures["closure"]["series"]] == [
        ("2026-03", 3, 7, 0.4286)]


def test_time_per_stage_average_and_p90(month) -> None:  # noqa: ANN001
    report = reports.service_quality(month.db, SUPERVISOR, MARCH)
    stages = {s["stage"]: (s["count"], s["avg_seconds"], s["p90_seconds"]) for s in report["stages"]}
    assert stages == {
        # 受理 C1 0.5h, C2 10m, C3 0, C4 0.5h, C5 5m, C8 0, C9 0, C10 0.
        "accept": (8, 562.5, 1800.0),
        # 审核派发 C1 0.5h, C2 50m, C3 0.5h, C5 1h, C8 1h, C9 0.5h, C10 1h (C3's second audit is still open).
        "dispatch": (7, 2742.9, 3600.0),
        # 核查处理 C1 6h, C2 16.5h, C3 22.5h, C5 4h, C8 2h (until it asked the customer), C9 26.5h.
        "handle": (6, 46500.0, 26.5 * H),
        # 结果审核 C1 18h, C2 7.5h, C3 1h, C5 1h, C9 1h.
        "review": (5, 20520.0, 18 * H),
        # 回访 (reply and callback) C1 5h, C2 49h, C3 2h, C4 5.5h, C5 55m + 18h, C9 1h.
        "callback": (6, 48850.0, 49 * H),
    }


def test_closure_split_by_tier_city_department_and_category(month) -> None:  # noqa: ANN001
    def closure(split: str) -> dict:
        report = reports.service_quality(month.db, SUPERVISOR, {**MARCH, "split": split})
        return splits(by_id(report["figures"])["closure"])

    assert closure("tier") == {"standard": (3, 4), "svip": (0, 1), "high": (0, 2)}
    assert closure("city") == {"北京": (2, 3), "上海": (0, 2), "广州": (1, 1), "成都": (0, 1)}
    # Only keys with cases in the figure: never-dispatched complaints (department -) are not in this one.
    assert closure("department") == {"network": (2, 3), "billing": (0, 1), "broadband": (1, 3)}
    assert closure("category") == {"mobile_data": (1, 2), "billing": (0, 1), "broadband_repair": (1, 2),
                                   "mobile_voice": (1, 1), "broadband_install": (0, 1)}


def test_other_figures_by_department_and_totals_unchanged_by_a_split(month) -> None:  # noqa: ANN001
    report = reports.service_quality(month.db, SUPERVISOR, {**MARCH, "split": "department"})
    figures = by_id(report["figures"])
    assert splits(figures["first_contact"]) == {"-": (1, 1), "billing": (0, 1), "broadband": (0, 3), "network": (1, 3)}
    assert splits(figures["repeat"]) == {"-": (1, 3), "billing": (0, 1), "broadband": (0, 3), "network": (0, 3)}
    assert splits(figures["upgraded"]) == {"-": (2, 3), "billing": (0, 1), "broadband": (0, 3), "network": (0, 3)}
    assert splits(figures["satisfaction"]) == {"-": (1, 1), "billing": (0, 1), "broadband": (1, 2), "network": (2, 2)}
    assert "splits" not in figures["appeal_rate"]
    # A case in two departments would count in both rows; the totals are counted once.
    assert numbers(figures["closure"]) == (3, 7, 0.4286) and numbers(figures["repeat"]) == (1, 10, 0.1)
    stage = by_id(report["stages"], "stage")["handle"]
    assert [(s["key"], s["count"], s["avg_seconds"]) for s in stage["splits"]] == [
        ("billing", 1, 16.5 * H), ("broadband", 3, 61200.0), ("network", 2, 5 * H)]
    assert stage["p90_seconds"] == 26.5 * H  # the percentile is for the whole range only


def test_a_case_counts_in_each_department_and_once_in_the_totals(db, database_url, clock) -> None:  # noqa: ANN001
    driver = Driver(product_engine(db, database_url))
    both = driver.start("2026-03-02 09:00", "13800000001")
    driver.first_contact("2026-03-02 09:00", both, solved=False)
    driver.audit("2026-03-02 10:00", both, "network", "billing")
    driver.handle("2026-03-02 11:00", both, "network")
    driver.handle("2026-03-02 12:00", both, "billing")
    driver.review("2026-03-02 13:00", both)
    returned = driver.start("2026-03-02 09:30", "13800000002")
    driver.first_contact("2026-03-02 09:30", returned, solved=False)
    driver.audit("2026-03-02 10:00", returned, "billing")
    driver.handle("2026-03-02 10:30", returned, "billing", action="return")  # a wrong dispatch: not billing's
    driver.audit("2026-03-02 11:00", returned, "network")
    report = reports.service_quality(db, SUPERVISOR, {**MARCH, "split": "department"})
    closure = by_id(report["figures"])["closure"]
    assert numbers(closure) == (1, 2, 0.5)
    assert splits(closure) == {"billing": (1, 1), "network": (1, 2)}
    assert by_id(report["stages"], "stage")["handle"]["count"] == 2  # the stage totals count each case once too
    listed = reports.case_list(db, SUPERVISOR, {**MARCH, "figure": "closure", "part": "total", "split": "department",
                                                "key": "billing"})
    assert [(c["number"], c["departments"]) for c in listed["items"]] == [(both, ["billing", "network"])]


def test_series_per_day_week_and_month_in_shanghai_time(month) -> None:  # noqa: ANN001
    week = reports.service_quality(month.db, SUPERVISOR, {**MARCH, "period": "week", "split": "tier"})
    closure = by_id(week["figures"])["closure"]
    assert [(s["bucket"], s["from"], s["to"], s["numerator"], s["denominator"]) for s in closure["series"]] == [
        ("2026-W09", "2026-03-01", "2026-03-01", 0, 0), ("2026-W10", "2026-03-02", "2026-03-08", 1, 3),
        ("2026-W11", "2026-03-09", "2026-03-15", 1, 2), ("2026-W12", "2026-03-16", "2026-03-22", 1, 2),
        ("2026-W13", "2026-03-23", "2026-03-29", 0, 0), ("2026-W14", "2026-03-30", "2026-03-31", 0, 0)]
    high = {s["key"]: s for s in closure["splits"]}["high"]
    assert [(s["bucket"], s["numerator"], s["denominator"]) for s in high["series"] if s["denominator"]] == [
        ("2026-W10", 0, 1), ("2026-W12", 0, 1)]
    day = reports.service_quality(month.db, SUPERVISOR, {"from": "2026-03-02", "to": "2026-03-04"})
    assert [(s["bucket"], s["numerator"], s["denominator"]) for s in by_id(day["figures"])["closure"]["series"]] == [
        ("2026-03-02", 1, 1), ("2026-03-03", 0, 1), ("2026-03-04", 0, 1)]


def test_a_case_counts_on_its_day_in_shanghai_time(db, database_url, clock) -> None:  # noqa: ANN001
    driver = Driver(product_engine(db, database_url))
    late = driver.start("2026-03-31 23:30", "13800000031")  # 15:30 UTC, still March in Beijing
    early = driver.start("2026-04-01 00:30", "13800000041")  # 16:30 UTC on March 31
    with db.read() as session:
        days = dict(session.execute(select(CaseFact.number, CaseFact.received_day)).all())
    assert (days[late].isoformat(), days[early].isoformat()) == ("2026-03-31", "2026-04-01")
    report = reports.service_quality(db, SUPERVISOR, {"from": "2026-03-01", "to": "2026-04-30", "period": "month"})
    assert [(s["bucket"], s["denominator"]) for s in by_id(report["figures"])["repeat"]["series"]] == [
        ("2026-03", 1), ("2026-04", 1)]


# -- the standards and the appeal report ------------------------------------------------------------------------


def test_each_line_of_the_service_standard_with_target_and_missed_cases(month) -> None:  # noqa: ANN001
    report = reports.standards_report(month.db, SUPERVISOR, {**MARCH, "missed": "20"})
    lines = by_id(report["lines"])
    n = month.n
    summary = {i: (line["target"], line["parts"]["total"], line["parts"]["in_time"], line["parts"]["missed"],
                   line["parts"]["pending"], line["rate"], line.get("met_target"),
                   [c["number"] for c in line["missed_cases"]]) for i, line in lines.items()}
    assert summary == {
        # Mobile complaints C1 C2 C4 C5 C10: C2 replied on 03-06, after its 2 working days.
        "mobile_reply_2wd": (1.0, 5, 3, 1, 1, 0.6, False, [n["C2"]]),
        # Not about coverage: C1 C2 C3 C5 C8 C9 C10 (C4 is a coverage complaint).
        "non_coverage_resolve_5wd": (0.98, 7, 5, 0, 2, 0.7143, False, []),
        "broadband_install_72h": (1.0, 1, 0, 0, 1, 0.0, False, []),  # C8, paused
        "broadband_repair_urban_24h": (1.0, 1, 0, 1, 0, 0.0, False, [n["C9"]]),  # repaired 3 h late
        "broadband_repair_suburban_36h": (1.0, 1, 1, 0, 0, 1.0, True, []),  # C3
        "broadband_repair_rural_48h": (1.0, 0, 0, 0, 0, None, None, []),
    }
    [late] = lines["mobile_reply_2wd"]["missed_cases"]
    assert late["clock"] == {"name": "reply", "policy": "mobile_reply_2wd", "due_at": "2026-03-05T16:00:00+00:00",
                             "met_at": "2026-03-06T02:00:00+00:00", "state": "missed"}
    assert (lines["mobile_reply_2wd"]["basis"], lines["mobile_reply_2wd"]["amount"]) == ("working_days", 2)
    # Without ?missed= the lines carry their counts only (the drill-down lists the cases).
    plain = reports.standards_report(month.db, SUPERVISOR, MARCH)
    assert all(line["missed_cases"] == [] for line in plain["lines"])
    assert [line["parts"] for line in plain["lines"]] == [line["parts"] for line in report["lines"]]
    with pytest.raises(BadRequest) as raised:
        reports.standards_report(month.db, SUPERVISOR, {"missed": "500"})
    assert set(raised.value.fields) == {"missed"}


def test_the_regulators_monthly_appeal_report(month) -> None:  # noqa: ANN001
    report = reports.appeals_report(month.db, SUPERVISOR, {"month": "2026-03"})
    assert (report["from"], report["to"], report["previous_month"], report["last_year_month"]) == (
        "2026-03-01", "2026-03-31", "2026-02", "2025-03")
    assert {c["id"]: (c["value"], c["previous"], c["mom"], c["last_year"], c["yoy"]) for c in report["counts"]} == {
        "total": (4, 1, 3.0, 1, 3.0),
        "repeat": (1, 0, None, 0, None),  # A3: the same appellant as A1 within 30 days
        "invalid": (1, 0, None, 0, None),  # A4: the regulator marked it invalid
        "valid": (3, 1, 2.0, 1, 2.0),
    }
    assert [(o["outcome"], o["count"]) for o in report["outcomes"]] == [
        ("和解", 1), ("不认可", 1), ("知晓", 1), (None, 1)]
    # A1 and A3 link C1 (mobile data); A2's ticket names billing; A4 names nothing.
    assert [(i["issue"], i["count"], i["share"]) for i in report["issues"]] == [
        ("mobile_data", 2, 0.5), ("-", 1, 0.25), ("billing", 1, 0.25)]
    february = reports.appeals_report(month.db, SUPERVISOR, {"month": "2026-02"})
    assert by_id(february["counts"])["total"]["value"] == 1 and by_id(february["counts"])["total"]["mom"] is None


def test_top_issues_keep_ten(db, database_url, clock) -> None:  # noqa: ANN001
    driver = Driver(product_engine(db, database_url))
    for i in range(12):
        for _ in range(1 + (i == 3)):
            driver.appeal("2026-03-02 10:00", f"1370000{i:04d}", f"GXB-{i}", issue=f"issue{i:02d}")
    report = reports.appeals_report(db, SUPERVISOR, {"month": "2026-03"})
    assert [(i["issue"], i["count"]) for i in report["issues"]] == [("issue03", 2)] + [
        (f"issue{i:02d}", 1) for i in (0, 1, 2, 4, 5, 6, 7, 8, 9)]


def test_the_report_month_defaults_to_last_month(month) -> None:  # noqa: ANN001
    assert reports.appeals_report(month.db, SUPERVISOR, {})["month"] == "2026-02"


# -- drill-down ---------------------------------------------------------------------------------------------------


def drill(month, **args: str) -> list[str]:  # noqa: ANN001
    return [c["number"] for c in reports.case_list(month.db, SUPERVISOR, {**MARCH, **args})["items"]]


def test_every_figure_drills_down_to_its_cases(month) -> None:  # noqa: ANN001
    n = month.n
    assert drill(month, figure="closure") == [n["C9"], n["C5"], n["C1"]]  # default part: the numerator, newest first
    assert drill(month, figure="closure", part="missed") == [n["C3"], n["C2"]]
    assert drill(month, figure="closure", part="pending") == [n["C10"], n["C8"]]
    assert drill(month, figure="closure", part="total", split="city", key="北京") == [n["C9"], n["C3"], n["C1"]]
    assert drill(month, figure="closure", split="department", key="network") == [n["C5"], n["C1"]]
    assert drill(month, figure="first_contact") == [n["C5"], n["C4"]]
    assert drill(month, figure="repeat") == [n["C6"]]
    assert drill(month, figure="upgraded") == [n["C7"], n["C6"]]
    assert drill(month, figure="repeat", part="total", split="department", key="-") == [n["C7"], n["C6"], n["C4"]]
    assert drill(month, figure="satisfaction", part="dissatisfied") == [n["C3"]]
    assert drill(month, figure="appeals") == [n["A3"], n["A2"], n["A1"]]
    assert drill(month, figure="appeals", part="repeat") == [n["A3"]]
    assert drill(month, figure="appeals", part="rejected") == [n["A2"]]
    assert drill(month, figure="appeals", part="total", split="issue", key="billing") == [n["A2"]]
    assert drill(month, figure="appeals", part="total", split="issue", key="-") == [n["A4"]]
    assert drill(month, figure="mobile_reply_2wd", part="missed") == [n["C2"]]
    assert drill(month, figure="closure", **{"from": "2026-03-09", "to": "2026-03-15"}, part="total") == [
        n["C8"], n["C5"]]
    stage = reports.case_list(month.db, SUPERVISOR, {**MARCH, "figure": "stage_handle", "split": "tier",
                                                     "key": "svip"})
    assert [(c["number"], c["seconds"], c["departments"]) for c in stage["items"]] == [
        (n["C2"], 16.5 * H, ["billing"])]


def test_drill_down_pages(month) -> None:  # noqa: ANN001
    first = reports.case_list(month.db, SUPERVISOR, {**MARCH, "figure": "repeat", "part": "total", "page_size": "4"})
    third = reports.case_list(month.db, SUPERVISOR, {**MARCH, "figure": "repeat", "part": "total", "page_size": "4",
                                                     "page": "3"})
    assert (first["total"], len(first["items"]), len(third["items"])) == (10, 4, 2)
    assert third["items"][-1]["number"] == month.n["C1"]


@pytest.mark.parametrize(("args", "fields"), [
    ({}, {"figure"}),
    ({"figure": "nope"}, {"figure"}),
    ({"figure": "closure", "part": "solved"}, {"part"}),
    ({"figure": "closure", "split": "city"}, {"key"}),
    ({"figure": "closure", "key": "北京"}, {"split"}),
    ({"figure": "appeals", "split": "city", "key": "x"}, {"split"}),
    ({"figure": "closure", "from": "2026-13-01", "page_size": "500"}, {"from", "page_size"}),
    ({"figure": "closure", "from": "2026-03-10", "to": "2026-03-01", "page": "0"}, {"to", "page"}),
])
def test_bad_drill_down_parameters_are_named(month, args: dict, fields: set) -> None:  # noqa: ANN001
    with pytest.raises(BadRequest) as raised:
        reports.case_list(month.db, SUPERVISOR, args)
    assert set(raised.value.fields) == fields


@pytest.mark.parametrize(("args", "fields"), [
    ({"period": "year"}, {"period"}), ({"split": "channel"}, {"split"}), ({"from": "yesterday"}, {"from"}),
    ({"from": "2024-01-01", "to": "2026-03-01"}, {"from"}), ({"from": "2026-03-05", "to": "2026-03-04"}, {"to"}),
])
def test_bad_report_parameters_are_named(db, args: dict, fields: set) -> None:  # noqa: ANN001
    with pytest.raises(BadRequest) as raised:
        reports.service_quality(db, SUPERVISOR, args)
    assert set(raised.value.fields) == fields
    with pytest.raises(BadRequest) as raised:
        reports.appeals_report(db, SUPERVISOR, {"month": "2026-3-01"})
    assert raised.value.fields == {"month": "a month as YYYY-MM"}


def test_reports_need_a_report_role(db) -> None:  # noqa: ANN001
    for report in (reports.service_quality, reports.standards_report, reports.appeals_report, reports.case_list):
        with pytest.raises(Forbidden):
            report(db, Viewer("owner", frozenset({"owner", "dispatcher"})), {})


# -- exports ---------------------------------------------------------------------------------------------------------



def test_xlsx_has_chinese_headers_numbers_and_percentages(month) -> None:  # noqa: ANN001
    report = reports.service_quality(month.db, SUPERVISOR, {**MARCH, "period": "week", "split": "city"})
    book = load_workbook(io.BytesIO(report_export.to_xlsx(report)))
    assert book.sheetnames == ["报表说明", "指标汇总", "趋势", "分项", "环节时长"]
    summary = book["指标汇总"]
    assert [c.value for c in summary[1]] == ["指标", "分子", "分母", "比率", "每百万客户", "目标"]
    closure = [c for c in summary[2]]
    assert [c.value for c in closure[:4]] == ["限时办结率", 3, 7, 0.4286]
    assert closure[3].number_format == "0.00%" and isinstance(closure[1].value, int)
    assert [c.value for c in summary[7]][:5] == ["申诉率（每百万客户）", 3, CUSTOMERS, None, 1.5]
    trend = book["趋势"]
    assert [c.value for c in trend[1]][:6] == ["时段", "起", "止", "限时办结率·分子", "限时办结率·分母", "限时办结率"]
    assert [c.value for c in trend[3]][:6] == ["2026-W10", "2026-03-02", "2026-03-08", 1, 3, 0.3333]
    rows = [[c.value for c in row] for row in book["分项"].iter_rows(min_row=2)]
    assert ["限时办结率", "北京", 2, 3, 0.6667] in rows
    stages = [[c.value for c in row] for row in book["环节时长"].iter_rows(min_row=2)]
    assert ["核查处理", "合计", 6, 12.92, 26.5] in stages
    assert book["环节时长"]["D2"].number_format == "0.00"


def test_csv_export_of_each_report(month) -> None:  # noqa: ANN001
    standards = report_export.to_csv(reports.standards_report(month.db, SUPERVISOR, MARCH, missed=200))
    assert standards.startswith("\ufeff".encode())
    rows = csv_block(standards, "服务标准")
    assert rows[:3] == [["服务标准"],
                        ["标准", "时限", "目标", "工单数", "按时", "超时", "未到期", "达成率", "是否达标"],
                        ["移网投诉 2 个工作日内回复", "2 个工作日", "100.00%", "5", "3", "1", "1", "60.00%", "否"]]
    missed = csv_block(standards, "未达标工单")[2]
    assert missed == ["移网投诉 2 个工作日内回复", month.n["C2"], "2026-03-03 09:00", "2026-03-06 00:00",
                      "2026-03-06 10:00", "上海", "urban", "账单计费"]
    appeals = report_export.to_csv(reports.appeals_report(month.db, SUPERVISOR, {"month": "2026-03"}))
    rows = csv_block(appeals, "申诉月报 2026-03")
    assert rows[1:6] == [["项目", "本月", "上月", "环比", "去年同月", "同比"],
                         ["申诉总量", "4", "1", "300.00%", "1", "300.00%"],
                         ["重复申诉", "1", "0", "", "0", ""], ["无效申诉", "1", "0", "", "0", ""],
                         ["有效申诉", "3", "1", "200.00%", "1", "200.00%"]]
    assert ["1", "移网上网", "2", "50.00%"] in csv_block(appeals, "问题Top10")
    assert ["和解", "1"] in csv_block(appeals, "处理结果")
    cases = reports.case_list(month.db, SUPERVISOR, {**MARCH, "figure": "closure", "part": "missed"}, export=True)
    book = load_workbook(io.BytesIO(report_export.to_xlsx(cases)))
    assert book.sheetnames == ["报表说明", "限时办结率·超时"]
    sheet = book["限时办结率·超时"]
    assert [c.value for c in sheet[2]][:4] == [month.n["C3"], "投诉", "处理中", datetime(2026, 3, 4, 9, 0)]
    assert sheet["D2"].number_format == "yyyy-mm-dd hh:mm"


QUERY = "from=2026-03-01&to=2026-03-31"
PRIMARY = {"database": "primary", "data_as_of": None, "fallback": False}
REPLICA_AT = {"database": "replica", "data_as_of": "2026-03-20T09:58:00+00:00", "fallback": False}
REPLICA_UNKNOWN = {"database": "replica", "data_as_of": None, "fallback": False}
FALLBACK = {"database": "primary", "data_as_of": None, "fallback": True, "reason": "replica unavailable"}


@pytest.mark.parametrize(("source", "database", "as_of"), [
    (PRIMARY, "主库", "2026-03-20 18:00"),  # live data: as of the report's own time
    (REPLICA_AT, "只读副本", "2026-03-20 17:58"),  # the standby's last replayed commit, Beijing time
    (REPLICA_UNKNOWN, "只读副本", "未知：只读副本的数据可能滞后于实时数据"),
    (FALLBACK, "主库（只读副本不可用，改读主库）", "2026-03-20 18:00"),
])
def test_every_file_says_where_its_data_came_from_and_as_of_when(month, source, database, as_of) -> None:  # noqa: ANN001
    built = {
        "service-quality": reports.service_quality(month.db, SUPERVISOR, MARCH),
        "standards": reports.standards_report(month.db, SUPERVISOR, MARCH, missed=200),
        "appeals": reports.appeals_report(month.db, SUPERVISOR, {"month": "2026-03"}),
        "cases": reports.case_list(month.db, SUPERVISOR, {**MARCH, "figure": "closure", "part": "missed"},
                                   export=True),
    }
    names = {"service-quality": "服务质量指标", "standards": "服务标准达成", "appeals": "申诉月报",
             "cases": "工单清单：限时办结率·超时"}
    for kind, built_report in built.items():
        report = {**built_report, "source": source}
        span = "2026-03" if kind == "appeals" else "2026-03-01 至 2026-03-31"
        expected = [["报表说明"], ["项目", "内容"], ["报表", names[kind]], ["统计区间", span],
                    ["生成时间", "2026-03-20 18:00"], ["数据来源", database], ["数据截至", as_of]]
        # CSV: the first block, before the report's own blocks (each still under its title).
        blocks = csv_blocks(report_export.to_csv(report))
        assert blocks[0] == expected, kind
        assert [block[0] for block in blocks[1:]] == [[sheet.title] for sheet in report_export.sheets(report)]
        # XLSX: the first worksheet, the one the file opens on; the report's worksheets follow unchanged.
        book = load_workbook(io.BytesIO(report_export.to_xlsx(report)))
        assert book.sheetnames[0] == "报表说明" and book.active.title == "报表说明", kind
        assert [[c.value for c in row] for row in book["报表说明"].iter_rows()] == expected[1:], kind
        assert book.sheetnames[1:] == [sheet.title for sheet in report_export.sheets(report)]


def test_the_api_files_name_the_primary_when_no_replica_is_set(month_api) -> None:  # noqa: ANN001
    headers = month_api.headers("supervisor")
    for report in ("service-quality?", "standards?", "appeals/monthly?month=2026-03&", "cases?figure=closure&"):
        answer = month_api.client.get(f"/api/v1/reports/{report}{QUERY}&format=csv", headers=headers)
        assert answer.status_code == 200
        about = dict(row for row in csv_blocks(answer.data)[0][2:])
        assert about["数据来源"] == "主库" and about["数据截至"] == "2026-03-20 18:00", report
        answer = month_api.client.get(f"/api/v1/reports/{report}{QUERY}&format=xlsx", headers=headers)
        about = {row[0].value: row[1].value for row in load_workbook(io.BytesIO(answer.data))["报表说明"].iter_rows()}
        assert about["数据来源"] == "主库", report


# -- the API ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def month_api(month, make_app: Callable[..., Flask], headers_for) -> SimpleNamespace:  # noqa: ANN001
    app = make_app()
    return SimpleNamespace(client=app.test_client(), headers=headers_for, n=month.n, app=app)


def test_api_answers_json_csv_and_xlsx(month_api) -> None:  # noqa: ANN001
    client, headers = month_api.client, month_api.headers("supervisor")
    answer = client.get("/api/v1/reports/service-quality?from=2026-03-01&to=2026-03-31&split=tier", headers=headers)
    assert answer.status_code == 200
    assert by_id(answer.get_json()["figures"])["closure"]["rate"] == 0.4286
    answer = client.get("/api/v1/reports/standards?from=2026-03-01&to=2026-03-31&format=csv", headers=headers)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert 'filename="standards-2026-03-01_2026-03-31.csv"' in answer.headers["Content-Disposition"]
    assert month_api.n["C2"] in answer.data.decode("utf-8-sig")  # a file lists the cases that missed each line
    answer = client.get("/api/v1/reports/appeals/monthly?month=2026-03&format=xlsx", headers=headers)
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    assert load_workbook(io.BytesIO(answer.data)).sheetnames == ["报表说明", "申诉月报 2026-03", "处理结果",
                                                                 "问题Top10"]
    answer = client.get("/api/v1/reports/cases?from=2026-03-01&to=2026-03-31&figure=closure&part=missed",
                        headers=month_api.headers("escalation"))
    assert [c["number"] for c in answer.get_json()["items"]] == [month_api.n["C3"], month_api.n["C2"]]
    answer = client.get("/api/v1/reports/cases?from=2026-03-01&to=2026-03-31&figure=closure&format=csv",
                        headers=month_api.headers("admin"))
    assert answer.status_code == 200 and len(csv_blocks(answer.data)[-1]) == 5  # title, header, 3 cases


def test_api_roles_and_parameters(month_api) -> None:  # noqa: ANN001
    client = month_api.client
    for path in ("/api/v1/reports/service-quality", "/api/v1/reports/standards", "/api/v1/reports/appeals/monthly",
                 "/api/v1/reports/cases?figure=closure", "/api/v1/reports/settings"):
        assert client.get(path).status_code == 401
        for user in ("intake", "dispatcher", "owner", "appeals"):
            assert client.get(path, headers=month_api.headers(user)).status_code == 403, (path, user)
    answer = client.get("/api/v1/reports/service-quality?period=year&split=x&format=pdf",
                        headers=month_api.headers("supervisor"))
    assert answer.status_code == 400 and set(answer.get_json()["error"]["fields"]) == {"format"}
    answer = client.get("/api/v1/reports/service-quality?period=year&split=x", headers=month_api.headers("supervisor"))
    assert answer.status_code == 400 and set(answer.get_json()["error"]["fields"]) == {"period", "split"}
    answer = client.get("/api/v1/reports/cases", headers=month_api.headers("supervisor"))
    assert answer.status_code == 400 and "figure" in answer.get_json()["error"]["fields"]


def test_admin_sets_the_customer_count(app: Flask, headers_for) -> None:  # noqa: ANN001
    client = app.test_client()
    settings = client.get("/api/v1/reports/settings", headers=headers_for("supervisor")).get_json()
    assert settings["customer_count"] is None
    answer = client.put("/api/v1/reports/settings", json={"customer_count": 12_000_000}, headers=headers_for("admin"))
    assert answer.status_code == 200 and answer.get_json()["customer_count"] == 12_000_000
    assert answer.get_json()["updated_by"] == "admin"
    for bad in ("many", 0, -5, 1.5, True, None):
        answer = client.put("/api/v1/reports/settings", json={"customer_count": bad}, headers=headers_for("admin"))
        assert answer.status_code == 422 and "customer_count" in answer.get_json()["error"]["fields"], bad
    assert client.put("/api/v1/reports/settings", json={"customer_count": 5},
                      headers=headers_for("supervisor")).status_code == 403
    from webapp import state

    with state(app).db.read() as session:
        assert report_settings.customer_count(session) == 12_000_000
        events = session.scalars(select(AuditEvent).where(AuditEvent.type == "report_setting_changed")).all()
        assert [(e.actor, e.data["value"], e.data["previous"]) for e in events] == [("admin", 12_000_000, None)]


def test_without_a_customer_count_the_appeal_rate_has_no_value(db) -> None:  # noqa: ANN001
    rate = by_id(reports.service_quality(db, SUPERVISOR, {})["figures"])["appeal_rate"]
    assert (rate["denominator"], rate["rate"]) == (None, None)
    with pytest.raises(ValidationFailed):
        reports.put_settings(db, Viewer("admin", frozenset({"admin"})), {"customer_count": "12e6"})


# -- the reporting rows ----------------------------------------------------------------------------------------------


def test_reporting_row_is_written_with_the_case(month) -> None:  # noqa: ANN001
    n = month.n
    with month.db.read() as session:
        rows = {r.number: r for r in session.scalars(select(CaseFact))}
    c2 = rows[n["C2"]]
    assert (c2.process_id, c2.status, c2.tier, c2.city, c2.category, c2.satisfaction) == (
        "complaint_intake", "completed", "svip", "上海", "billing", "一般")
    assert (c2.closure_policy, c2.closure_due_at, c2.closure_met_at) == (
        "closure_24h", datetime(2026, 3, 4, 1, tzinfo=UTC), datetime(2026, 3, 4, 2, tzinfo=UTC))
    assert c2.dispatched_at == datetime(2026, 3, 3, 2, tzinfo=UTC) and c2.callback_at == datetime(2026, 3, 6, 3,
                                                                                                   tzinfo=UTC)
    assert rows[n["C8"]].paused is True and rows[n["C10"]].status == "running"
    assert rows[n["C6"]].upgraded_to and rows[n["C6"]].repeat_count == 1
    upgrade = rows[rows[n["C6"]].upgraded_to]
    assert (upgrade.process_id, upgrade.original_number) == ("upgraded_complaint", n["C6"])
    a4 = rows[n["A4"]]
    assert (a4.appeal_ticket, a4.appeal_type, a4.appeal_valid, a4.appeal_invalid_reason, a4.appeal_outcome) == (
        "GXB-2026-0104", "preprocess", False, "Art.11: already accepted elsewhere", None)
    assert sorted(r.number for r in rows.values() if r.departments == ",broadband,") == sorted(
        [n["C3"], n["C8"], n["C9"]])
    assert (rows[n["C1"]].departments, rows[n["C4"]].departments) == (",network,", None)


def test_backfill_writes_the_rows_of_cases_saved_before_the_table(month) -> None:  # noqa: ANN001
    before = reports.service_quality(month.db, SUPERVISOR, {**MARCH, "split": "department"})
    with month.db.write() as session:
        session.execute(delete(CaseFact))
    assert case_facts.backfill(month.db, month.engine.runner, batch_size=7) == len(month.n) + 2  # + the two upgrades
    assert case_facts.backfill(month.db, month.engine.runner) == 0  # nothing left to fill
    after = reports.service_quality(month.db, SUPERVISOR, {**MARCH, "split": "department"})
    assert after == before


def test_cli_backfill(month, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from complaintflow.cli import main

    with month.db.write() as session:
        session.execute(delete(CaseFact).where(CaseFact.number.in_([month.n["C1"], month.n["A1"]])))
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["reports", "backfill"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("reporting rows written for 2 case(s)")
    result = CliRunner().invoke(main, ["reports", "backfill", "--all", "--batch-size", "5"])
    assert result.output.strip().endswith(f"reporting rows written for {len(month.n) + 2} case(s)")
    assert numbers(by_id(reports.service_quality(month.db, SUPERVISOR, MARCH)["figures"])["closure"]) == (3, 7, 0.4286)


def test_cancelled_cases_count_nowhere(month) -> None:  # noqa: ANN001
    month.engine.cancel(month.n["C10"], SUPERVISOR, "duplicate ticket")
    report = reports.service_quality(month.db, SUPERVISOR, MARCH)
    assert numbers(by_id(report["figures"])["closure"]) == (3, 6, 0.5)
    assert numbers(by_id(report["figures"])["repeat"]) == (1, 9, 0.1111)
    assert month.n["C10"] not in drill(month, figure="repeat", part="total")


def test_stage_map_covers_every_user_task_of_the_diagrams() -> None:
    """Each user task of processes/ is in one stage, or deliberately in none (desk and appeal steps)."""
    unstaged = {"Task_intake_escalate", "Task_dispatch_escalate", "Task_upgrade_press", "Task_upgrade_root_cause",
                "Task_appeal_preprocess", "Task_appeal_expedite", "Task_appeal_offer", "Task_appeal_mediate",
                "Task_appeal_outcome", "Task_appeal_report", "Task_appeal_escalate"}
    found = set()
    for path in (PROJECT_ROOT / "processes").glob("*.bpmn"):
        tree = etree.parse(str(path))
        found |= set(tree.xpath("//bpmn:userTask/@id | //bpmn:manualTask/@id",
                                namespaces={"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}))
    staged = [task for tasks in case_facts.STAGE_TASKS.values() for task in tasks]
    assert len(staged) == len(set(staged)), "a task is in two stages"
    assert found - unstaged == set(staged)


def test_union_of_spans_and_nearest_rank() -> None:
    t = [datetime(2026, 3, 2, h, tzinfo=UTC) for h in range(10)]
    assert case_facts.union_seconds([(t[1], t[3]), (t[2], t[4]), (t[6], t[7])]) == 4 * H
    assert case_facts.union_seconds([(t[1], t[5]), (t[2], t[3])]) == 4 * H
    assert reports.nearest_rank([5.0, 1.0, 3.0]) == 5.0 and reports.nearest_rank([]) is None
    assert reports.nearest_rank([float(i) for i in range(1, 11)]) == 9.0


def test_a_reminder_inside_dispatch_does_not_undo_the_met_clocks(db, database_url, clock) -> None:  # noqa: ANN001
    driver = Driver(product_engine(db, database_url))
    number = driver.start("2026-03-03 09:00", "13800000002", svip=True)  # closure 24 h, reminder at 03:00
    driver.first_contact("2026-03-03 09:10", number, solved=False)
    driver.audit("2026-03-03 10:00", number, "billing")
    driver.handle("2026-03-04 08:00", number, "billing")  # after the reminder: a reminder branch runs and ends
    driver.review("2026-03-04 08:30", number)
    driver.reply("2026-03-04 09:00", number)
    case = driver.callback("2026-03-04 10:00", number, "满意")
    assert case["status"] == "completed"
    assert {c["name"]: c["met_at"] is not None for c in case["sla"]} == {
        "closure": True, "reply": True, "resolve": True, "statutory": True}


def test_the_registrar_decides_validity_and_issue_over_the_regulators_ticket(db, database_url, clock) -> None:  # noqa: ANN001
    driver = Driver(product_engine(db, database_url))
    number = driver.appeal("2026-03-10 09:00", "13900000009", "GXB-2026-0901", appeal={"valid": True})
    driver.do("2026-03-10 10:00", number, "Task_appeal_register", {
        "linked_numbers": [], "register_note": "已登记", "appeal_valid": False,
        "appeal_invalid_reason": "art11", "appeal_issue": "billing"})
    with db.read() as session:
        row = session.scalar(select(CaseFact).where(CaseFact.number == number))
    assert (row.appeal_valid, row.appeal_invalid_reason, row.appeal_issue) == (False, "art11", "billing")
