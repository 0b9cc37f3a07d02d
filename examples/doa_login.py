#!/usr/bin/env python3
"""Signs a command-line tool in to a direct-oauth issuer without ever seeing a password.

    doa_login.py login  --issuer URL --client-id ID [--scope "a b"] [--device | --loopback]
                        [--no-browser]
    doa_login.py token  --issuer URL --client-id ID     # the access token alone, on stdout
    doa_login.py status --issuer URL --client-id ID     # what is stored, no token shown
    doa_login.py logout --issuer URL --client-id ID     # revoke at the server, then forget

The tool is a public client: a client_id and no secret. It learns every endpoint from the
issuer alone (RFC 8414 discovery), and the person signs in on the issuer's own pages, so
the password never passes through the tool:

- `--device` (RFC 8628): the tool prints a URL and a short code; the person opens the URL
  on any device (a phone, a laptop's browser while the tool runs on a server), enters the
  code, signs in and approves, while the tool polls the token endpoint.
- `--loopback` (RFC 8252 §7.3, PKCE S256, RFC 7636): the tool listens on
  http://127.0.0.1:<a free port>/callback, opens the browser at the authorization
  endpoint and takes the code the browser brings back. The application must be registered
  with the redirect URI http://127.0.0.1/callback (the server lets the port change).

Without either flag: loopback when this machine can show a browser (a desktop session:
macOS, Windows, or DISPLAY/WAYLAND_DISPLAY set, and not an SSH login, whose browser is on
another machine than our listener) or when the issuer offers no device authorization;
device otherwise. `--no-browser` prints the loopback URL instead of opening it.

The tokens are kept in one file per (issuer, client id) under
$XDG_CONFIG_HOME/doa-login/ (~/.config/doa-login/ by default), or in --store PATH: the
folder is made 0700, the file 0600 from its first byte. `token` refreshes the access token
when it has expired or will within 30 seconds; the server answers each refresh with a new
refresh token (rotation), which is stored before anything is printed. When the server
refuses the refresh token (revoked, reused, past its lifetime), the file is deleted and
the person is told to log in again. No token is ever printed on stderr.

--issuer and --client-id may also come from DOA_ISSUER and DOA_CLIENT_ID. Example, with
`make run`'s local stack:

    export DOA_ISSUER=http://127.0.0.1:9000/lambda-url/authorize-app DOA_CLIENT_ID=some_client_id
    examples/doa_login.py login --scope repo:read
    curl -H "Authorization: Bearer $(examples/doa_login.py token)" https://<your api>/whoami

Python 3.11, standard library only; POSIX (file modes and the lock).
"""

import argparse
import base64
import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer

PROG = "doa_login.py"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# RFC 8414 §2: what a server that names no grant types supports.
DEFAULT_GRANT_TYPES = ["authorization_code", "implicit"]
# RFC 8628 §3.2 and §3.5: the polling interval when the server names none, and what each
# slow_down adds to it, for that poll and every later one.
DEFAULT_INTERVAL = 5
SLOW_DOWN_STEP = 5
# Refresh a little before the expiry, so the token printed still works when it is used.
EXPIRY_MARGIN = 30
# How long the loopback listener waits for the browser to come back.
LOOPBACK_WAIT = 300
HTTP_TIMEOUT = 30


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer. Holds the server's `error` and `error_description`
    only, never the request, so a message made from it cannot carry a token."""

    def __init__(self, error, description=""):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error


class Failed(Exception):
    """The command cannot go on; the message is for the person, on one line."""


# --- HTTP: the one function that talks to the network --------------------------------------


def http_json(method, url, form=None):
    """One request; returns (status, the JSON object answered, or {}). A form is sent
    url-encoded. Errors (4xx, 5xx) are answers here, not exceptions: the caller reads
    `error` from them."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except (OSError, http.client.HTTPException) as error:
        # URLError (no route, refused, TLS) has a reason; a timeout or a dropped
        # connection is the error itself.
        reason = getattr(error, "reason", error)
        raise Failed(f"cannot reach {url}: {reason}") from None
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
    return status, parsed if isinstance(parsed, dict) else {}


