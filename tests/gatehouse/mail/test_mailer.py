"""The mailer: SES v2 SendEmail with text and HTML bodies from the package's templates."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest

from gatehouse.mail import TEMPLATES, Mailer, compose
from gatehouse.services import Services
from gatehouse.settings import Settings
from tests.conftest import MAIL_FROM, Mailbox


class RecordingSes:
    def __init__(self, fail: Exception | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail = fail

    def send_email(self, **request: Any) -> dict[str, str]:
        self.requests.append(request)
        if self.fail is not None:
            raise self.fail
        return {"MessageId": "m-1"}


class Throttled(Exception):
    response = {"Error": {"Code": "TooManyRequestsException"}}  # noqa: RUF012


def test_values_are_escaped_in_the_html_body_but_not_in_the_text() -> None:
    values = {"username": "<b>&'\"", "when": "now", "device": "a phone"}
    message = compose("notice_password_changed", "a@example.com", "Hi", values)
    assert "<b>&'\"" in message.text
    assert "&lt;b&gt;&amp;&#x27;&quot;" in message.html
    assert "<b>&" not in message.html


def test_a_template_missing_a_value_fails_loudly_rather_than_mailing_a_placeholder() -> None:
    with pytest.raises(KeyError):
        compose("verify_email", "a@example.com", "Hi", {"code": "X"})


def test_every_template_has_a_text_and_an_html_body() -> None:
    import os

    names = sorted(os.listdir(TEMPLATES))
    kinds = {name.rsplit(".", 1)[0] for name in names}
    assert names == sorted(f"{kind}.{ext}" for kind in kinds for ext in ("html", "txt"))


def test_send_makes_one_simple_sesv2_request_with_both_bodies_and_the_configuration_set() -> None:
    ses = RecordingSes()
    settings = Settings(mail_from="Gatehouse <no-reply@example.com>", mail_configuration_set="tracking")
    message = compose(
        "verify_email", "a@example.com", "Confirm", {"username": "alice", "code": "K7", "hours": "24"}
    )
    assert Mailer(settings, client=lambda: ses).send(message) is True
    [request] = ses.requests
    assert request["FromEmailAddress"] == "Gatehouse <no-reply@example.com>"
    assert request["Destination"] == {"ToAddresses": ["a@example.com"]}
    assert request["ConfigurationSetName"] == "tracking"
    simple = request["Content"]["Simple"]
    assert simple["Subject"]["Data"] == "Confirm"
    assert "K7" in simple["Body"]["Text"]["Data"]
    assert "<strong>K7</strong>" in simple["Body"]["Html"]["Data"]


def test_without_a_configuration_set_none_is_sent() -> None:
    ses = RecordingSes()
    message = compose(
        "verify_email", "a@example.com", "Confirm", {"username": "a", "code": "K7", "hours": "1"}
    )
    Mailer(Settings(mail_from="no-reply@example.com"), client=lambda: ses).send(message)
    assert "ConfigurationSetName" not in ses.requests[0]


def test_a_failure_is_false_and_one_log_line_without_the_code_or_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ses = RecordingSes(fail=Throttled("throttled"))
    message = compose(
        "reset_code",
        "a@example.com",
        "Reset",
        {"username": "a", "code": "SECRET7", "minutes": "15", "link_text": ""},
        {"link_html": ""},
    )
    caplog.set_level("INFO")
    assert Mailer(Settings(mail_from="no-reply@example.com"), client=lambda: ses).send(message) is False
    [line] = [r.getMessage() for r in caplog.records]
    logged = json.loads(line)
    assert {k: v for k, v in logged.items() if k not in ("_aws", "FunctionName")} == {
        "event": "mail",
        "message": "reset_code",
        "outcome": "failed",
        "reason": "TooManyRequestsException",
        "MailsFailed": 1,  # the line is a metric too (Embedded Metric Format)
    }
    assert "SECRET7" not in caplog.text
    assert "a@example.com" not in caplog.text


def test_without_a_sender_nothing_is_sent_and_it_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    ses = RecordingSes()
    message = compose(
        "verify_email", "a@example.com", "Confirm", {"username": "a", "code": "K7", "hours": "1"}
    )
    caplog.set_level("INFO")
    assert Mailer(Settings(), client=lambda: ses).send(message) is False
    assert ses.requests == []
    assert "GATEHOUSE_MAIL_FROM" in caplog.text


def test_echo_prints_recipient_subject_and_text_like_a_console_backend() -> None:
    out = io.StringIO()
    ses = RecordingSes(fail=Throttled("no SES locally"))
    message = compose(
        "verify_email", "a@example.com", "Confirm", {"username": "alice", "code": "K7Q2", "hours": "1"}
    )
    Mailer(Settings(mail_from="x@example.com", mail_echo=True), client=lambda: ses, echo_to=out).send(message)
    printed = out.getvalue()
    assert "Mail to: a@example.com\nSubject: Confirm\n" in printed
    assert "    K7Q2\n" in printed  # printed even though sending failed


def test_without_echo_nothing_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    message = compose(
        "verify_email", "a@example.com", "Confirm", {"username": "a", "code": "K7", "hours": "1"}
    )
    Mailer(Settings(mail_from="x@example.com"), client=RecordingSes).send(message)
    assert capsys.readouterr().out == ""


def test_through_moto_the_message_reaches_ses_from_the_configured_sender(
    rt: Services, mailbox: Mailbox
) -> None:
    message = compose(
        "verify_email", "b@example.com", "Confirm", {"username": "b", "code": "K7", "hours": "1"}
    )
    assert rt.mailer.send(message) is True
    [sent] = mailbox.to("b@example.com")
    assert (sent.source, sent.subject) == (MAIL_FROM, "Confirm")
    assert "<strong>K7</strong>" in sent.body


def test_an_unverified_sender_is_refused_by_ses_and_reported_as_not_sent(
    rt: Services, mailbox: Mailbox
) -> None:
    mailer = Mailer(replace(rt.settings, mail_from="stranger@unverified.example.org"))
    message = compose(
        "verify_email", "b@example.com", "Confirm", {"username": "b", "code": "K7", "hours": "1"}
    )
    assert mailer.send(message) is False
    assert mailbox.to("b@example.com") == []
