"""The parts of a token the server hands out (`doa_<id><secret><checksum>`, or an earlier
`<id><secret>`), and tokens made from parts, with a checksum that holds: what a test needs
to name a token's record or to forge one the server must refuse by its secret, not by its
shape."""

import base64
import hashlib

PREFIX = "doa_"
ID_LEN = 22


def _body(token: str) -> str:
    return token[len(PREFIX) : -6] if token.startswith(PREFIX) and len(token) == 75 else token


def id_of(token: str) -> str:
    """The token's public id: its record's key."""
    return _body(token)[:ID_LEN]


def secret_of(token: str) -> str:
    """The token's secret: never stored, never logged."""
    return _body(token)[ID_LEN:]


def checksum(body: str) -> str:
    digest = hashlib.sha256((PREFIX + body).encode()).digest()
    return base64.urlsafe_b64encode(digest[:4]).decode().rstrip("=")


def made_of(token_id: str, secret: str) -> str:
    """A well-formed token of these parts, as the server would issue it."""
    body = token_id + secret
    return PREFIX + body + checksum(body)
