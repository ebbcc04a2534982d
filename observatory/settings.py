"""Settings, read from the environment once by :func:`Settings.from_env`."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
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
}


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
        return cls(**values)
