"""Outgoing mail: one message per call, through Amazon SES v2 ``SendEmail``.

Bodies come from ``string.Template`` files beside this module (plain text and
HTML; every value is HTML-escaped in the HTML body).  A failure to send is
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
from gatehouse.settings import Settings
from gatehouse.storage import aws
from gatehouse.storage.aws import error_code

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


@dataclass(frozen=True)
class Message:
    kind: str  # the template's name, for logs
    to: str
    subject: str
    text: str
    html: str


@cache
def _template(name: str) -> Template:
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as template:
        return Template(template.read())


def compose(
    kind: str,
    to: str,
    subject: str,
    values: Mapping[str, str],
    html_values: Mapping[str, str] | None = None,
) -> Message:
    """``kind``.txt and ``kind``.html filled with ``values``.

    ``values`` are escaped for the HTML body; ``html_values`` are fragments
    already built from escaped parts (a link, say) and go in as they are.
    """
    text = _template(f"{kind}.txt").substitute(values)
    escaped = {name: html.escape(value, quote=True) for name, value in values.items()}
    body = _template(f"{kind}.html").substitute({**escaped, **(html_values or {})})
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
                "mail", message=message.kind, outcome="not_sent", reason="GATEHOUSE_MAIL_FROM is not set"
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
                "mail", message=message.kind, outcome="failed", reason=error_code(exc) or type(exc).__name__
            )
            return False
        logs.event("mail", message=message.kind, outcome="sent")
        return True

    def _echo(self, message: Message) -> None:
        out = self._echo_to or sys.stdout
        rule = "-" * 72
        out.write(
            f"{rule}\nMail to: {message.to}\nSubject: {message.subject}\n\n{message.text.rstrip()}\n{rule}\n"
        )
        out.flush()
