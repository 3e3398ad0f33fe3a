"""Staff people for page tests: add someone with roles, log them in (sync or async client)."""

from __future__ import annotations

import re

import httpx
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from nurture.roster.reps import Rep, RepDirectory, Role
from nurture.store import Store

PASSWORD = "correct horse battery"
#: Cheap Argon2 parameters: tests hash many passwords.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024)


def add_staff(store: Store, username: str, *roles: Role, queue: str = "sdr") -> Rep:
    """Add (or update) a person with these roles and the test password."""
    directory = RepDirectory(store, hasher=FAST_HASHER)
    rep, _ = directory.save(
        Rep(username=username, name=username.title(), queue=queue, roles=frozenset(roles))
    )
    directory.set_password(username, PASSWORD)
    return rep


def csrf_of(page: str) -> str:
    """The CSRF token on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def log_in(client: TestClient, username: str) -> None:
    """Log in through the login form."""
    form = {"username": username, "password": PASSWORD, "csrf_token": ""}
    form["csrf_token"] = csrf_of(client.get("/desk/login").text)
    r = client.post("/desk/login", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text


async def log_in_async(client: httpx.AsyncClient, username: str) -> None:
    """Log in through the login form (an async client)."""
    form = {"username": username, "password": PASSWORD, "csrf_token": ""}
    form["csrf_token"] = csrf_of((await client.get("/desk/login")).text)
    r = await client.post("/desk/login", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
