"""CSV and XLSX files of any report (engine/reports.py), with Chinese headers.

Each report becomes a list of sheets (title, typed columns, rows). XLSX gets one worksheet per
sheet with numbers as numbers, rates as percentages (number format 0.00%), hours as numbers
and times as local date-times; CSV (UTF-8 with a BOM so Excel reads the Chinese) puts the sheets
one after the other, each under its title, rates written as "42.86%".

The first sheet of every file, 报表说明, says what the file holds and where its data came from:
the report, its range, when it was made, the database it was read from (主库, the reports'
只读副本, or the primary standing in for a replica that could not be reached) and how current
that data is (数据截至). In XLSX it is the first worksheet, the one a spreadsheet opens on; the
report's own worksheets follow unchanged, each with its header in row 1.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

SHANGHAI = ZoneInfo("Asia/Shanghai")

FIGURE_NAMES = {
    "closure": "限时办结率", "first_contact": "一次性解决率", "repeat": "重复投诉率", "upgraded": "升级投诉率",
    "satisfaction": "回访满意率", "appeal_rate": "申诉率（每百万客户）", "appeals": "申诉",
    "mobile_reply_2wd": "移网投诉 2 个工作日内回复", "non_coverage_resolve_5wd": "非网络覆盖投诉 5 个工作日内解决",
    "broadband_install_72h": "宽带装移机 72 小时", "broadband_repair_urban_24h": "宽带修障 城区 24 小时",
    "broadband_repair_suburban_36h": "宽带修障 郊县 36 小时", "broadband_repair_rural_48h": "宽带修障 农村 48 小时",
}
STAGE_NAMES = {"accept": "受理", "dispatch": "审核派发", "handle": "核查处理", "review": "结果审核", "callback": "回访"}
FIGURE_NAMES.update({f"stage_{stage}": f"{name}时长" for stage, name in STAGE_NAMES.items()})
SPLIT_NAMES = {"tier": "客户等级", "city": "城市", "department": "部门", "category": "投诉类别", "issue": "问题"}
TIER_NAMES = {"svip": "SVIP", "high": "高星（4★及以上）", "standard": "其他客户"}
DEPARTMENT_NAMES = {"network": "网络", "billing": "计费", "broadband": "宽带装维", "channel": "营业渠道",
                    "enterprise": "政企"}
CATEGORY_NAMES = {
    "network_coverage": "网络覆盖", "mobile_data": "移网上网", "mobile_voice": "移网语音",
    "broadband_network": "宽带网络", "broadband_repair": "宽带修障", "broadband_install": "宽带装机",
    "broadband_move": "宽带移机", "billing": "账单计费", "product_rules": "产品及业务规则", "service": "渠道服务",
    "onboarding": "入网办理", "porting": "携号转网", "cancellation": "拆机销户", "iptv": "IPTV使用",
    "fixed_line": "固话", "contract": "合约", "invoice": "计交费及发票", "value_added": "增值或权益业务",
}
PART_NAMES = {
    "total": "合计", "in_time": "按时", "missed": "超时", "pending": "未到期", "solved": "首问解决",
    "unsolved": "未解决", "repeat": "重复", "upgraded": "升级", "satisfied": "满意", "neutral": "一般",
    "dissatisfied": "不满意", "valid": "有效", "invalid": "无效", "settled": "和解", "rejected": "不认可",
    "acknowledged": "知晓", "open": "未办结",
}
STATUS_NAMES = {"running": "处理中", "suspended": "已挂起", "completed": "已办结", "cancelled": "已撤销"}
PROCESS_NAMES = {"complaint_intake": "投诉", "upgraded_complaint": "升级投诉", "customer_appeal": "申诉"}
CLOCK_STATES = {"in_time": "按时", "missed": "超时", "pending": "未到期"}
BASIS_NAMES = {"working_days": "个工作日", "hours": "小时"}
NO_VALUE = "（无）"


def key_name(split: str | None, key: str) -> str:
    if key == "-":
        return "（未派单）" if split == "department" else NO_VALUE
    table = {"tier": TIER_NAMES, "department": DEPARTMENT_NAMES, "category": CATEGORY_NAMES,
             "issue": CATEGORY_NAMES}.get(split or "", {})
    return table.get(key, key)


@dataclass
class Sheet:
    title: str
    columns: list[tuple[str, str]]  # (Chinese header, kind: text | int | rate | number | hours | time)
    rows: list[list]


# -- building the sheets ---------------------------------------------------------------------------

ABOUT_TITLE = "报表说明"
REPORT_NAMES = {"service_quality": "服务质量指标", "standards": "服务标准达成", "appeals_monthly": "申诉月报",
                "cases": "工单清单"}
SOURCE_NAMES = {"primary": "主库", "replica": "只读副本"}
FALLBACK_NOTE = "主库（只读副本不可用，改读主库）"
LAG_UNKNOWN = "未知：只读副本的数据可能滞后于实时数据"


def about(report: dict) -> Sheet:
    """报表说明: the report, its range, when it was made, and the database its figures come from and as of when.

    The data of the primary is as of the report's own time; a replica's is as of the last transaction it
    replayed (``source.data_as_of``), unknown when the database cannot tell.
    """
    name = REPORT_NAMES.get(report["report"], report["report"])
    if report["report"] == "cases":
        name = f"{name}：{_cases_title(report)}"
    span = report["month"] if report["report"] == "appeals_monthly" else f"{report['from']} 至 {report['to']}"
    rows: list[list] = [["报表", name], ["统计区间", span], ["生成时间", _csv_cell("time", report.get("as_of"))]]
    source = report.get("source")
    if source:
        if source.get("fallback"):
            database = FALLBACK_NOTE
        else:
            database = SOURCE_NAMES.get(source.get("database"), source.get("database"))
        if source.get("database") == "replica":
            as_of = _csv_cell("time", source["data_as_of"]) if source.get("data_as_of") else LAG_UNKNOWN
        else:
            as_of = _csv_cell("time", report.get("as_of"))
        rows += [["数据来源", database], ["数据截至", as_of]]
    return Sheet(ABOUT_TITLE, [("项目", "text"), ("内容", "text")], rows)


def sheets(report: dict) -> list[Sheet]:
    builders = {"service_quality": _service_quality, "standards": _standards, "appeals_monthly": _appeals,
                "cases": _cases}
    return builders[report["report"]](report)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _service_quality(report: dict) -> list[Sheet]:
    summary = Sheet("指标汇总", [("指标", "text"), ("分子", "int"), ("分母", "int"), ("比率", "rate"),
                              ("每百万客户", "number"), ("目标", "rate")], [])
    for f in report["figures"]:
        per_million = f["id"] == "appeal_rate"
        summary.rows.append([FIGURE_NAMES[f["id"]], f["numerator"], f["denominator"],
                             None if per_million else f["rate"], f["rate"] if per_million else None, f["target"]])
    trend_columns = [("时段", "text"), ("起", "text"), ("止", "text")]
    for f in report["figures"]:
        name = FIGURE_NAMES[f["id"]]
        kind = "number" if f["id"] == "appeal_rate" else "rate"
        trend_columns += [(f"{name}·分子", "int"), (f"{name}·分母", "int"), (name, kind)]
    trend = Sheet("趋势", trend_columns, [])
    for index, bucket in enumerate(report["buckets"]):
        row = [bucket["bucket"], bucket["from"], bucket["to"]]
        for f in report["figures"]:
            point = f["series"][index]
            row += [point["numerator"], point["denominator"], point["rate"]]
        trend.rows.append(row)
    result = [summary, trend]
    split = report.get("split")
    if split:
        parts = Sheet("分项", [("指标", "text"), (SPLIT_NAMES[split], "text"), ("分子", "int"), ("分母", "int"),
                             ("比率", "rate")], [])
        for f in report["figures"]:
            for s in f.get("splits", []):
                parts.rows.append([FIGURE_NAMES[f["id"]], key_name(split, s["key"]), s["numerator"],
                                   s["denominator"], s["rate"]])
        result.append(parts)
    stages = Sheet("环节时长", [("环节", "text"), ("分项", "text"), ("工单数", "int"), ("平均时长（小时）", "hours"),
                              ("P90（小时）", "hours")], [])
    for stage in report["stages"]:
        stages.rows.append([STAGE_NAMES[stage["stage"]], "合计", stage["count"], _hours(stage["avg_seconds"]),
                            _hours(stage["p90_seconds"])])
        for s in stage.get("splits", []):
            stages.rows.append([STAGE_NAMES[stage["stage"]], key_name(split, s["key"]), s["count"],
                                _hours(s["avg_seconds"]), None])
    result.append(stages)
    return result


def _standards(report: dict) -> list[Sheet]:
    lines = Sheet("服务标准", [("标准", "text"), ("时限", "text"), ("目标", "rate"), ("工单数", "int"),
                            ("按时", "int"), ("超时", "int"), ("未到期", "int"), ("达成率", "rate"),
                            ("是否达标", "text")], [])
    missed = Sheet("未达标工单", [("标准", "text"), ("工单号", "text"), ("受理时间", "time"), ("截止时间", "time"),
                              ("完成时间", "time"), ("城市", "text"), ("区域", "text"), ("投诉类别", "text")], [])
    for line in report["lines"]:
        parts = line["parts"]
        met = {True: "是", False: "否"}.get(line.get("met_target"), "—")
        lines.rows.append([FIGURE_NAMES[line["id"]], f"{line['amount']} {BASIS_NAMES[line['basis']]}", line["target"],
                           parts["total"], parts["in_time"], parts["missed"], parts["pending"], line["rate"], met])
        for case in line["missed_cases"]:
            clock = case.get("clock") or {}
            missed.rows.append([FIGURE_NAMES[line["id"]], case["number"], case["received_at"], clock.get("due_at"),
                                clock.get("met_at"), case["city"], case["region"],
                                CATEGORY_NAMES.get(case["category"] or "", case["category"])])
    return [lines, missed]


def _appeals(report: dict) -> list[Sheet]:
    names = {"total": "申诉总量", "repeat": "重复申诉", "invalid": "无效申诉", "valid": "有效申诉"}
    counts = Sheet(f"申诉月报 {report['month']}", [("项目", "text"), ("本月", "int"), ("上月", "int"), ("环比", "rate"),
                                               ("去年同月", "int"), ("同比", "rate")], [])
    for c in report["counts"]:
        counts.rows.append([names[c["id"]], c["value"], c["previous"], c["mom"], c["last_year"], c["yoy"]])
    outcomes = Sheet("处理结果", [("结果", "text"), ("件数", "int")],
                     [[o["outcome"] or "未办结", o["count"]] for o in report["outcomes"]])
    issues = Sheet("问题Top10", [("排名", "int"), ("问题", "text"), ("件数", "int"), ("占比", "rate")],
                   [[i + 1, key_name("issue", row["issue"]), row["count"], row["share"]]
                    for i, row in enumerate(report["issues"])])
    return [counts, outcomes, issues]


def _cases(report: dict) -> list[Sheet]:
    columns = [("工单号", "text"), ("类型", "text"), ("状态", "text"), ("受理时间", "time"),
               ("客户等级", "text"), ("城市", "text"), ("区域", "text"), ("投诉类别", "text"), ("部门", "text"),
               ("派单时间", "time"), ("回访时间", "time"), ("办结时间", "time"), ("满意度", "text"),
               ("时限截止", "time"), ("时限完成", "time"), ("时限状态", "text"), ("环节时长（小时）", "hours"),
               ("管局工单号", "text"), ("申诉结果", "text"), ("有效申诉", "text"), ("问题", "text")]
    rows = []
    for case in report["items"]:
        clock = case.get("clock") or {}
        valid = case.get("appeal_valid")
        rows.append([
            case["number"], PROCESS_NAMES.get(case["process_id"], case["process_id"]),
            STATUS_NAMES.get(case["status"], case["status"]), case["received_at"],
            TIER_NAMES.get(case["tier"] or "", case["tier"]), case["city"], case["region"],
            CATEGORY_NAMES.get(case["category"] or "", case["category"]),
            "、".join(DEPARTMENT_NAMES.get(d, d) for d in case["departments"]), case["dispatched_at"],
            case["callback_at"], case["ended_at"], case["satisfaction"], clock.get("due_at"), clock.get("met_at"),
            CLOCK_STATES.get(clock.get("state") or ""), _hours(case.get("seconds")), case.get("appeal_ticket"),
            case.get("appeal_outcome"), {True: "是", False: "否"}.get(valid), case.get("appeal_issue")])
    return [Sheet(_cases_title(report)[:31], columns, rows)]


def _cases_title(report: dict) -> str:
    return f"{FIGURE_NAMES.get(report['figure'], report['figure'])}·{PART_NAMES.get(report['part'], report['part'])}"


# -- writing ----------------------------------------------------------------------------------------


def _local(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(SHANGHAI).replace(tzinfo=None)


def _csv_cell(kind: str, value: object) -> object:
    if value is None:
        return ""
    if kind == "rate":
        return f"{value * 100:.2f}%"
    if kind == "time":
        return _local(value).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type, union-attr]
    return value


def to_csv(report: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for index, sheet in enumerate([about(report), *sheets(report)]):
        if index:
            writer.writerow([])
        writer.writerow([sheet.title])
        writer.writerow([header for header, _kind in sheet.columns])
        for row in sheet.rows:
            writer.writerow([_csv_cell(kind, value) for (_header, kind), value in zip(sheet.columns, row, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


FORMATS = {"rate": "0.00%", "hours": "0.00", "number": "0.00", "time": "yyyy-mm-dd hh:mm", "int": "0"}


def to_xlsx(report: dict) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for sheet in [about(report), *sheets(report)]:
        page = book.create_sheet(_sheet_title(sheet.title))
        page.append([header for header, _kind in sheet.columns])
        for cell in page[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            page.append([_local(value) if kind == "time" else value
                         for (_header, kind), value in zip(sheet.columns, row, strict=True)])
        for column, (header, kind) in enumerate(sheet.columns, start=1):
            letter = page.cell(row=1, column=column).column_letter
            page.column_dimensions[letter].width = max(10, min(40, len(header) * 2 + 2))
            if kind in FORMATS:
                for (cell,) in page.iter_rows(min_row=2, min_col=column, max_col=column):
                    cell.number_format = FORMATS[kind]
        if sheet.title == ABOUT_TITLE:
            page.column_dimensions["B"].width = 48  # its values are sentences, not figures
        page.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    # Excel forbids []:*?/\ in sheet names and allows 31 characters.
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in title)[:31]


def filename(report: dict, extension: str) -> str:
    kind = report["report"].replace("_", "-")
    if report["report"] == "appeals_monthly":
        return f"{kind}-{report['month']}.{extension}"
    return f"{kind}-{report['from']}_{report['to']}.{extension}"
