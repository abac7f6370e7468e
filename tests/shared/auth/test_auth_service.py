from __future__ import annotations

import itertools
import os

import pytest
from podium_shared.auth import tokens
from podium_shared.auth.principal import Principal
from podium_shared.auth.service import AuthFailure, authenticate, create_user
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres
from podium_shared.errors import Invalid, Unauthenticated
from podium_shared.models.user import Role, User
from podium_shared.users.service import bootstrap_admin
from sqlalchemy import update

_n = itertools.count()


def test_principal_roles_and_namespaces() -> None:
    scoped = Principal("a", Role.operator, ["team-a"])
    assert scoped.has_role(Role.viewer)
    assert scoped.has_role(Role.operator)
    assert not scoped.has_role(Role.admin)
    assert scoped.can_access_namespace("team-a")
    assert not scoped.can_access_namespace("team-b")
    assert not scoped.can_access_namespace(None)  # cluster-wide needs an unscoped user
    assert Principal("b", Role.viewer, None).can_access_namespace(None)


def test_tokens_are_random_and_stored_hashed(database_url: str) -> None:
    name = f"hashed-{os.getpid()}-{next(_n)}"
    with unit_of_work(session_factory(database_url)) as session:
        user, token = create_user(session, name, Role.viewer, ["b", "a", "a"])
        assert user.namespaces == ["a", "b"]
    assert tokens.looks_like_token(token)
    assert len(token) == 47
    with session_factory(database_url)() as session:
        assert authenticate(session, token) == Principal(name, Role.viewer, ["a", "b"])
        with pytest.raises(Unauthenticated):
            authenticate(session, token + "x")
        with pytest.raises(Unauthenticated):
            authenticate(session, "")
    with unit_of_work(session_factory(database_url)) as session:
        session.execute(update(User).where(User.username == name).values(disabled=True))
    with session_factory(database_url)() as session, pytest.raises(AuthFailure) as info:
        authenticate(session, token)
    assert (info.value.username, info.value.reason) == (name, "user disabled")


def test_bootstrap_admin_only_on_first_run(postgres: EmbeddedPostgres) -> None:
    base = postgres.url.rsplit("/", 1)[0]
    url, gen_url = (f"{base}/boot_{os.getpid()}_{next(_n)}{suffix}" for suffix in ("", "_gen"))
    for each in (url, gen_url):
        postgres.ensure_database(each.rsplit("/", 1)[1])
        upgrade(each)
    try:
        factory = session_factory(url)
        with unit_of_work(factory) as session, pytest.raises(Invalid):
            bootstrap_admin(session, "admin", "short")
        with unit_of_work(factory) as session:
            token = bootstrap_admin(session, "admin", "automation-chosen-token-0123456789")
        assert token == "automation-chosen-token-0123456789"
        with factory() as session:
            assert authenticate(session, token).role == Role.admin
        with unit_of_work(factory) as session:
            assert bootstrap_admin(session, "admin", None) is None
        with unit_of_work(session_factory(gen_url)) as session:
            generated = bootstrap_admin(session, "root", None)
        assert generated is not None
        assert tokens.looks_like_token(generated)
    finally:
        # Throwaway databases: close their pooled connections rather than leave them to the GC.
        for each in (url, gen_url):
            session_factory(each).kw["bind"].dispose()
