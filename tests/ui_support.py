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
