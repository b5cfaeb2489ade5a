"""Outgoing mail: one message per call, through Amazon SES v2 ``SendEmail``.

Bodies come from ``string.Template`` files (plain text and HTML; every value
is HTML-escaped in the HTML body): the app's own directory first, if it gave
one (``gate.mail_templates(directory)``, each Gatehouse its own, passed to :func:`compose`), then
the English ones beside this module.  A plain-text template whose first line
is ``Subject: ...`` sets the message's subject too, so an app can replace
the wording of a mail entirely.  A failure to send is
logged and reported as ``False``, never raised: a reply such as
``POST /auth/password/forgot`` must look the same whether or not mail went
out.  Log lines name the message kind and the AWS error code only, never the
recipient's code or link.

With ``GATEHOUSE_MAIL_ECHO`` (set by the local stack) every message is also
printed to stdout, as Django's console email backend does, so a developer
running ``make run`` sees the codes.
"""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from string import Template
from typing import Any, TextIO

from gatehouse import logs
from gatehouse.logs import MAILS_FAILED, MAILS_SENT, MAILS_SUPPRESSED
from gatehouse.settings import Settings
from gatehouse.storage import aws
from gatehouse.storage.aws import error_code

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
_SUBJECT = "Subject:"


@dataclass(frozen=True)
class Message:
    kind: str  # the template's name, for logs
    to: str
    subject: str
    text: str
    html: str


def template_directory(directory: str | os.PathLike[str]) -> str:
    """``directory`` as an absolute path, once it is known to exist: a directory of the app's
    own mail templates, where a file of the same name (``notice_new_device.txt``, say) replaces
    the package's.

    Placeholders are ``string.Template``'s (``$username``); a template that
    names one the message does not have fails at once, in the test that
    renders it, not in production.
    """
    path = os.path.abspath(os.fspath(directory))
    if not os.path.isdir(path):
        raise ValueError(f"mail template directory {path!r} does not exist")
    return path


@cache
def _template(name: str, directories: tuple[str, ...] = ()) -> Template:
    for directory in (*directories, TEMPLATES):
        candidate = os.path.join(directory, name)
        if os.path.exists(candidate):
            with open(candidate, encoding="utf-8") as template:
                return Template(template.read())
    raise FileNotFoundError(f"no mail template {name!r}")


def compose(
    kind: str,
    to: str,
    subject: str,
    values: Mapping[str, str],
    html_values: Mapping[str, str] | None = None,
    *,
    templates: tuple[str, ...] = (),
) -> Message:
    """``kind``.txt and ``kind``.html filled with ``values``.

    ``values`` are escaped for the HTML body; ``html_values`` are fragments
    already built from escaped parts (a link, say) and go in as they are.
    ``templates``: the app's directories, searched before the package's.
    """
    text = _template(f"{kind}.txt", templates).substitute(values)
    first, _, rest = text.partition("\n")
    if first.startswith(_SUBJECT):
        subject, text = first[len(_SUBJECT) :].strip(), rest.lstrip("\n")
    escaped = {name: html.escape(value, quote=True) for name, value in values.items()}
    body = _template(f"{kind}.html", templates).substitute({**escaped, **(html_values or {})})
    return Message(kind, to, subject, text, body)


class Mailer:
    def __init__(
        self,
        settings: Settings,
        client: Callable[[], Any] | None = None,
        echo_to: TextIO | None = None,
    ) -> None:
        self.settings = settings
        self._client_factory = client
        self._client: Any = None
        self._echo_to = echo_to

    def _ses(self) -> Any:
        if self._client is None:
            self._client = (self._client_factory or aws.sesv2)()
        return self._client

    def send(self, message: Message) -> bool:
        """Send ``message``; False (and a log line) if it could not be sent."""
        if self.settings.mail_echo:
            self._echo(message)
        sender = self.settings.mail_from
        if not sender:
            logs.event(
                "mail",
                message=message.kind,
                outcome="not_sent",
                reason="GATEHOUSE_MAIL_FROM is not set",
                metrics={MAILS_SUPPRESSED: 1},
            )
            return False
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [message.to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": "UTF-8"},
                        "Html": {"Data": message.html, "Charset": "UTF-8"},
                    },
                }
            },
        }
        if self.settings.mail_configuration_set:
            request["ConfigurationSetName"] = self.settings.mail_configuration_set
        try:
            self._ses().send_email(**request)
        except Exception as exc:  # any failure: logged, never the caller's answer
            logs.event(
                "mail",
                message=message.kind,
                outcome="failed",
                reason=error_code(exc) or type(exc).__name__,
                metrics={MAILS_FAILED: 1},
            )
            return False
        logs.event("mail", message=message.kind, outcome="sent", metrics={MAILS_SENT: 1})
        return True

    def _echo(self, message: Message) -> None:
        out = self._echo_to or sys.stdout
        rule = "-" * 72
        out.write(
            f"{rule}\nMail to: {message.to}\nSubject: {message.subject}\n\n{message.text.rstrip()}\n{rule}\n"
        )
        out.flush()
