"""E-mail: the outbox written in the decision's transaction, and its delivery to a real SMTP server
(aiosmtpd, started by the tests) with retries, on both databases."""

from __future__ import annotations

import dataclasses

import pytest
from helpers import rows, run_in_app

from observatory.database import write_transaction
from observatory.mail import outbox
from observatory.mail.tables import MailMessage
from observatory.settings import Settings

pytestmark = pytest.mark.anyio


def mail_on(settings: Settings, port: int = 2525) -> Settings:
    """``settings`` sending through the SMTP server on ``port`` of this machine, unencrypted."""
    return dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="none",
        smtp_timeout=5,
        mail_from="Osservatorio <redazione@osservatorio.example>",
        base_url="https://osservatorio.example",
    )


class Rollback(Exception):
    pass


async def _enqueue_then(settings: Settings, fail: bool, **extra) -> bool:
    async with write_transaction():
        stored = await outbox.enqueue(
            settings,
            to="maria.rossi@comune.chieri.example",
            subject="Prova\ncon un a capo",
            template="indirizzo",
            context={
                "name": "<Maria> & co",
                "title": "Orti",
                "tracking_url": "https://osservatorio.example/segnala/abc",
            },
            kind="ricevuta",
            reference="segnalazione:1",
            **extra,
        )
        if fail:
            raise Rollback
    return stored


async def test_a_message_commits_with_the_transaction_that_wrote_it_or_not_at_all(empty_client):
    settings = mail_on(empty_client.app.state.settings)
    with pytest.raises(Rollback):
        run_in_app(empty_client, _enqueue_then, settings, True)
    assert rows(empty_client, MailMessage) == []
    assert run_in_app(empty_client, _enqueue_then, settings, False) is True
    (message,) = rows(empty_client, MailMessage)
    assert message["recipient"] == "maria.rossi@comune.chieri.example"
    assert message["subject"] == "Prova con un a capo"
    assert message["sent_at"] is None and message["attempts"] == 0 and message["failed_at"] is None
    assert "Gentile <Maria> & co," in message["text"]  # plain text is not escaped
    assert "Gentile &lt;Maria&gt; &amp; co," in message["html"]  # HTML is
    assert "https://osservatorio.example/" in message["text"]


async def test_no_mail_settings_means_nothing_in_the_outbox(empty_client):
    settings = empty_client.app.state.settings
    assert not outbox.mail_enabled(settings)
    assert run_in_app(empty_client, _enqueue_then, settings, False) is False
    assert rows(empty_client, MailMessage) == []


async def test_a_message_with_a_once_key_is_stored_once(empty_client):
    settings = mail_on(empty_client.app.state.settings)
    assert run_in_app(empty_client, _enqueue_then, settings, False, once_key="riepilogo:2026-12-07:1")
    assert not run_in_app(empty_client, _enqueue_then, settings, False, once_key="riepilogo:2026-12-07:1")
    assert len(rows(empty_client, MailMessage)) == 1


def test_mail_settings_are_read_and_checked():
    settings = Settings.from_env(
        {
            "OBSERVATORY_SMTP_HOST": "smtp.comune.example",
            "OBSERVATORY_SMTP_USER": "osservatorio",
            "OBSERVATORY_SMTP_PASSWORD": "segreto",
            "OBSERVATORY_SMTP_TLS": "tls",
            "OBSERVATORY_MAIL_FROM": "Osservatorio <redazione@comune.example>",
            "OBSERVATORY_SECRET_KEY": "k",
        }
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_tls) == ("smtp.comune.example", 465, "tls")
    assert outbox.mail_enabled(settings)
    assert "segreto" not in repr(settings)
    assert Settings.from_env({"OBSERVATORY_SECRET_KEY": "k"}).smtp_port == 587
    with pytest.raises(ValueError, match="OBSERVATORY_MAIL_FROM"):
        Settings.from_env({"OBSERVATORY_SMTP_HOST": "smtp.comune.example", "OBSERVATORY_SECRET_KEY": "k"})
    with pytest.raises(ValueError, match="OBSERVATORY_SMTP_TLS"):
        Settings.from_env({"OBSERVATORY_SMTP_TLS": "ssl", "OBSERVATORY_SECRET_KEY": "k"})
    with pytest.raises(ValueError, match="OBSERVATORY_MAIL_FROM"):
        Settings.from_env({"OBSERVATORY_MAIL_FROM": "redazione", "OBSERVATORY_SECRET_KEY": "k"})