def post(url, form):
    """POST a form to an OAuth endpoint; the JSON answer on 200, else OAuthError."""
    status, answer = http_json("POST", url, form)
    if status == 200:
        return answer
    error = answer.get("error")
    if not isinstance(error, str):
        # Not an OAuth answer (a gateway's 502, a proxy's page): say only the status.
        raise OAuthError(f"HTTP {status}")
    raise OAuthError(error, str(answer.get("error_description") or ""))


# --- Discovery (RFC 8414) ------------------------------------------------------------------


def check_issuer(issuer):
    """Tokens only travel over TLS, or to this machine (a local stack)."""
    parts = urllib.parse.urlsplit(issuer)
    local = parts.hostname in ("127.0.0.1", "::1", "localhost")
    secure = parts.scheme == "https" or (parts.scheme == "http" and local)
    # RFC 8414 §2: an issuer has no query or fragment.
    if not secure or parts.query or parts.fragment or not parts.hostname:
        raise Failed(f"the issuer must be an https URL (or http on 127.0.0.1): {issuer}")


def metadata_urls(issuer):
    """RFC 8414 §3.1's location (the well-known segment before the issuer's path), then
    the issuer's own path followed by it, where front doors that cannot route the first
    one (an API stage, `cargo lambda watch`) answer it."""
    parts = urllib.parse.urlsplit(issuer)
    path = parts.path.rstrip("/")
    rfc = f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{path}"
    appended = issuer.rstrip("/") + "/.well-known/oauth-authorization-server"
    return [rfc] if rfc == appended else [rfc, appended]


def discover(issuer):
    check_issuer(issuer)
    for url in metadata_urls(issuer):
        status, meta = http_json("GET", url)
        if status != 200:
            continue
        # RFC 8414 §3.3: the metadata must name the issuer we asked, byte for byte, or an
        # attacker's document could send our tokens elsewhere.
        if meta.get("issuer") != issuer:
            raise Failed(f"the metadata at {url} names another issuer: {meta.get('issuer')}")
        return meta
    raise Failed(f"no authorization server metadata for {issuer}")


def endpoint(meta, name):
    url = meta.get(name)
    if not isinstance(url, str):
        raise Failed(f"the issuer names no {name}")
    return url


def offers_device_flow(meta):
    grants = meta.get("grant_types_supported", DEFAULT_GRANT_TYPES)
    return DEVICE_GRANT in grants and "device_authorization_endpoint" in meta


def field(answer, name):
    value = answer.get(name)
    if value in (None, ""):
        raise Failed(f"the server's answer has no {name}")
    return value


# --- Device authorization (RFC 8628) --------------------------------------------------------


def device_login(meta, client_id, scope):
    form = {"client_id": client_id, **({"scope": scope} if scope else {})}
    grant = post(endpoint(meta, "device_authorization_endpoint"), form)
    uri, code = field(grant, "verification_uri"), field(grant, "user_code")
    say(f"Open {uri} and enter the code {code}")
    if grant.get("verification_uri_complete"):
        say(f"(or open {grant['verification_uri_complete']}, which has the code in it)")
    return poll_device(meta, client_id, grant)


def poll_device(meta, client_id, grant):
    """Polls until the person approves, declines, or the code expires (RFC 8628 §3.4-3.5).
    Returns the token endpoint's answer."""
    form = {"grant_type": DEVICE_GRANT, "device_code": field(grant, "device_code")}
    form["client_id"] = client_id
    interval = int(grant.get("interval") or DEFAULT_INTERVAL)
    deadline = time.monotonic() + int(field(grant, "expires_in"))
    while True:
        time.sleep(interval)
        if time.monotonic() >= deadline:
            raise Failed("the code expired before it was approved; run login again")
        try:
            return post(endpoint(meta, "token_endpoint"), form)
        except OAuthError as refusal:
            if refusal.error == "authorization_pending":
                continue
            if refusal.error == "slow_down":
                interval += SLOW_DOWN_STEP
                continue
            raise Failed(device_refusal(refusal)) from None


def device_refusal(refusal):
    if refusal.error == "access_denied":
        return "the sign-in was declined on the approval page"
    if refusal.error == "expired_token":
        return "the code expired before it was approved; run login again"
    return f"the server refused the sign-in: {refusal}"


# --- Loopback redirect (RFC 8252 §7.3) with PKCE (RFC 7636) ---------------------------------


