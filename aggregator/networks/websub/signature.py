"""Authenticated content distribution: ``X-Hub-Signature: <algorithm>=<hex HMAC of the body>``."""

import hashlib
import hmac
import secrets

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
SECRET_BYTES = 32  # the spec caps hub.secret below 200 bytes


def new_secret() -> str:
    """A fresh random secret for one subscription (hex: safe in a form body and in any hub's storage)."""
    return secrets.token_hex(SECRET_BYTES)


def signature_valid(body: bytes, *, secret: str, header: str) -> bool:
    """True when ``header`` is a valid signature of ``body`` under ``secret``, compared in constant time.
    An unknown algorithm, a malformed header or a missing one is invalid."""
    algorithm, _, received = header.strip().partition("=")
    digest = ALGORITHMS.get(algorithm.strip().lower())
    if digest is None or not received:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, received.strip().lower())
