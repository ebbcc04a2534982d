"""Settings, read from the environment once by :func:`Settings.from_env`."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

#: The project folder: templates/, static/ and migrations/ live here.
PROJECT_DIR = Path(__file__).resolve().parent.parent
#: Data the package ships: ISTAT territories, vocabularies, the demo catalogue.
DATA_DIR = Path(__file__).resolve().parent / "data"

#: Every setting, its environment variable and what it means (the README repeats this table).
DOCUMENTED_SETTINGS = {
    "OBSERVATORY_DATABASE_URL": "database: sqlite:///percorso/file.db or postgresql://user@host:5432/db "
    "(default: sqlite:///var/osservatorio.db)",
    "OBSERVATORY_INDEX_DIR": "folder of the search index (default: var/index)",
    "OBSERVATORY_SECRET_KEY": "secret for signing form tokens and keying hashes (default: a random key "
    "created once in var/secret_key and shared by every worker)",
    "OBSERVATORY_DEBUG": "1 to show tracebacks in error pages (default: 0)",
    "OBSERVATORY_PAGE_SIZE": "processes per page in lists and in the API (default: 20, at most 100)",
    "OBSERVATORY_INDEX_POLL": "seconds between two looks of each worker at the changes its index has "
    "still to apply (default: 2; a change reaches another instance's index within about that)",
    "OBSERVATORY_TRUSTED_PROXIES": "addresses or networks of the reverse proxies whose X-Forwarded-For "
    "and X-Forwarded-Proto are believed, separated by commas, or none (default: 127.0.0.1,::1)",
    "OBSERVATORY_BASE_URL": "public address, for absolute links (API, tracking links of submissions); "
    "https:// also marks the session cookie Secure (default: http://127.0.0.1:8000)",
    "OBSERVATORY_PUBLISHER_NAME": "name of the body that publishes the catalogue: publisher and rights "
    "holder in the DCAT-AP_IT catalogue (default: Osservatorio dei processi partecipativi)",
    "OBSERVATORY_PUBLISHER_IPA": "IPA code of that body (indicepa.gov.it), the prefix of the dataset "
    "identifiers (default: osservatorio, a placeholder)",
    "OBSERVATORY_PUBLISHER_EMAIL": "contact address of the editorial office in the DCAT-AP_IT catalogue "
    "(default: redazione@example.org, a placeholder)",
    "OBSERVATORY_SUBMISSIONS_PER_HOUR": "submissions (form and API) accepted from one address in an hour "
    "(default: 30)",
    "OBSERVATORY_SUBMISSIONS_PER_DAY": "submissions accepted from one address in a day, at least the "
    "hourly number (default: 100)",
    "OBSERVATORY_PERSONAL_DATA_MONTHS": "months after which the personal data of submitters (from the "
    "decision on their submission), of contact messages and of sent e-mail is erased (default: 12)",
    "OBSERVATORY_SMTP_HOST": "the SMTP server that sends e-mail; unset, no e-mail is sent (default: unset)",
    "OBSERVATORY_SMTP_PORT": "its port (default: 587 with starttls, 465 with tls, 25 with none)",
    "OBSERVATORY_SMTP_USER": "user name to log in to it; unset, no login (default: unset)",
    "OBSERVATORY_SMTP_PASSWORD": "password to log in to it (default: unset)",
    "OBSERVATORY_SMTP_TLS": "how the connection is encrypted: starttls, tls (from the first byte) or none "
    "(default: starttls)",
    "OBSERVATORY_SMTP_TIMEOUT": "seconds to wait for the SMTP server before an attempt counts as failed "
    "(default: 30)",
    "OBSERVATORY_MAIL_FROM": 'the sender of every e-mail, an address or "Name <address>"; needed with '
    "OBSERVATORY_SMTP_HOST",
    "OBSERVATORY_MAIL_POLL": "seconds between two looks of each instance at the e-mail waiting to be sent "
    "(default: 5)",
}
#: How each value of OBSERVATORY_SMTP_TLS connects, and the port it uses by default.
SMTP_TLS_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def _var_dir() -> Path:
    return PROJECT_DIR / "var"


def stored_secret(path: Path | None = None) -> str:
    """The secret kept in ``var/secret_key``, created (readable by the owner only) on first use.

    Every worker and every restart reads the same key, so form tokens stay valid across them.
    """
    path = path or _var_dir() / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret)
    try:
        os.link(draft, path)  # atomic: the first worker's key wins, complete
    except FileExistsError:
        secret = path.read_text().strip()
    finally:
        draft.unlink()
    return secret


def _number(variable: str, text: str, kind: type[int] | type[float], low: float, high: float):
    """``text`` read as a ``kind`` between ``low`` and ``high``; ValueError naming ``variable`` if not."""
    what = "a whole number" if kind is int else "a number"
    try:
        value = kind(text)
    except ValueError as exc:
        raise ValueError(f"{variable} must be {what}, not {text!r}") from exc
    if not low <= value <= high:
        raise ValueError(f"{variable} must be between {low:g} and {high:g}")
    return value


def _matching(variable: str, text: str, pattern: str, example: str) -> str:
    """``text`` trimmed, when it matches ``pattern`` whole; ValueError naming ``variable`` if not."""
    value = text.strip()
    if not re.fullmatch(pattern, value):
        raise ValueError(f"{variable}: {value!r} is not valid (for example {example})")
    return value


def _networks(variable: str, text: str) -> tuple[str, ...]:
    """Addresses or networks separated by commas ("none" for none); ValueError naming a wrong one."""
    if text.strip().lower() == "none":
        return ()
    found = []
    for item in (part.strip() for part in text.split(",")):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{variable}: {item!r} is not an IP address or network (10.0.0.0/8)") from None
        found.append(item)
    return tuple(found)


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of one Osservatorio instance."""

    #: Where the catalogue lives: an SQLite file or a PostgreSQL database.
    database_url: str = field(default_factory=lambda: f"sqlite:///{_var_dir() / 'osservatorio.db'}")
    #: Folder of the Whoosh index, a derived copy of the database.
    index_dir: Path = field(default_factory=lambda: _var_dir() / "index")
    #: Secret used to sign sessions and tokens.
    secret_key: str = field(default_factory=stored_secret)
    #: Show tracebacks on error pages.
    debug: bool = False
    #: Default page size of lists and API pages.
    page_size: int = 20
    #: Public base address, used for absolute links.
    base_url: str = "http://127.0.0.1:8000"
    #: Seconds between two looks of each worker at the changes its index has still to apply.
    index_poll: float = 2.0
    #: Addresses and networks of the proxies whose forwarding headers are believed.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    #: The body that publishes the catalogue: publisher and rights holder of the open data.
    publisher_name: str = "Osservatorio dei processi partecipativi"
    #: Its code in the Indice della Pubblica Amministrazione, the prefix of dataset identifiers.
    publisher_ipa: str = "osservatorio"
    #: Where harvesters and re-users write to: the contact point of the datasets.
    publisher_email: str = "redazione@example.org"
    #: Submissions accepted from one address in the last hour, and in the last day: enough for an
    #: office entering its backlog, or the comuni behind one network.
    submissions_per_hour: int = 30
    submissions_per_day: int = 100
    #: Months a submitter's name, body and e-mail are kept after the decision on the submission, and
    #: a contact message or a sent e-mail after it was written (retention.py erases them then).
    personal_data_months: int = 12
    #: The SMTP server that sends e-mail; "" sends none.
    smtp_host: str = ""
    #: Its port.
    smtp_port: int = SMTP_TLS_PORTS["starttls"]
    #: The user name to log in with; "" logs in not at all.
    smtp_user: str = ""
    #: The password to log in with (kept out of the settings' repr).
    smtp_password: str = field(default="", repr=False)
    #: starttls, tls or none (see SMTP_TLS_PORTS).
    smtp_tls: str = "starttls"
    #: Seconds to wait for the SMTP server at each step of a delivery.
    smtp_timeout: float = 30.0
    #: The sender of every e-mail: an address, or "Name <address>".
    mail_from: str = ""
    #: Seconds between two looks at the outbox for e-mail to send.
    mail_poll: float = 5.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from ``OBSERVATORY_*`` environment variables."""
        env = os.environ if environ is None else environ
        values: dict = {}
        if url := env.get("OBSERVATORY_DATABASE_URL"):
            values["database_url"] = url
        if index_dir := env.get("OBSERVATORY_INDEX_DIR"):
            values["index_dir"] = Path(index_dir)
        if secret := env.get("OBSERVATORY_SECRET_KEY"):
            values["secret_key"] = secret
        if debug := env.get("OBSERVATORY_DEBUG"):
            values["debug"] = debug.strip().lower() in {"1", "true", "yes", "on"}
        if page_size := env.get("OBSERVATORY_PAGE_SIZE"):
            values["page_size"] = _number("OBSERVATORY_PAGE_SIZE", page_size, int, 1, 100)
        if base_url := env.get("OBSERVATORY_BASE_URL"):
            values["base_url"] = base_url.rstrip("/")
        if poll := env.get("OBSERVATORY_INDEX_POLL"):
            values["index_poll"] = _number("OBSERVATORY_INDEX_POLL", poll, float, 0.1, 3600)
        if proxies := env.get("OBSERVATORY_TRUSTED_PROXIES"):
            values["trusted_proxies"] = _networks("OBSERVATORY_TRUSTED_PROXIES", proxies)
        if publisher := env.get("OBSERVATORY_PUBLISHER_NAME", "").strip():
            values["publisher_name"] = publisher
        if ipa := env.get("OBSERVATORY_PUBLISHER_IPA"):
            values["publisher_ipa"] = _matching(
                "OBSERVATORY_PUBLISHER_IPA", ipa, r"[A-Za-z0-9_.-]+", "c_l219"
            )
        if email := env.get("OBSERVATORY_PUBLISHER_EMAIL"):
            values["publisher_email"] = _matching(
                "OBSERVATORY_PUBLISHER_EMAIL", email, r"[^@\s]+@[^@\s]+\.[^@\s]+", "redazione@comune.it"
            )
        if months := env.get("OBSERVATORY_PERSONAL_DATA_MONTHS"):
            values["personal_data_months"] = _number("OBSERVATORY_PERSONAL_DATA_MONTHS", months, int, 1, 120)
        values |= _submission_limits(env)
        values |= _mail(env)
        return cls(**values)


def _submission_limits(env) -> dict:
    """The submissions accepted from one address per hour and per day; ValueError for a wrong one,
    or a day that allows fewer than an hour."""
    values: dict = {}
    for name, variable in (("submissions_per_hour", "HOUR"), ("submissions_per_day", "DAY")):
        if text := env.get(f"OBSERVATORY_SUBMISSIONS_PER_{variable}"):
            values[name] = _number(f"OBSERVATORY_SUBMISSIONS_PER_{variable}", text, int, 1, 1_000_000)
    hour = values.get("submissions_per_hour", Settings.submissions_per_hour)
    if values.get("submissions_per_day", Settings.submissions_per_day) < hour:
        raise ValueError(
            "OBSERVATORY_SUBMISSIONS_PER_DAY must be at least OBSERVATORY_SUBMISSIONS_PER_HOUR "
            f"({hour}): a day holds every hour"
        )
    return values


def _mail(env) -> dict:
    """The e-mail settings of ``env``; ValueError for a wrong one, or a server with no sender."""
    values: dict = {}
    tls = env.get("OBSERVATORY_SMTP_TLS", "").strip().lower() or "starttls"
    if tls not in SMTP_TLS_PORTS:
        raise ValueError(f"OBSERVATORY_SMTP_TLS must be one of {', '.join(SMTP_TLS_PORTS)}, not {tls!r}")
    values["smtp_tls"] = tls
    values["smtp_port"] = SMTP_TLS_PORTS[tls]
    if port := env.get("OBSERVATORY_SMTP_PORT"):
        values["smtp_port"] = _number("OBSERVATORY_SMTP_PORT", port, int, 1, 65535)
    if timeout := env.get("OBSERVATORY_SMTP_TIMEOUT"):
        values["smtp_timeout"] = _number("OBSERVATORY_SMTP_TIMEOUT", timeout, float, 1, 600)
    if poll := env.get("OBSERVATORY_MAIL_POLL"):
        values["mail_poll"] = _number("OBSERVATORY_MAIL_POLL", poll, float, 0.1, 3600)
    values["smtp_host"] = env.get("OBSERVATORY_SMTP_HOST", "").strip()
    values["smtp_user"] = env.get("OBSERVATORY_SMTP_USER", "")
    values["smtp_password"] = env.get("OBSERVATORY_SMTP_PASSWORD", "")
    if sender := env.get("OBSERVATORY_MAIL_FROM", "").strip():
        _, address = parseaddr(sender)
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address) or "\n" in sender:
            raise ValueError(
                f"OBSERVATORY_MAIL_FROM: {sender!r} is not an address "
                "(for example redazione@comune.it or Osservatorio <redazione@comune.it>)"
            )
        values["mail_from"] = sender
    if values["smtp_host"] and not values.get("mail_from"):
        raise ValueError("OBSERVATORY_MAIL_FROM is needed with OBSERVATORY_SMTP_HOST: the sender of e-mail")
    return values
