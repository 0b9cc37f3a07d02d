"""Every answer that is timed or counted is checked first (status, Location, the
authorizer's decision); a wrong one stops the bench with a message instead of being
timed as if it were the figure's request. A judge is `judge(reply, what)`."""

from .setup import QUAY_REDIRECT


class BenchError(SystemExit):
    """A timed answer was not the one the figure is about: the bench stops."""

    def __init__(self, message):
        super().__init__(f"bench: {message}")


def check(condition, what, got):
    if not condition:
        raise BenchError(f"{what}; got {str(got)[:500]}")


def issued(reply, what):
    """A 302 to the Quay example's redirect URI with a token in the fragment."""
    check(isinstance(reply, dict) and reply.get("statusCode") == 302, what + ": want 302", reply)
    headers = {k.lower(): v for k, v in (reply.get("headers") or {}).items()}
    location = headers.get("location", "")
    check(
        location.startswith(QUAY_REDIRECT + "#access_token="),
        what + ": want a token in Location",
        reply,
    )


def status_is(status):
    def judge(reply, what):
        check(
            isinstance(reply, dict) and reply.get("statusCode") == status,
            f"{what}: want {status}",
            reply,
        )

    return judge


def says_hello(reply, what):
    check(
        isinstance(reply, dict) and reply.get("statusCode") == 200 and reply.get("body") == "hello",
        what + ": want hello-world's 200",
        reply,
    )


def authorized(reply, what):
    check(
        isinstance(reply, dict)
        and reply.get("isAuthorized") is True
        and (reply.get("context") or {}).get("token_id"),
        what + ": want the authorizer to allow, with a context",
        reply,
    )


def exchanged(reply, what):
    check(
        isinstance(reply, dict)
        and reply.get("statusCode") == 200
        and "access_token" in (reply.get("body") or ""),
        what + ": want a token",
        reply,
    )
