"""Claims of the confusable skeleton for accounts made before skeletons were claimed.

Sign-up claims a new name's skeleton in the transaction that creates the
account (:mod:`gatehouse.storage.users`).  An account made before that has
no claim until :func:`claim_skeletons` gives it one (the admin CLI's
``claim-skeletons``, run once after the upgrade): until then a new name that
looks like it is not refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.accounts.ports import AccountServices
from gatehouse.accounts.usernames import skeleton


@dataclass(frozen=True)
class SkeletonClaims:
    """The names given their claim, and each name left without one beside the name of the older
    account that holds its skeleton."""

    claimed: tuple[str, ...]
    look_alikes: tuple[tuple[str, str], ...]


def claim_skeletons(rt: AccountServices) -> SkeletonClaims:
    """Give every account without one the claim of its name's skeleton, oldest account first.

    Of two existing names that look alike ("admin" made before "adrnin") the
    older gets the claim and the younger keeps its name (nothing is renamed)
    and is reported; the claim still refuses every new name like either.
    Idempotent: a second run changes nothing, and one after the older
    account's deletion gives the younger the claim.  Sign-ups may run
    meanwhile: every claim is a conditional write.
    """
    claimed: list[str] = []
    look_alikes: list[tuple[str, str]] = []
    for user in rt.users.without_skeleton():
        name_skeleton = skeleton(user.username)
        if rt.users.claim_skeleton(user, name_skeleton):
            claimed.append(user.username)
            continue
        holder = rt.users.skeleton_holder(name_skeleton)
        if holder is not None and holder.account_id != user.account_id:
            look_alikes.append((user.username, holder.username))
    return SkeletonClaims(tuple(claimed), tuple(look_alikes))
