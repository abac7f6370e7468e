from __future__ import annotations

import os

from alembic import command
from podium_shared.db.migrate import alembic_config, check, upgrade
from podium_shared.embedded import EmbeddedPostgres


def test_downgrade_to_base_and_up_again(postgres: EmbeddedPostgres) -> None:
    name = f"roundtrip_{os.getpid()}"
    postgres.ensure_database(name)
    url = postgres.url.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    upgrade(url)
    check(url)
