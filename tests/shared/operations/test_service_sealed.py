"""The operations service without HTTP: secret sealing and what reaches the row and the audit log."""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
from podium_shared.audit.service import verify
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.auth.service import create_user
from podium_shared.clusters.service import register_cluster
from podium_shared.crypto import open_sealed, seal
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.errors import PodiumError
from podium_shared.models.audit import AuditEvent
from podium_shared.models.operation import Operation
from podium_shared.models.user import Role
from podium_shared.operations import kinds
from podium_shared.operations.service import accept_command
from pydantic import BaseModel, SecretStr
from sqlalchemy import select

_n = itertools.count()


class _SealedParams(BaseModel):
    namespace: str
    token: SecretStr
    password: str | None = None


def _noop(_ctx: Any, _p: Any) -> dict[str, Any]:
    return {}


if "test_sealed" not in kinds.all_kinds():
    kinds.register(
        kinds.CommandKind(
            "test_sealed",
            _SealedParams,
            _noop,
            target=lambda p: kinds.Target(namespace=p.namespace),
            secret_fields=("token", "password"),
        )
    )


def test_secret_fields_are_sealed_and_never_stored_or_audited(database_url: str) -> None:
    suffix = f"{os.getpid()}-{next(_n)}"
    factory = session_factory(database_url)
    with unit_of_work(factory) as session:
        create_user(session, f"sealer-{suffix}", Role.operator)
        register_cluster(session, f"seal-{suffix}", "/k", "ctx")
    principal = Principal(username=f"sealer-{suffix}", role=Role.operator, namespaces=None)
    with unit_of_work(factory) as session:
        op = accept_command(
            session,
            principal,
            RequestMeta("r1", "127.0.0.1"),
            kind="test_sealed",
            cluster=f"seal-{suffix}",
            params={"namespace": "ns", "token": "hf_supersecret", "password": "hunter2"},
            idempotency_key=None,
        )
        op_id = op.id
    with factory() as session:
        row = session.get_one(Operation, op_id)
        assert row.params == {"namespace": "ns", "token": "***", "password": "***"}
        assert row.sealed_params is not None
        assert b"hf_supersecret" not in row.sealed_params
        assert open_sealed(row.sealed_params) == {"token": "hf_supersecret", "password": "hunter2"}
        audit = session.scalars(select(AuditEvent).where(AuditEvent.operation_id == op_id)).all()
        assert len(audit) == 1
        assert "hf_supersecret" not in str(audit[0].details)
        assert "hunter2" not in str(audit[0].details)
        assert audit[0].namespace == "ns"
        assert verify(session).ok


def test_sealed_params_need_the_same_secret_key() -> None:
    blob = seal({"hf_token": "hf_x"}, secret_key="key-one")
    assert open_sealed(blob, secret_key="key-one") == {"hf_token": "hf_x"}
    with pytest.raises(PodiumError) as info:
        open_sealed(blob, secret_key="key-two")
    assert info.value.code == "sealed_params_unreadable"
    assert "hf_x" not in info.value.message
