"""Who is asking: a user name and the roles that decide what they may see and do."""
from __future__ import annotations

from dataclasses import dataclass

# Roles that see and act on every queue.
ALL_QUEUES_ROLES = frozenset({"supervisor"})


@dataclass(frozen=True)
class Viewer:
    username: str
    roles: frozenset[str]

    @property
    def sees_all_queues(self) -> bool:
        return bool(self.roles & ALL_QUEUES_ROLES)

    def may_see_task(self, role: str | None, assignee: str | None) -> bool:
        if self.sees_all_queues or assignee == self.username:
            return True
        return role is not None and role in self.roles

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


SYSTEM = Viewer("system", frozenset({"supervisor"}))
