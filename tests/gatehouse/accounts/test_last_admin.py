"""No interleaving of deletions, disables and role changes leaves the service without an enabled admin.

Each change that could end an active admin is decided by DynamoDB on its own
write: with a witness (another active admin, checked in the same
transaction) or, for a user read as no admin, only while it still is none.
A read before the write is never trusted, so these tests put other requests
exactly between a change's read and its write, and also run them at once.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from gatehouse.accounts import admin, deletion
from gatehouse.errors import LastAdmin, NoSuchUser
from gatehouse.services import Services
from tests.conftest import Credentials

ADMIN_ROLES = ["admin", "user"]

# What can take an admin away, each as one request on a name.
REMOVALS: dict[str, Callable[[Services, str], object]] = {
    "delete": lambda rt, name: deletion.delete_user(rt, name, []),
    "disable": lambda rt, name: admin.set_disabled(rt, name, True),
    "demote": lambda rt, name: admin.set_roles(rt, name, ["user"]),
}
# What can make one: a promotion, or enabling a disabled admin.
RISES: dict[str, Callable[[Services, str], object]] = {
    "promote": lambda rt, name: admin.set_roles(rt, name, ADMIN_ROLES),
    "enable": lambda rt, name: admin.set_disabled(rt, name, False),
}


def only_admins(rt: Services, *keep: str) -> None:
    """Disable every other active admin (earlier tests' or rounds'), through the guarded path."""
    for name in rt.users.active_admins():
        if name not in keep:
            admin.set_disabled(rt, name, True)


def between_read_and_write(
    monkeypatch: pytest.MonkeyPatch, rt: Services, name: str, *others: Callable[[], object]
):
    """Run ``others`` right after the next read of ``name``'s user item, before the change that
    read it writes: the change acts on what it read, which is stale by then."""
    original = rt.users.get
    pending = list(others)

    def get(username: str) -> Any:
        user = original(username)
        if username == name and pending:
            todo = list(pending)
            pending.clear()  # once: the others read the name too
            for other in todo:
                other()
        return user

    monkeypatch.setattr(rt.users, "get", get)


@pytest.mark.parametrize(
    ("removal", "rise", "other_removal"), list(itertools.product(REMOVALS, RISES, REMOVALS))
)
def test_a_change_on_a_user_read_as_no_admin_cannot_end_the_admin_it_became_meanwhile(
    rt: Services,
    make_user: Callable[..., Credentials],
    monkeypatch: pytest.MonkeyPatch,
    removal: str,
    rise: str,
    other_removal: str,
):
    first = make_user(roles=tuple(ADMIN_ROLES))
    # A user that is no active admin as read: a plain user, or a disabled admin.
    second = make_user(roles=("user",) if rise == "promote" else tuple(ADMIN_ROLES))
    only_admins(rt, first.username, second.username)
    if rise == "enable":
        admin.set_disabled(rt, second.username, True)
    # Between the change's read of `second` and its write: `second` becomes an admin and the
    # first admin goes (allowed then: `second` witnesses it).
    between_read_and_write(
        monkeypatch,
        rt,
        second.username,
        lambda: RISES[rise](rt, second.username),
        lambda: REMOVALS[other_removal](rt, first.username),
    )
    with pytest.raises(LastAdmin):
        REMOVALS[removal](rt, second.username)
    assert rt.users.active_admins() == [second.username]


@pytest.mark.parametrize(("one", "other"), list(itertools.product(REMOVALS, REMOVALS)))
def test_two_admins_removing_each_other_at_once_in_any_two_ways_leave_one(
    rt: Services, make_user: Callable[..., Credentials], atomic_conditional_writes: None, one: str, other: str
):
    for _ in range(3):
        a, b = make_user(roles=tuple(ADMIN_ROLES)), make_user(roles=tuple(ADMIN_ROLES))
        only_admins(rt, a.username, b.username)
        first, second = REMOVALS[one], REMOVALS[other]
        outcomes = at_once(
            [
                lambda first=first, name=a.username: first(rt, name),
                lambda second=second, name=b.username: second(rt, name),
            ]
        )
        assert sorted(outcomes) == ["LastAdmin", "done"]
        assert len(rt.users.active_admins()) == 1


def test_no_mix_of_promotions_enables_and_removals_at_once_leaves_no_enabled_admin(
    rt: Services, make_user: Callable[..., Credentials], atomic_conditional_writes: None
):
    shuffle = random.Random(2026)  # reproducible
    for _ in range(8):
        people = [make_user(roles=tuple(ADMIN_ROLES))] + [make_user() for _ in range(3)]
        only_admins(rt, people[0].username)
        admin.set_roles(rt, people[1].username, ADMIN_ROLES)
        admin.set_disabled(rt, people[2].username, True)
        names = [p.username for p in people]
        requests: list[Callable[[], object]] = []
        for name in names:
            change = {**REMOVALS, **RISES}[shuffle.choice([*REMOVALS, *RISES])]
            requests.append(lambda change=change, name=name: change(rt, name))
        for name in names[:2]:  # the two admins are removed in any case
            removal = REMOVALS[shuffle.choice(list(REMOVALS))]
            requests.append(lambda removal=removal, name=name: removal(rt, name))
        at_once(requests)
        assert rt.users.active_admins(), "no enabled admin left"


def at_once(requests: list[Callable[[], object]]) -> list[str]:
    """Run the requests in threads released together; for each, "done" or the error it raised."""
    barrier = threading.Barrier(len(requests))
    outcomes: list[str] = []

    def run(request: Callable[[], object]) -> None:
        barrier.wait()
        try:
            request()
            outcomes.append("done")
        except (LastAdmin, NoSuchUser) as refused:
            outcomes.append(type(refused).__name__)

    threads = [threading.Thread(target=run, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
