"""Group commit (podium_api.groupcommit): commands waiting together are written in one transaction, each
caller still gets its own answer (or refusal), answers are released only after COMMIT, and a group that
fails as a whole is written again one command at a time.

The commands here write to a table of the test's own, so what is checked is the writer, not a domain."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from podium_api.groupcommit import Command, GroupCommit
from podium_shared.audit.service import verify
from podium_shared.db.session import make_engine, session_factory
from podium_shared.errors import Invalid
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.fixtures import ApiUser
from api.helpers import audit_rows, scale

COMMANDS = "/api/v1/commands"


@pytest.fixture
def table(database_url: str) -> Iterator[tuple[Engine, str]]:
    engine = make_engine(database_url)
    name = f"gc_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} (id int PRIMARY KEY, txid bigint NOT NULL)"))
    yield engine, name
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {name}"))
    engine.dispose()


@pytest.fixture
def writer(table: tuple[Engine, str]) -> Iterator[GroupCommit]:
    group_commit = GroupCommit(sessionmaker(table[0], expire_on_commit=False))
    yield group_commit
    group_commit.close()


def _insert(table: str, row_id: int, *, refuse: bool = False) -> Command[int, int]:
    def prepare(session: Session) -> int:
        if refuse:
            raise Invalid(f"row {row_id} is refused", code="refused")
        return row_id

    def write(session: Session, prepared: int) -> int:
        session.execute(
            text(f"INSERT INTO {table} (id, txid) VALUES (:id, txid_current())"), {"id": prepared}
        )
        return prepared

    return Command(prepare, write, lambda written: {"id": written})


def _rows(engine: Engine, table: str) -> dict[int, int]:
    with engine.connect() as conn:
        return {row.id: row.txid for row in conn.execute(text(f"SELECT id, txid FROM {table}"))}


async def _while_blocked(writer: GroupCommit, table: str, submit: Callable[[], list[Any]]) -> list[Any]:
    """Hold the writer inside a first command until `submit` has queued its commands, so those are all
    waiting when the writer next looks: they form one group."""
    entered, release = threading.Event(), threading.Event()

    def hold(session: Session) -> int:
        entered.set()
        release.wait(30)
        return 0

    blocker = asyncio.ensure_future(writer.run(Command(hold, _insert(table, 0).write)))
    await asyncio.to_thread(entered.wait, 30)
    tasks = [asyncio.ensure_future(coro) for coro in submit()]
    await asyncio.sleep(0)  # one turn of the loop: each task runs up to its wait, having queued its command
    release.set()
    await blocker
    return await asyncio.gather(*tasks, return_exceptions=True)


def test_commands_waiting_together_are_one_transaction_and_each_gets_its_answer(
    writer: GroupCommit, table: tuple[Engine, str]
) -> None:
    engine, name = table
    answers = asyncio.run(
        _while_blocked(writer, name, lambda: [writer.run(_insert(name, i)) for i in range(1, 21)])
    )
    assert answers == [{"id": i} for i in range(1, 21)]
    rows = _rows(engine, name)
    assert sorted(rows) == list(range(21))
    assert len({rows[i] for i in range(1, 21)}) == 1  # one transaction for the twenty
    assert rows[0] != rows[1]
    assert (writer.groups, writer.fallbacks) == (2, 0)


def test_a_refusal_is_its_callers_alone(writer: GroupCommit, table: tuple[Engine, str]) -> None:
    engine, name = table
    answers = asyncio.run(
        _while_blocked(
            writer, name, lambda: [writer.run(_insert(name, i, refuse=(i == 3))) for i in range(1, 6)]
        )
    )
    assert isinstance(answers[2], Invalid)
    assert answers[2].code == "refused"
    assert [a for i, a in enumerate(answers) if i != 2] == [{"id": 1}, {"id": 2}, {"id": 4}, {"id": 5}]
    rows = _rows(engine, name)
    assert sorted(rows) == [0, 1, 2, 4, 5]
    assert len({rows[i] for i in (1, 2, 4, 5)}) == 1
    assert writer.fallbacks == 0


def test_a_group_that_fails_is_written_again_one_command_at_a_time(
    writer: GroupCommit, table: tuple[Engine, str]
) -> None:
    """Row 2 is already there: its INSERT fails the whole group's transaction. Replayed alone, every other
    command is written and only the duplicate's caller gets the error."""
    engine, name = table
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {name} (id, txid) VALUES (2, 0)"))
    answers = asyncio.run(
        _while_blocked(writer, name, lambda: [writer.run(_insert(name, i)) for i in range(1, 5)])
    )
    assert "UniqueViolation" in type(answers[1].orig).__name__  # the IntegrityError of its own INSERT
    assert [answers[0], answers[2], answers[3]] == [{"id": 1}, {"id": 3}, {"id": 4}]
    rows = _rows(engine, name)
    assert sorted(rows) == [0, 1, 2, 3, 4]
    assert rows[2] == 0  # the row that was there, untouched
    assert len({rows[1], rows[3], rows[4]}) == 3  # each replayed in a transaction of its own
    assert writer.fallbacks == 1


def test_an_answer_is_released_only_after_commit(writer: GroupCommit, table: tuple[Engine, str]) -> None:
    """`done` runs before COMMIT: what it sees from another connection is nothing; what the caller sees
    once answered is the committed row."""
    engine, name = table
    seen_before_commit: list[dict[int, int]] = []
    command = _insert(name, 7)

    def done(written: int) -> int:
        seen_before_commit.append(_rows(engine, name))
        return written

    async def main() -> dict[int, int]:
        await writer.run(Command(command.prepare, command.write, done))
        return _rows(engine, name)

    after = asyncio.run(main())
    assert seen_before_commit == [{}]
    assert list(after) == [7]


def test_concurrent_requests_through_the_api_each_get_their_own_outcome(
    app: FastAPI, operator: ApiUser, viewer: ApiUser, cluster: str, database_url: str
) -> None:
    """Sent at once, so they reach the writer together (or not: the outcome must be the same): the same
    Idempotency-Key five times is one operation; a viewer's command is refused; the others are accepted,
    each with an audit row, and the chain still verifies."""
    key = f"k-{uuid.uuid4()}"

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            keyed = [
                http.post(COMMANDS, headers=operator.headers | {"Idempotency-Key": key}, json=scale(cluster))
                for _ in range(5)
            ]
            plain = [http.post(COMMANDS, headers=operator.headers, json=scale(cluster)) for _ in range(5)]
            denied = [http.post(COMMANDS, headers=viewer.headers, json=scale(cluster))]
            return await asyncio.gather(*keyed, *plain, *denied)

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [202] * 10 + [403]
    assert len({r.json()["id"] for r in responses[:5]}) == 1
    assert len({r.json()["id"] for r in responses[:10]}) == 6
    outcomes = [row.outcome for row in audit_rows(database_url, actor=operator.username)]
    assert outcomes == ["accepted"] * 6
    assert [row.outcome for row in audit_rows(database_url, actor=viewer.username)] == ["denied"]
    with session_factory(database_url)() as session:
        assert verify(session).ok