def b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def pkce_pair():
    """(verifier, S256 challenge). 48 random bytes make a 64-character verifier, within
    RFC 7636 §4.1's 43 to 128 unreserved characters."""
    verifier = b64url(secrets.token_bytes(48))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def authorization_url(meta, client_id, redirect_uri, scope, state, challenge):
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri}
    if scope:
        query["scope"] = scope
    query.update(state=state, code_challenge=challenge, code_challenge_method="S256")
    base = endpoint(meta, "authorization_endpoint")
    return base + ("&" if "?" in base else "?") + urllib.parse.urlencode(query)


def callback_params(path, state):
    """The callback's parameters when `path` is our callback with our state, else None:
    any other request to the port (another page's, a favicon) is not the answer."""
    parts = urllib.parse.urlsplit(path)
    if parts.path != "/callback":
        return None
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs):
        return None  # a parameter given twice (RFC 6749 §3.1): not an answer to trust
    if not secrets.compare_digest(params.get("state", ""), state):
        return None
    return params


def callback_code(params, issuer, meta):
    """The code from an accepted callback, or why there is none. RFC 9207: the `iss`
    parameter, when present (and always when the server says it sends one), must be
    our issuer, or the code may be another server's, mixed up by an attacker."""
    iss = params.get("iss")
    if iss is None and meta.get("authorization_response_iss_parameter_supported"):
        raise Failed("the answer names no issuer, though the issuer says it always does")
    if iss is not None and iss != issuer:
        raise Failed(f"the answer came from another issuer ({iss}), not {issuer}")
    if "error" in params:
        why = params.get("error_description") or ""
        raise Failed(f"the sign-in was not completed: {params['error']} {why}".rstrip())
    if not params.get("code"):
        raise Failed("the browser came back without a code")
    return params["code"]


PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>doa_login</title>
<p>{}</p><p>You can close this window and go back to the terminal.</p></html>"""


class CallbackHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        params = callback_params(self.path, self.server.state)
        if params is None or self.server.done.is_set():
            self.answer(404, "This is not the sign-in the tool is waiting for.")
            return
        self.server.params = params
        self.server.done.set()
        self.answer(200, "Signed in." if "code" in params else "The sign-in did not complete.")

    def answer(self, status, text):
        body = PAGE.format(text).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        # The default logs each request line to stderr, and the callback's has the code.
        pass


class CallbackServer(HTTPServer):
    """Listens on 127.0.0.1 only (RFC 8252 §8.3: the loopback IP literal, not `localhost`,
    which may resolve elsewhere), on a port the system picks."""

    def __init__(self, state):
        super().__init__(("127.0.0.1", 0), CallbackHandler)
        self.state, self.params, self.done = state, None, threading.Event()

    def redirect_uri(self):
        return f"http://127.0.0.1:{self.server_address[1]}/callback"

    def wait(self, seconds):
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        try:
            if not self.done.wait(seconds):
                raise Failed(f"the browser did not come back within {seconds} s; run login again")
            return self.params
        finally:
            self.shutdown()
            thread.join()


def loopback_login(meta, issuer, client_id, scope, present, wait=LOOPBACK_WAIT):
    """`present(url)` shows the person the authorization URL (a browser, or a printed line).
    Returns the token endpoint's answer."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    with CallbackServer(state) as server:
        redirect_uri = server.redirect_uri()
        present(authorization_url(meta, client_id, redirect_uri, scope, state, challenge))
        params = server.wait(wait)
    form = {"grant_type": "authorization_code", "code": callback_code(params, issuer, meta)}
    form.update(redirect_uri=redirect_uri, client_id=client_id, code_verifier=verifier)
    return post(endpoint(meta, "token_endpoint"), form)


def present_as_text(url):
    say(f"Open this URL in a browser on this machine to sign in:\n  {url}")


def present_in_browser(url):
    if webbrowser.open(url):
        say("Your browser was opened to sign in; waiting for it to come back...")
    else:
        present_as_text(url)


