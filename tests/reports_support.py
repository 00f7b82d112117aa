"""A known month of cases for the report tests: March 2026, built through the engine with the test clock.

Every complaint is started and worked step by step at chosen Beijing times (see ``build_month``), so
each figure of the reports can be asserted exactly. The report is read as of ``AS_OF``.

| case | received (03-..) | customer | city | line / category | path |
|---|---|---|---|---|---|
| C0 | 02-27 09:00 | 3★ | 北京 | mobile_data | February: solved at first contact (outside March) |
| C1 | 02 09:00 | 3★ | 北京 | mobile_data | dispatched to network, closed in time, 满意 |
| C2 | 03 09:00 | SVIP | 上海 | billing | billing, closed 1 h late, reply late (03-06), 一般 |
| C3 | 04 09:00 | 5★ | 北京 | broadband_repair, suburban | broadband, repair in time, 不满意 → reopened, open since |
| C4 | 05 09:00 | 3★ | 广州 | network_coverage | solved at first contact, 满意 |
| C5 | 09 09:00 | 3★ | 广州 | mobile_voice | solved at first contact, 不满意 → dispatched to network, 满意 |
| C6 | 10 09:00 | 3★ | 北京 | mobile_data | repeat of C1 → upgraded at once |
| C7 | 11 09:00 | 3★ | 成都 | billing, channel 10015 | upgraded at once |
| C8 | 12 09:00 | 3★ | 成都 | broadband_install, rural | broadband asks the customer for papers: clocks paused |
| C9 | 16 09:00 | 3★ | 北京 | broadband_repair, urban | broadband, repair 3 h late, 满意 |
| C10 | 20 09:00 | 4★ | 上海 | mobile_data | network, still being handled |

Appeals: A1 (03-03, linked to C1, 和解), A2 (03-05, issue billing, 不认可), A3 (03-06, same phone as
A1: a repeat, 知晓), A4 (03-10, invalid, open); A5 in February 2026 and A6 in March 2025.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from engine import clock as clock_module
from engine import holidays, report_settings
from engine.db import Database
from engine.service import ComplaintEngine
from engine.viewer import SYSTEM
from tests.conftest import make_settings

CST = timezone(timedelta(hours=8))
AS_OF = datetime(2026, 3, 20, 18, 0, tzinfo=CST)
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
CUSTOMERS = 2_000_000

BASE = {"customer_name": "张三", "star_level": 3, "svip": False, "channel": "10010", "business_line": "mobile",
        "category": "mobile_data", "region": "urban", "city": "北京", "description": "上网慢",
        "request": "尽快处理"}


def at(text: str) -> datetime:
    """A Beijing wall-clock time, e.g. at("2026-03-02 09:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=CST)


class Driver:
    """Works cases through the engine at chosen times (as the supervisor, who may do any task)."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine = engine

    def when(self, text: str) -> None:
        clock = clock_module.get_clock()
        assert isinstance(clock, clock_module.TestClock)
        clock.set(at(text))

    def start(self, time: str, phone: str, **fields: object) -> str:
        self.when(time)
        return self.engine.start_complaint({**BASE, "phone": phone, **fields}, "intake")["number"]

    def task(self, number: str, bpmn_id: str, role: str | None = None) -> dict:
        tasks = [t for t in self.engine.get_case(number, SYSTEM)["tasks"]
                 if t["bpmn_id"] == bpmn_id and (role is None or t["role"] == role)]
        assert len(tasks) == 1, (number, bpmn_id, role, tasks)
        return tasks[0]

    def do(self, time: str, number: str, bpmn_id: str, data: dict, role: str | None = None) -> dict:
        self.when(time)
        return self.engine.complete(self.task(number, bpmn_id, role)["id"], SYSTEM, data)["case"]

    # -- the steps ------------------------------------------------------------------------------

    def first_contact(self, time: str, number: str, solved: bool) -> None:
        data = {"first_contact_solved": solved, "solution": "已处理"} if solved else {"first_contact_solved": False}
        self.do(time, number, "Task_intake_first_contact", data)

    def audit(self, time: str, number: str, *departments: str) -> None:
        self.do(time, number, "Task_dispatch_audit", {"departments": list(departments), "dispatch_note": "请处理"})

    def handle(self, time: str, number: str, department: str, action: str = "handled") -> None:
        self.do(time, number, "Task_dispatch_handle", {"handle_action": action, "handle_note": "已处理",
                                                       "problem_solved": action == "handled"},
                role=f"dept:{department}")

    def review(self, time: str, number: str) -> None:
        self.do(time, number, "Task_dispatch_review", {"approved": True, "review_note": "通过"})

    def reply(self, time: str, number: str) -> None:
        self.do(time, number, "Task_dispatch_reply", {"reply_content": "已处理完毕", "reply_method": "电话"})

    def callback(self, time: str, number: str, satisfaction: str, resolved: bool = True,
                 bpmn_id: str = "Task_dispatch_callback") -> dict:
        return self.do(time, number, bpmn_id, {"satisfaction": satisfaction, "resolved": resolved,
                                               "callback_note": "电话回访"})

    def appeal(self, time: str, phone: str, ticket: str, **fields: object) -> str:
        self.when(time)
        received = at(time)
        payload = {"regulator_ticket": ticket, "appeal_type": "preprocess", "appellant_name": "李四",
                   "phone": phone, "deadline": (received + timedelta(days=5)).isoformat(), "content": "申诉",
                   **fields}
        return self.engine.send_message("appeal_received", None, payload, "gateway")["number"]

    def settle(self, time: str, number: str, outcome: str) -> None:
        self.do(time, number, "Task_appeal_register", {"linked_numbers": [], "register_note": "已登记"})
        self.do(time, number, "Task_appeal_preprocess", {"quick_settled": True, "preprocess_note": "已核实"})
        self.do(time, number, "Task_appeal_outcome", {"outcome": outcome, "outcome_note": "已说明"})
        self.do(time, number, "Task_appeal_report", {"report_text": outcome})


def build_month(engine) -> dict[str, str]:  # noqa: ANN001
    """Create the cases of the table above; returns case name -> number. Leaves the clock at AS_OF."""
    d = Driver(engine)
    n: dict[str, str] = {}
    n["A6"] = d.appeal("2025-03-14 10:00", "13700000006", "GXB-2025-0006")
    n["A5"] = d.appeal("2026-02-20 10:00", "13700000005", "GXB-2026-0005")

    n["C0"] = d.start("2026-02-27 09:00", "13900000000")
    d.first_contact("2026-02-27 09:10", n["C0"], solved=True)
    d.callback("2026-02-27 10:00", n["C0"], "满意", bpmn_id="Task_intake_callback")

    n["C1"] = d.start("2026-03-02 09:00", "13800000001")
    d.first_contact("2026-03-02 09:30", n["C1"], solved=False)
    d.audit("2026-03-02 10:00", n["C1"], "network")
    d.handle("2026-03-02 16:00", n["C1"], "network")
    d.review("2026-03-03 10:00", n["C1"])
    d.reply("2026-03-03 11:00", n["C1"])
    d.callback("2026-03-03 15:00", n["C1"], "满意")

    n["C2"] = d.start("2026-03-03 09:00", "13800000002", svip=True, city="上海", category="billing")
    d.first_contact("2026-03-03 09:10", n["C2"], solved=False)
    d.audit("2026-03-03 10:00", n["C2"], "billing")
    d.handle("2026-03-04 02:30", n["C2"], "billing")  # before the reminder (03:00): see test_reports.py
    d.review("2026-03-04 10:00", n["C2"])
    d.reply("2026-03-06 10:00", n["C2"])
    d.callback("2026-03-06 11:00", n["C2"], "一般")

    n["A1"] = d.appeal("2026-03-03 10:00", "13700000001", "GXB-2026-0101", complaint_number=n["C1"])
    d.settle("2026-03-03 15:00", n["A1"], "和解")

    n["C3"] = d.start("2026-03-04 09:00", "13800000003", star_level=5, business_line="broadband",
                      category="broadband_repair", region="suburban")
    d.first_contact("2026-03-04 09:00", n["C3"], solved=False)
    d.audit("2026-03-04 09:30", n["C3"], "broadband")
    d.handle("2026-03-05 08:00", n["C3"], "broadband")
    d.review("2026-03-05 09:00", n["C3"])
    d.reply("2026-03-05 10:00", n["C3"])
    d.callback("2026-03-05 11:00", n["C3"], "不满意")  # reopened: back to the dispatcher, closure clock anew

    n["C4"] = d.start("2026-03-05 09:00", "13800000004", city="广州", category="network_coverage")
    d.first_contact("2026-03-05 09:30", n["C4"], solved=True)
    d.callback("2026-03-05 15:00", n["C4"], "满意", bpmn_id="Task_intake_callback")

    n["A2"] = d.appeal("2026-03-05 10:00", "13700000002", "GXB-2026-0102", issue="billing")
    d.settle("2026-03-05 16:00", n["A2"], "不认可")
    n["A3"] = d.appeal("2026-03-06 10:00", "13700000001", "GXB-2026-0103", complaint_number=n["C1"])
    d.settle("2026-03-06 16:00", n["A3"], "知晓")

    n["C5"] = d.start("2026-03-09 09:00", "13800000005", city="广州", category="mobile_voice")
    d.first_contact("2026-03-09 09:05", n["C5"], solved=True)
    d.callback("2026-03-09 10:00", n["C5"], "不满意", resolved=False, bpmn_id="Task_intake_callback")
    d.audit("2026-03-09 11:00", n["C5"], "network")
    d.handle("2026-03-09 15:00", n["C5"], "network")
    d.review("2026-03-09 16:00", n["C5"])
    d.reply("2026-03-10 09:00", n["C5"])
    d.callback("2026-03-10 10:00", n["C5"], "满意")

    n["C6"] = d.start("2026-03-10 09:00", "13800000001")  # same phone and category as C1: a repeat
    n["A4"] = d.appeal("2026-03-10 10:00", "13700000004", "GXB-2026-0104", valid=False,
                       invalid_reason="Art.11: already accepted elsewhere")
    n["C7"] = d.start("2026-03-11 09:00", "13800000007", channel="10015", city="成都", category="billing")

    n["C8"] = d.start("2026-03-12 09:00", "13800000008", city="成都", business_line="broadband",
                      category="broadband_install", region="rural")
    d.first_contact("2026-03-12 09:00", n["C8"], solved=False)
    d.audit("2026-03-12 10:00", n["C8"], "broadband")
    d.handle("2026-03-12 12:00", n["C8"], "broadband", action="need_customer_info")

    n["C9"] = d.start("2026-03-16 09:00", "13800000009", business_line="broadband", category="broadband_repair")
    d.first_contact("2026-03-16 09:00", n["C9"], solved=False)
    d.audit("2026-03-16 09:30", n["C9"], "broadband")
    d.handle("2026-03-17 12:00", n["C9"], "broadband")
    d.review("2026-03-17 13:00", n["C9"])
    d.reply("2026-03-17 13:30", n["C9"])
    d.callback("2026-03-17 14:00", n["C9"], "满意")

    n["C10"] = d.start("2026-03-20 09:00", "13800000010", star_level=4, city="上海")
    d.first_contact("2026-03-20 09:00", n["C10"], solved=False)
    d.audit("2026-03-20 10:00", n["C10"], "network")

    d.when("2026-03-20 18:00")
    return n


def product_engine(db: Database, database_url: str) -> ComplaintEngine:
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    engine = ComplaintEngine(db, make_settings(database_url))
    engine.deploy_directory("owner")
    return engine


def fill_month(db: Database, database_url: str) -> tuple[ComplaintEngine, dict[str, str]]:
    engine = product_engine(db, database_url)
    numbers = build_month(engine)
    with db.write() as session:
        report_settings.set_customer_count(session, CUSTOMERS, "admin")
    return engine, numbers


def csv_blocks(data: bytes) -> list[list[list[str]]]:
    """A CSV export's blocks (each: its title row, header and rows), split at the blank rows between them;
    the first is the file's 报表说明."""
    blocks: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    return blocks


def csv_block(data: bytes, title: str) -> list[list[str]]:
    """The block of a CSV export under ``title``."""
    return next(block for block in csv_blocks(data) if block[0] == [title])
