"""Who is asking, and from where: what every service function that authorises or audits receives."""

from __future__ import annotations

from dataclasses import dataclass

from podium_shared.models.user import Role


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    namespaces: list[str] | None  # None = all namespaces

    def has_role(self, role: Role) -> bool:
        return self.role.at_least(role)

    def can_access_namespace(self, ns: str | None) -> bool:
        """A scoped user reaches only their namespaces; cluster-wide targets (None) need an unscoped one."""
        if self.namespaces is None:
            return True
        return ns is not None and ns in self.namespaces


@dataclass(frozen=True)
class RequestMeta:
    """The request's identity for the audit log (the worker passes its own task id as request_id)."""

    request_id: str | None = None
    client_addr: str | None = None


SYSTEM = Principal(username="system", role=Role.admin, namespaces=None)
