"""The one path every mail takes: its caps first, then the mailer.

Mail must not be a weapon: neither a way to flood somebody's mailbox nor a
way to spend the service's SES reputation (SES pauses a sender whose mail
bounces or is marked as spam, and then nobody gets a reset code).  So each
mail is counted, before it is sent, against three subjects, each per hour
and per day (the figures are in :data:`ADDRESS_CAPS`, :data:`ACCOUNT_CAPS`
and :data:`SOURCE_CAPS`, and in docs/SECURITY.md):

* the address it goes to: nobody's mailbox gets more than a few a day;
* the account it is for: one account cannot mail many addresses;
* the source address of the request, where API Gateway gives one: one
  client, signed in or not, causes at most :data:`SOURCE_CAPS` mails.

Past any cap the mail is not sent and the caller answers exactly as it
would have (the use cases never tell a capped mail from a sent one), so a
cap is no oracle.

Reset codes must reach their owner whatever strangers ask for, so they get
one more rule (:func:`reserve_reset`): once the daily caps are spent, an
address still gets one reset mail in every clock hour that has had none
(within the source's caps).  Strangers can spend that mail too, but it goes
to the owner's mailbox with a code nobody can kill or replace, so the owner
holds a live code within the hour, every hour.  Counting is one DynamoDB transaction with the caps as
conditions (:class:`~gatehouse.storage.mail_quota.MailQuotaRepository`),
so concurrent requests cannot exceed them.
"""

from __future__ import annotations

from gatehouse import logs
from gatehouse.accounts.ports import AccountServices
from gatehouse.mail import Message
from gatehouse.storage.mail_quota import Cap

HOUR = 3600
DAY = 24 * HOUR
ADDRESS_CAPS = ((3, HOUR), (10, DAY))
ACCOUNT_CAPS = ((5, HOUR), (20, DAY))
SOURCE_CAPS = ((10, HOUR), (50, DAY))
RESET_KIND = "reset_code"
# Reset mails asked for with a valid device token of the account: a budget of their own,
# per account, that no anonymous request can spend.
DEVICE_RESET_CAPS = ((3, HOUR), (10, DAY))


def caps(kind: str, to: str | None, account_id: str | None, source: str | None) -> list[Cap]:
    """The caps a mail of ``kind`` counts against (address and account caps are per kind of mail, so
    a verification mail never uses up a reset code's allowance; source caps cover every kind)."""
    chosen = [Cap(f"address-{kind}", to.lower(), n, w) for n, w in ADDRESS_CAPS] if to else []
    if account_id:
        chosen += [Cap(f"account-{kind}", account_id, n, w) for n, w in ACCOUNT_CAPS]
    if source:
        chosen += [Cap("source", source, n, w) for n, w in SOURCE_CAPS]
    return chosen


def deliver(
    rt: AccountServices, message: Message, *, account_id: str | None, source: str | None = None
) -> bool:
    """Send ``message`` unless a cap is reached; True when it went to the mailer and was sent."""
    if not rt.mail_quota.take(caps(message.kind, message.to, account_id, source), rt.now()):
        logs.event(
            "mail",
            message=message.kind,
            outcome="capped",
            account=account_id,
            metrics={logs.MAILS_SUPPRESSED: 1},
        )
        return False
    return rt.mailer.send(message)


def reserve_reset(rt: AccountServices, to: str, account_id: str | None, source: str | None) -> bool:
    """Count one reset mail to ``to`` before its code is stored; True when it may be sent.

    The caps of :func:`caps`, or else the hourly floor: the address's hourly counter (the very
    item its 3-an-hour cap counts on) admits one mail while it is at zero, whatever the daily
    caps say.  The source's caps apply either way.  A request that mails nothing (an unknown
    account, an unverified address) counts the same way, against what it named, so its DynamoDB
    requests say nothing about the account and the source's caps count it as well.
    """
    now = rt.now()
    if rt.mail_quota.take(caps(RESET_KIND, to, account_id, source), now):
        return True
    floor = [Cap(f"address-{RESET_KIND}", to.lower(), 1, HOUR), *caps(RESET_KIND, None, None, source)]
    if rt.mail_quota.take(floor, now):
        return True
    if account_id is not None:
        metrics = {logs.MAILS_SUPPRESSED: 1}
        logs.event("mail", message=RESET_KIND, outcome="capped", account=account_id, metrics=metrics)
    return False


def reserve_device_reset(rt: AccountServices, account_id: str) -> bool:
    """Count one reset mail asked for with a valid device token of ``account_id``; True when it
    may be sent.  Only the account's device budget applies: strangers, who hold no device token
    of the account, cannot spend it, whatever they did to the address's and the source's caps."""
    device_caps = [Cap(f"device-{RESET_KIND}", account_id, n, w) for n, w in DEVICE_RESET_CAPS]
    if rt.mail_quota.take(device_caps, rt.now()):
        return True
    metrics = {logs.MAILS_SUPPRESSED: 1}
    logs.event("mail", message=RESET_KIND, outcome="capped", account=account_id, metrics=metrics)
    return False


def send_reserved(rt: AccountServices, message: Message) -> bool:
    """Send a reset mail that :func:`reserve_reset` or :func:`reserve_device_reset` admitted;
    True when it was sent."""
    return rt.mailer.send(message)
