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
cap is no oracle.  Counting is one DynamoDB transaction with the caps as
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


def count_no_mail(rt: AccountServices, kind: str, to: str | None, source: str | None) -> None:
    """The same counting request as :func:`deliver` for a request that mails nothing (an unknown
    account's ``forgot``): the caller's DynamoDB requests then say nothing about the account, and
    the source's cap counts such requests as well."""
    rt.mail_quota.take(caps(kind, to, None, source), rt.now())
