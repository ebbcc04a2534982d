"""The private tracking token of a submission: derived from the site's secret and a random salt.

The database keeps the token's SHA-256 (what a tracking link is looked up by) and the salt, never
the token. With the secret, the site can write the same link again into each e-mail about the
submission; a copy of the database alone opens no tracking page. A new salt makes a new token and
the old link stops working (the editors' "send the private link again").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from observatory.digests import token_digest


def derive(secret_key: str, salt: str) -> str:
    """The token of ``salt`` under ``secret_key``: 43 URL-safe characters."""
    mac = hmac.new(secret_key.encode(), f"segnalazione:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue(secret_key: str) -> tuple[str, str]:
    """A new token and the salt it is derived from."""
    salt = secrets.token_urlsafe(16)
    return derive(secret_key, salt), salt


def recover(row: dict, secret_key: str) -> str | None:
    """The token of a submission ``row``; None when it cannot be derived (a submission from before
    salts, or a secret changed since), and only a new one can be sent."""
    salt = row.get("token_salt")
    if not salt:
        return None
    token = derive(secret_key, salt)
    return token if hmac.compare_digest(token_digest(token), row["token_hash"]) else None
