"""Names that look like another account's: the confusable skeleton (Unicode TS #39) is claimed
with the account, so a look-alike of an existing name is refused, at any timing."""

from __future__ import annotations

import io
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.accounts import deletion, look_alikes, signup
from gatehouse.accounts.usernames import NEW_USERNAME_PATTERN, skeleton
from gatehouse.admin import cli
from gatehouse.errors import LookAlikeName, UsernameTaken
from gatehouse.services import Services
from gatehouse.storage.users import User, skeleton_key, user_item
from tests.conftest import DEFAULT_PASSWORD, START, json_body, post_json

LOOK_ALIKE_MESSAGE = "That username looks too much like an existing one; choose another."


def register(client, username, email=None):
    body = {"username": username, "password": DEFAULT_PASSWORD}
    if email is not None:
        body["email"] = email
    return post_json(client, "/auth/register", body)


# -- the skeleton --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "like"),
    [
        ("adrnin", "admin"),  # confusables.txt: m -> rn
        ("ad.min", "admin"),  # separators are not read
        ("ad-m_in", "admin"),
        ("r00t", "root"),  # 0 -> O, then lower case
        ("a1ice", "alice"),  # 1 -> l
        ("paypa1", "paypal"),
        ("rnrn", "mm"),
    ],
)
def test_names_a_reader_takes_for_each_other_have_one_skeleton(name, like):
    assert skeleton(name) == skeleton(like)


@pytest.mark.parametrize(("name", "other"), [("admin", "admln"), ("alice", "alicia"), ("bob1", "bobi")])
def test_names_that_differ_visibly_have_different_skeletons(name, other):
    assert skeleton(name) != skeleton(other)


NAMES = st.from_regex(NEW_USERNAME_PATTERN, fullmatch=True)
SWAPS = {"m": "rn", "0": "o", "1": "l", "o": "0", "l": "1"}


@settings(max_examples=300, deadline=None)
@given(NAMES)
def test_a_skeleton_is_its_own_skeleton(name):
    assert skeleton(skeleton(name)) == skeleton(name)


@settings(max_examples=300, deadline=None)
@given(NAMES, st.data())
def test_swapping_look_alike_letters_or_adding_separators_keeps_the_skeleton(name, data):
    changed = "".join(
        SWAPS[c]
        if c in SWAPS and data.draw(st.booleans())
        else c + data.draw(st.sampled_from(["", ".", "-", "_"]))
        for c in name
    )
    assert skeleton(changed) == skeleton(name)


# -- sign-up --------------------------------------------------------------------------------


@pytest.mark.parametrize("look_alike", ["adrnin", "ad.min", "Ad-Min", "adrn.in"])
def test_a_look_alike_of_an_existing_name_is_refused_with_invalid_request(client, look_alike):
    assert register(client, "admin").status_code == 201
    response = register(client, look_alike)
    assert response.status_code == 400
    assert json_body(response) == {"error": "invalid_request", "message": LOOK_ALIKE_MESSAGE}


def test_a_look_alike_with_an_address_is_refused_and_claims_nothing(client, rt):
    assert register(client, "r00t").status_code == 201
    response = register(client, "root", email="root@example.com")
    assert response.status_code == 400
    assert json_body(response)["message"] == LOOK_ALIKE_MESSAGE
    assert rt.users.get("root") is None
    assert rt.account_email.owner_of("root@example.com") is None
    assert register(client, "someone-else", email="root@example.com").status_code == 201


def test_the_same_name_is_still_username_taken(client):
    assert register(client, "admin").status_code == 201
    assert json_body(register(client, "ADMIN"))["error"] == "username_taken"


