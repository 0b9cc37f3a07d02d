"""The parts of a token the server hands out (`doa_<id><secret><checksum>.<user>.<client>`,
or an earlier `doa_<id><secret><checksum>` or `<id><secret>`), and tokens made from parts,
with a checksum that holds: what a test needs to name a token's record or to forge one the
server must refuse by its secret, not by its shape. A refresh token
(`dor_<family id><secret><checksum>`, src/refresh.rs) is laid out the same way: its
family's key, and the secret whose SHA-256 the family stores."""

import base64
import hashlib

PREFIX = "doa_"
REFRESH_PREFIX = "dor_"
ID_LEN = 22


def _body(token: str) -> str:
    core = token.split(".", 1)[0]
    return core[len(PREFIX) : -6] if core.startswith(PREFIX) and len(core) == 75 else core


def named(token: str) -> tuple[str, str] | None:
    """The user and client id a token issued now names after its secret
    (`doa_...<checksum>.<user>.<client>`, base64url each); None for an older form."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    decode = lambda part: base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()  # noqa: E731
    return decode(parts[1]), decode(parts[2])


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


def _refresh_body(token: str) -> str:
    assert token.startswith(REFRESH_PREFIX) and len(token) == 75, "not a refresh token"
    return token[len(REFRESH_PREFIX) : -6]


def family_of(refresh_token: str) -> str:
    """A refresh token's family id: the key of its family in the refresh-tokens table."""
    return _refresh_body(refresh_token)[:ID_LEN]


def refresh_sha256(refresh_token: str) -> bytes:
    """SHA-256 of a refresh token's secret: what its family stores while it is live
    (`current_sha256`)."""
    return hashlib.sha256(_refresh_body(refresh_token)[ID_LEN:].encode()).digest()
