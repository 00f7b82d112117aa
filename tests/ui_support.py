"""Shared bits for the UI-related tests: a complaint, viewers, and a helper to start cases."""
from __future__ import annotations

from engine.viewer import Viewer

COMPLAINT = {
    "phone": "13800138000", "customer_name": "张三", "star_level": 3, "svip": False, "channel": "10010",
    "business_line": "mobile", "category": "mobile_data", "region": "urban", "city": "北京",
    "description": "家里手机上网很慢，经常断线", "request": "尽快修复网络",
}


def viewer(username: str, *roles: str) -> Viewer:
    return Viewer(username, frozenset(roles or (username,)))


DISPATCHER = viewer("dispatcher")
SUPERVISOR = viewer("supervisor")
NETWORK = viewer("network", "dept:network")
BILLING = viewer("billing", "dept:billing")
INTAKE = viewer("intake")


def start_for_customers(engine, clock, customers) -> list[str]:  # noqa: ANN001
    """One complaint per (phone, name) in ``customers``, a minute apart, in that order; their numbers."""
    started = []
    for phone, name in customers:
        started.append(engine.start_complaint({**COMPLAINT, "phone": phone, "customer_name": name}, "intake")["number"])
        clock.advance(60)
    return started