def can_open_browser(env, platform):
    """Whether a browser opened here reaches our 127.0.0.1 listener: a desktop session on
    this machine. Over SSH the browser, if any, runs on the person's own machine."""
    if env.get("SSH_CONNECTION") or env.get("SSH_TTY"):
        return False
    if platform in ("darwin", "win32"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


# --- Storage ----------------------------------------------------------------------------------


def default_store(issuer, client_id, env):
    """One file per (issuer, client id); the name is readable and the hash keeps two issuers
    on one host (different paths) apart."""
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    host = urllib.parse.urlsplit(issuer).netloc
    digest = hashlib.sha256(f"{issuer}\n{client_id}".encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{host}-{client_id}")[:80]
    return os.path.join(base, "doa-login", f"{name}-{digest}.json")


def save(path, creds):
    """Writes the file whole or not at all, readable by its owner only from the start: a
    0600 file of our own (O_EXCL: never one planted there), synced, then renamed over the
    old one. A crash leaves the old file or the new one, never half of one."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    temp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(creds, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    # The rename itself must survive a crash too: a lost rotation means the old refresh
    # token is sent again, which the server takes for theft and revokes the whole family.
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError:
        raise Failed(f"{path} is not a credentials file; delete it and log in again") from None


def forget(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@contextlib.contextmanager
def locked(path):
    """One refresh at a time per file: two `token` runs at once would otherwise both send
    the same refresh token, and the second would look like a stolen one being reused. The
    empty lock file stays: deleting it while a run waits on it would let a third run lock
    a new file beside the waiting one."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def credentials(issuer, client_id, answer, now, scope=None, previous=None):
    """What is stored from a token answer. A refresh answer may leave out the refresh token
    (RFC 6749 §6: the old one stays good) and the scope (§5.1: as asked)."""
    previous = previous or {}
    expires_in = answer.get("expires_in")
    return {
        "issuer": issuer,
        "client_id": client_id,
        "access_token": field(answer, "access_token"),
        "token_type": answer.get("token_type", "Bearer"),
        "expires_at": int(now + int(expires_in)) if expires_in is not None else None,
        "refresh_token": answer.get("refresh_token") or previous.get("refresh_token"),
        "scope": answer.get("scope") or scope or previous.get("scope"),
    }


def fresh(creds, now):
    expires_at = creds.get("expires_at")
    return expires_at is None or expires_at - EXPIRY_MARGIN > now


# --- Commands ---------------------------------------------------------------------------------


def say(line):
    print(line, file=sys.stderr)


def login_hint(issuer, client_id):
    return f"run: {PROG} login --issuer {issuer or 'URL'} --client-id {client_id or 'ID'}"


def choose_flow(args, meta):
    if args.device and not offers_device_flow(meta):
        raise Failed(f"{args.issuer} offers no device authorization; use --loopback")
    if args.device or args.loopback:
        return "device" if args.device else "loopback"
    if not offers_device_flow(meta):
        return "loopback"
    return "loopback" if can_open_browser(os.environ, sys.platform) else "device"


def cmd_login(args, path):
    meta = discover(args.issuer)
    if choose_flow(args, meta) == "device":
        answer = device_login(meta, args.client_id, args.scope)
    else:
        browser = not args.no_browser and can_open_browser(os.environ, sys.platform)
        present = present_in_browser if browser else present_as_text
        answer = loopback_login(meta, args.issuer, args.client_id, args.scope, present)
    creds = credentials(args.issuer, args.client_id, answer, time.time(), args.scope)
    save(path, creds)
    scope = creds["scope"] or "the application's default"
    say(f"Signed in to {args.issuer} as {args.client_id} (scope: {scope}); stored in {path}")


def stored(args, path):
    creds = load(path)
    if creds is None:
        raise Failed(f"not signed in; {login_hint(args.issuer, args.client_id)}")
    if args.issuer and creds.get("issuer") != args.issuer:
        raise Failed(f"{path} holds another issuer's credentials ({creds.get('issuer')})")
    return creds


def cmd_token(args, path):
    with locked(path):
        creds = stored(args, path)
        if not fresh(creds, time.time()):
            creds = refresh(creds, path)
    print(creds["access_token"])


def refresh(creds, path):
    issuer, client_id = creds["issuer"], creds["client_id"]
    if not creds.get("refresh_token"):
        raise Failed(f"the access token has expired; {login_hint(issuer, client_id)}")
    meta = discover(issuer)
    form = {"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]}
    form["client_id"] = client_id
    try:
        answer = post(endpoint(meta, "token_endpoint"), form)
    except OAuthError as refusal:
        if refusal.error != "invalid_grant":
            raise
        # The family is over at the server (revoked, reused, the person disabled, its
        # lifetime past): nothing stored can get a token any more.
        forget(path)
        raise Failed(
            f"your sign-in has ended (the server refused the refresh token: {refusal}); "
            f"{login_hint(issuer, client_id)}"
        ) from None
    # Stored before anything is printed: the old refresh token is spent from now on.
    new = credentials(issuer, client_id, answer, time.time(), previous=creds)
    save(path, new)
    return new


def cmd_logout(args, path):
    creds = load(path)
    if creds is None:
        say("Not signed in; nothing to do.")
        return
    revocation = discover(creds["issuer"]).get("revocation_endpoint")
    if revocation:
        revoke(revocation, creds, path)
    else:
        say("The issuer names no revocation endpoint: the tokens stay valid until they expire.")
    forget(path)
    say(f"Signed out of {creds['issuer']}; {path} deleted.")


def revoke(url, creds, path):
    """RFC 7009. The refresh token first: it is the one that can make new access tokens;
    then the access token, which a server need not revoke with it."""
    for kind in ("refresh_token", "access_token"):
        if not creds.get(kind):
            continue
        form = {"token": creds[kind], "token_type_hint": kind, "client_id": creds["client_id"]}
        try:
            post(url, form)
        except OAuthError as refusal:
            # Kept, so that logout can be tried again: deleting it would leave the tokens
            # valid at the server with no way left to revoke them.
            raise Failed(f"the server refused to revoke ({refusal}); {path} is kept") from None


def cmd_status(args, path):
    creds = stored(args, path)
    expires_at = creds.get("expires_at")
    if expires_at is None:
        expiry = "no expiry given"
    else:
        left = int(expires_at - time.time())
        expiry = f"expires in {left} s" if left > 0 else f"expired {-left} s ago"
    print(f"issuer:        {creds['issuer']}")
    print(f"client id:     {creds['client_id']}")
    print(f"scope:         {creds.get('scope') or '(the default)'}")
    print(f"access token:  {creds.get('token_type', 'Bearer')}, {expiry}")
    print(f"refresh token: {'stored' if creds.get('refresh_token') else 'none'}")
    print(f"file:          {path}")


# --- Command line -----------------------------------------------------------------------------


def parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--issuer", default=os.environ.get("DOA_ISSUER"))
    common.add_argument("--client-id", default=os.environ.get("DOA_CLIENT_ID"))
    common.add_argument("--store", metavar="PATH", help="the credentials file to use")
    top = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = top.add_subparsers(dest="command", required=True)
    login = commands.add_parser("login", parents=[common], help="sign in and store tokens")
    login.add_argument("--scope", help='space-separated scopes, e.g. "repo:read user:read"')
    flow = login.add_mutually_exclusive_group()
    flow.add_argument("--device", action="store_true", help="RFC 8628 device authorization")
    flow.add_argument("--loopback", action="store_true", help="a browser on this machine")
    login.add_argument("--no-browser", action="store_true", help="print the loopback URL")
    commands.add_parser("token", parents=[common], help="print a valid access token")
    commands.add_parser("status", parents=[common], help="what is stored (no token shown)")
    commands.add_parser("logout", parents=[common], help="revoke the tokens and forget them")
    return top


COMMANDS = {"login": cmd_login, "token": cmd_token, "status": cmd_status, "logout": cmd_logout}


def store_path(args, top):
    if args.store:
        return args.store
    if not (args.issuer and args.client_id):
        top.error("--issuer and --client-id (or DOA_ISSUER and DOA_CLIENT_ID, or --store)")
    return default_store(args.issuer, args.client_id, os.environ)


def main(argv=None):
    top = parser()
    args = top.parse_args(argv)
    if args.command == "login" and not (args.issuer and args.client_id):
        top.error("login needs --issuer and --client-id (or DOA_ISSUER and DOA_CLIENT_ID)")
    try:
        COMMANDS[args.command](args, store_path(args, top))
    except OAuthError as refusal:
        say(f"{PROG}: the server refused: {refusal}")
        return 1
    except Failed as failure:
        say(f"{PROG}: {failure}")
        return 1
    except KeyboardInterrupt:
        # Ctrl-C, most often while polling or waiting for the browser: no traceback.
        say(f"{PROG}: interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
