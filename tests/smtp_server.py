"""A real SMTP server for the tests (aiosmtpd, in a thread of its own): it keeps every message it
accepts, and can be stopped and started again on the same port to play a mail server that is down.

A test module uses the fixture by naming this module: ``pytest_plugins = ["smtp_server"]``.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+")


@dataclass
class Received:
    """One message the server accepted."""

    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    def links(self) -> list[str]:
        """The addresses in the plain text, in order."""
        return LINK.findall(self.text)


@dataclass
class Inbox:
    """aiosmtpd's handler: every message accepted, in order."""

    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        """The messages sent to ``address``."""
        with self.lock:
            return [m for m in self.messages if address in m.recipients]

    def wait_for(self, address: str, count: int = 1, seconds: float = 30) -> list[Received]:
        """The messages to ``address`` once there are ``count`` of them; fail after ``seconds``."""
        deadline = time.monotonic() + seconds
        while len(found := self.to(address)) < count:
            assert time.monotonic() < deadline, f"{len(found)} of {count} messages to {address} arrived"
            time.sleep(0.1)
        return found


class SmtpServer:
    """aiosmtpd on a free port of 127.0.0.1; ``stop()`` and ``start()`` keep the port and the inbox."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    """A running SMTP server that keeps what it receives (``smtp.inbox``), stopped at the end."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
