"""What is stored instead of a secret: digests of tokens and keyed digests of client addresses."""

from __future__ import annotations

import hashlib
import hmac


def token_digest(token: str) -> str:
    """SHA-256 of a token, in hex: stored in place of session and tracking tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_digest(value: str | None, secret_key: str) -> str:
    """HMAC-SHA256 of ``value`` under the site's secret, in hex: enough to count a client address
    (login attempts, submissions) without keeping it or letting anyone read it back."""
    return hmac.new(secret_key.encode(), (value or "").encode(), hashlib.sha256).hexdigest()