def test_parallel_sign_ups_of_two_look_alikes_make_exactly_one_account(rt, atomic_conditional_writes):
    names = ["admin", "adrnin", "ad.min", "ad-min", "adrn-in", "a.d.m.i.n"]
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(len(names))

    def attempt(name: str) -> None:
        barrier.wait()
        try:
            signup.create_user(rt, name, f"Distinct-pass-{name}-xyz", ("user",))
            outcomes[name] = "created"
        except LookAlikeName:
            outcomes[name] = "look-alike"

    threads = [threading.Thread(target=attempt, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["created"] + ["look-alike"] * (len(names) - 1)
    [winner] = [name for name, outcome in outcomes.items() if outcome == "created"]
    assert [u.username for u in rt.users.list()] == [winner]


def test_deleting_the_account_frees_its_skeleton(rt: Services):
    signup.create_user(rt, "admin", DEFAULT_PASSWORD, ("user",))
    with pytest.raises(LookAlikeName):
        signup.create_user(rt, "adrnin", DEFAULT_PASSWORD, ("user",))
    deletion.delete_user(rt, "admin", [])
    assert rt.users.skeleton_holder(skeleton("admin")) is None
    created = signup.create_user(rt, "adrnin", DEFAULT_PASSWORD, ("user",))
    holder = rt.users.skeleton_holder(skeleton("admin"))
    assert holder is not None
    assert holder.account_id == created.account_id


def test_skeleton_claims_never_show_in_the_user_list(client, rt, make_user, login):
    token = login(make_user("boss", roles=("admin", "user")))
    register(client, "carol", email="carol@example.com")
    response = client.http.get("/admin/users", headers={"Authorization": f"Bearer {token}"})
    assert sorted(u["username"] for u in json_body(response)) == ["boss", "carol"]
    assert rt.users.skeleton_holder(skeleton("carol")) is not None


# -- accounts made before skeletons were claimed ---------------------------------------------


def _existing(rt: Services, name: str, created_at: int) -> User:
    """An account as written before sign-up claimed skeletons: no claim, no ``name_skeleton``."""
    user = User(name, f"{int(created_at):032x}", "$argon2id$stand-in", ("user",), int(created_at))
    rt.table(rt.settings.users_table).put_item(Item=user_item(user))
    return user


def test_claiming_skeletons_gives_the_older_look_alike_the_claim_and_reports_the_younger(rt):
    _existing(rt, "adrnin", START + 5)
    _existing(rt, "admin", START)
    _existing(rt, "carol", START + 1)

    done = look_alikes.claim_skeletons(rt)

    assert done.claimed == ("admin", "carol")
    assert done.look_alikes == (("adrnin", "admin"),)
    for name in ("ad.min", "adrn-in", "caro1"):
        with pytest.raises(LookAlikeName):
            signup.create_user(rt, name, DEFAULT_PASSWORD, ("user",))
    again = look_alikes.claim_skeletons(rt)
    assert (again.claimed, again.look_alikes) == ((), (("adrnin", "admin"),))


def test_after_the_older_look_alike_is_deleted_a_new_run_gives_the_younger_the_claim(rt):
    _existing(rt, "admin", START)
    younger = _existing(rt, "adrnin", START + 5)
    look_alikes.claim_skeletons(rt)
    deletion.delete_user(rt, "admin", [])
    assert look_alikes.claim_skeletons(rt).claimed == ("adrnin",)
    holder = rt.users.skeleton_holder(skeleton("adrnin"))
    assert holder is not None
    assert holder.account_id == younger.account_id
    with pytest.raises(UsernameTaken):
        signup.create_user(rt, "adrnin", DEFAULT_PASSWORD, ("user",))


def test_the_admin_cli_claims_skeletons_and_names_the_look_alikes(rt, clock, capsys):
    admin = _existing(rt, "admin", START)
    _existing(rt, "adrnin", START + 5)
    code = cli.main(
        ["claim-skeletons"], env={"AWS_ACCESS_KEY_ID": "testing"}, stdin=io.StringIO(""), clock=clock
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines() == [
        "Claimed the skeleton of 1 name(s).",
        "'adrnin' looks like the older 'admin', which holds the claim; 'adrnin' keeps its name.",
    ]
    claim = rt.table(rt.settings.users_table).get_item(Key={"username": skeleton_key(skeleton("admin"))})
    assert claim["Item"]["owner"] == admin.account_id
