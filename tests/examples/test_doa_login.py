"""examples/doa_login.py's own logic, without an authorization server: its one HTTP function
(http_json) is replaced by a scripted issuer, and its clock by one that moves only when the
tool sleeps. The loopback listener is the tool's own, on 127.0.0.1."""

import base64
import hashlib
import importlib.util
import json
import os
import stat
import string
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = importlib.util.spec_from_file_location("doa_login", f"{ROOT}/examples/doa_login.py")
doa = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(doa)

ISSUER = "https://auth.example/prod"
WELL_KNOWN = "https://auth.example/.well-known/oauth-authorization-server/prod"
TOKEN_URL = f"{ISSUER}/oauth/access_token"
DEVICE_URL = f"{ISSUER}/oauth/device"
REVOKE_URL = f"{ISSUER}/oauth/revoke"
META = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/oauth/authorize",
    "token_endpoint": TOKEN_URL,
    "device_authorization_endpoint": DEVICE_URL,
    "revocation_endpoint": REVOKE_URL,
    "grant_types_supported": ["authorization_code", "refresh_token", doa.DEVICE_GRANT],
    "authorization_response_iss_parameter_supported": True,
}
DEVICE_GRANT_ANSWER = {
    "device_code": "secret-device-code",
    "user_code": "WDJB-MJHT",
    "verification_uri": f"{ISSUER}/oauth/device/verify",
    "verification_uri_complete": f"{ISSUER}/oauth/device/verify?user_code=WDJB-MJHT",
    "expires_in": 600,
    "interval": 5,
}
# Every secret the scripted issuer hands out: none may ever reach stderr.
SECRETS = ["secret-device-code", "at-1", "rt-1", "at-2", "rt-2"]


def tokens(n, expires_in=3600):
    return {
        "access_token": f"at-{n}",
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": f"rt-{n}",
        "scope": "repo:read",
    }


def refused(error, status=400):
    return status, {"error": error, "error_description": f"the server says {error}"}


class Issuer:
    """Answers each URL from its own queue of (status, body); the last answer stays."""

    def __init__(self):
        self.queues = {WELL_KNOWN: [(200, META)]}
        self.requests = []

    def script(self, url, *answers):
        self.queues[url] = [a if isinstance(a, tuple) else (200, a) for a in answers]

    def forms(self, url):
        return [form for _, u, form in self.requests if u == url]

    def __call__(self, method, url, form=None):
        self.requests.append((method, url, form))
        queue = self.queues.get(url) or [(404, {})]
        return queue.pop(0) if len(queue) > 1 else queue[0]


class Clock:
    """Stands in for the module's `time`: the tool's sleeps move it, nothing else does."""

    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self):
        return self.now

    def time(self):
        return 1_700_000_000 + self.now


@pytest.fixture
def issuer(monkeypatch):
    fake = Issuer()
    monkeypatch.setattr(doa, "http_json", fake)
    return fake


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(doa, "time", fake)
    return fake


@pytest.fixture
def store(tmp_path):
    return str(tmp_path / "config" / "doa-login" / "creds.json")


def run(*argv):
    return doa.main(list(argv))


def saved(path, **overrides):
    creds = {
        "issuer": ISSUER,
        "client_id": "cli",
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_at": None,
        "refresh_token": "rt-1",
        "scope": "repo:read",
    }
    doa.save(path, {**creds, **overrides})


# --- PKCE ---------------------------------------------------------------------------------


def test_the_pkce_pair_is_a_fresh_verifier_and_its_s256_challenge():
    verifier, challenge = doa.pkce_pair()
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set(string.ascii_letters + string.digits + "-._~")
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert doa.pkce_pair()[0] != verifier


def test_the_challenge_is_rfc_7636_s_example():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    challenge = doa.b64url(hashlib.sha256(verifier.encode()).digest())
    assert challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


# --- Discovery ----------------------------------------------------------------------------


def test_discovery_tries_rfc_8414_s_location_then_the_issuer_s_own_path(issuer):
    issuer.script(WELL_KNOWN, (404, {}))
    issuer.script(f"{ISSUER}/.well-known/oauth-authorization-server", META)
    assert doa.discover(ISSUER) == META
    assert [url for _, url, _ in issuer.requests] == [
        WELL_KNOWN,
        f"{ISSUER}/.well-known/oauth-authorization-server",
    ]
    assert doa.metadata_urls("https://auth.example") == [
        "https://auth.example/.well-known/oauth-authorization-server"
    ]


def test_metadata_naming_another_issuer_is_refused(issuer):
    issuer.script(WELL_KNOWN, {**META, "issuer": "https://evil.example/prod"})
    with pytest.raises(doa.Failed, match="another issuer"):
        doa.discover(ISSUER)


@pytest.mark.parametrize(
    "url",
    ["http://auth.example/prod", "ftp://auth.example", "https://auth.example/?a=b", "https://"],
)
def test_an_issuer_off_tls_and_off_this_machine_is_refused(url):
    with pytest.raises(doa.Failed, match="https"):
        doa.check_issuer(url)


def test_a_local_stack_over_http_is_an_issuer():
    doa.check_issuer("http://127.0.0.1:9000/lambda-url/authorize-app")


# --- Device authorization (RFC 8628) ------------------------------------------------------


def test_the_device_flow_shows_the_code_and_polls_until_approved(issuer, clock, capsys):
    issuer.script(DEVICE_URL, DEVICE_GRANT_ANSWER)
    issuer.script(TOKEN_URL, refused("authorization_pending"), tokens(1))
    assert doa.device_login(META, "cli", "repo:read user:read") == tokens(1)
    assert issuer.forms(DEVICE_URL) == [{"client_id": "cli", "scope": "repo:read user:read"}]
    grant = {"grant_type": doa.DEVICE_GRANT, "device_code": "secret-device-code"}
    assert issuer.forms(TOKEN_URL) == [{**grant, "client_id": "cli"}] * 2
    assert clock.sleeps == [5, 5]
    err = capsys.readouterr().err
    assert f"Open {ISSUER}/oauth/device/verify and enter the code WDJB-MJHT" in err
    assert DEVICE_GRANT_ANSWER["verification_uri_complete"] in err
    assert "secret-device-code" not in err


def test_slow_down_adds_five_seconds_to_this_and_every_later_poll(issuer, clock):
    issuer.script(DEVICE_URL, {**DEVICE_GRANT_ANSWER, "interval": 2})
    issuer.script(
        TOKEN_URL,
        refused("authorization_pending"),
        refused("slow_down"),
        refused("authorization_pending"),
        refused("slow_down"),
        refused("authorization_pending"),
        tokens(1),
    )
    assert doa.device_login(META, "cli", None) == tokens(1)
    assert clock.sleeps == [2, 2, 7, 7, 12, 12]
    assert issuer.forms(DEVICE_URL) == [{"client_id": "cli"}]


def test_without_an_interval_the_poll_waits_five_seconds(issuer, clock):
    grant = {k: v for k, v in DEVICE_GRANT_ANSWER.items() if k != "interval"}
    issuer.script(DEVICE_URL, grant)
    issuer.script(TOKEN_URL, tokens(1))
    doa.device_login(META, "cli", None)
    assert clock.sleeps == [5]


@pytest.mark.parametrize(
    "error, said",
    [("access_denied", "declined"), ("expired_token", "expired"), ("invalid_client", "refused")],
)
def test_a_final_refusal_stops_the_polling(issuer, clock, error, said):
    issuer.script(DEVICE_URL, DEVICE_GRANT_ANSWER)
    issuer.script(TOKEN_URL, refused("authorization_pending"), refused(error), tokens(1))
    with pytest.raises(doa.Failed, match=said):
        doa.device_login(META, "cli", None)
    assert len(issuer.forms(TOKEN_URL)) == 2


def test_the_polling_stops_when_the_code_s_lifetime_is_over(issuer, clock):
    issuer.script(DEVICE_URL, {**DEVICE_GRANT_ANSWER, "expires_in": 12})
    issuer.script(TOKEN_URL, refused("authorization_pending"))
    with pytest.raises(doa.Failed, match="expired"):
        doa.device_login(META, "cli", None)
    # Polled at 5 s and 10 s; at 15 s the code is over, and the tool asks no more.
    assert len(issuer.forms(TOKEN_URL)) == 2


def test_a_declined_device_login_exits_1_and_stores_nothing(issuer, clock, store, capsys):
    issuer.script(DEVICE_URL, DEVICE_GRANT_ANSWER)
    issuer.script(TOKEN_URL, refused("access_denied"))
    assert run("login", "--issuer", ISSUER, "--client-id", "cli", "--device", "--store", store) == 1
    assert not os.path.exists(store)
    assert "declined" in capsys.readouterr().err


# --- The loopback redirect (RFC 8252 §7.3) ----------------------------------------------------


def test_the_authorization_url_carries_pkce_state_and_the_loopback_uri():
    url = doa.authorization_url(META, "cli", "http://127.0.0.1:5000/callback", "a b", "st", "ch")
    base, query = url.split("?")
    assert base == META["authorization_endpoint"]
    assert dict(urllib.parse.parse_qsl(query)) == {
        "response_type": "code",
        "client_id": "cli",
        "redirect_uri": "http://127.0.0.1:5000/callback",
        "scope": "a b",
        "state": "st",
        "code_challenge": "ch",
        "code_challenge_method": "S256",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/favicon.ico?state=s1",
        "/callback?code=c&state=other",
        "/callback?code=c",
        "/callback?code=c&state=s1&state=s1",
        "/callback/?code=c&state=s1",
    ],
)
def test_only_our_callback_with_our_state_is_an_answer(path):
    assert doa.callback_params(path, "s1") is None


def test_our_callback_s_parameters():
    params = doa.callback_params(f"/callback?code=c&state=s1&iss={ISSUER}", "s1")
    assert params == {"code": "c", "state": "s1", "iss": ISSUER}
    assert doa.callback_code(params, ISSUER, META) == "c"


@pytest.mark.parametrize(
    "params, said",
    [
        ({"code": "c", "iss": "https://evil.example"}, "another issuer"),
        ({"code": "c"}, "names no issuer"),
        ({"error": "access_denied", "iss": ISSUER}, "access_denied"),
        ({"iss": ISSUER}, "without a code"),
    ],
)
def test_a_callback_without_a_code_for_us_fails(params, said):
    with pytest.raises(doa.Failed, match=said):
        doa.callback_code(params, ISSUER, META)


def test_without_the_server_s_promise_a_missing_iss_is_accepted():
    meta = {**META, "authorization_response_iss_parameter_supported": False}
    assert doa.callback_code({"code": "c"}, ISSUER, meta) == "c"


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_loopback_flow_takes_one_right_callback_and_exchanges_its_code(issuer):
    issuer.script(TOKEN_URL, tokens(1))
    seen, threads = {}, []

    def visits(url):
        # Another page's guess and a favicon reach the listener first, then the real answer.
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        back = f"{query['redirect_uri']}?code=the-code&iss={ISSUER}"
        seen.update(query=query, intruder=get(f"{back}&state=guessed"))
        seen["favicon"] = get(query["redirect_uri"].replace("/callback", "/favicon.ico"))
        seen["answer"] = get(f"{back}&state={query['state']}")

    def browser(url):
        # As webbrowser.open, it returns at once and the browser goes on by itself.
        threads.append(threading.Thread(target=visits, args=(url,)))
        threads[0].start()

    assert doa.loopback_login(META, ISSUER, "cli", "repo:read", present=browser) == tokens(1)
    threads[0].join()
    assert seen["intruder"][0] == 404 and seen["favicon"][0] == 404
    assert seen["answer"][0] == 200 and "You can close this window" in seen["answer"][1]
    query = seen["query"]
    assert query["redirect_uri"].startswith("http://127.0.0.1:")
    [form] = issuer.forms(TOKEN_URL)
    assert form["grant_type"] == "authorization_code" and form["code"] == "the-code"
    assert form["redirect_uri"] == query["redirect_uri"] and form["client_id"] == "cli"
    verifier_hash = doa.b64url(hashlib.sha256(form["code_verifier"].encode()).digest())
    assert verifier_hash == query["code_challenge"]
    with pytest.raises(urllib.error.URLError):
        get(query["redirect_uri"])  # the listener is gone once answered


def test_the_loopback_flow_gives_up_when_the_browser_never_comes_back(issuer):
    with pytest.raises(doa.Failed, match="did not come back"):
        doa.loopback_login(META, ISSUER, "cli", None, present=lambda url: None, wait=0.2)
    assert issuer.forms(TOKEN_URL) == []


@pytest.mark.parametrize(
    "env, platform, can",
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({}, "darwin", True),
        ({}, "linux", False),
        ({"DISPLAY": ":0", "SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}, "linux", False),
        ({"SSH_TTY": "/dev/pts/1"}, "darwin", False),
    ],
)
def test_a_browser_is_opened_only_in_a_desktop_session_on_this_machine(env, platform, can):
    assert doa.can_open_browser(env, platform) is can


def test_the_flow_is_device_without_a_browser_and_loopback_without_device(monkeypatch):
    monkeypatch.setattr(doa, "can_open_browser", lambda env, platform: False)
    args = doa.parser().parse_args(["login", "--issuer", ISSUER, "--client-id", "cli"])
    assert doa.choose_flow(args, META) == "device"
    no_device = {k: v for k, v in META.items() if k != "device_authorization_endpoint"}
    assert doa.choose_flow(args, no_device) == "loopback"
    args.device = True
    with pytest.raises(doa.Failed, match="no device authorization"):
        doa.choose_flow(args, no_device)


# --- Storage -------------------------------------------------------------------------------


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_file_is_0600_from_its_first_byte_in_a_0700_folder(store, monkeypatch):
    real_open, real_replace, opened = os.open, os.replace, []

    def spy_open(path, flags, *args):
        opened.append((os.path.basename(path), flags, args))
        return real_open(path, flags, *args)

    def spy_replace(src, dst):
        # The moment before the rename: the temp file is whole and only its owner's.
        assert mode(src) == 0o600
        with open(src) as f:
            assert json.load(f)["refresh_token"] == "rt-1"
        real_replace(src, dst)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "replace", spy_replace)
    old_umask = os.umask(0)  # the modes must not depend on a careful umask
    try:
        saved(store)
    finally:
        os.umask(old_umask)
    _, flags, args = next(o for o in opened if o[0].endswith(".tmp"))
    want = os.O_CREAT | os.O_EXCL | os.O_WRONLY
    assert flags & want == want and args == (0o600,)
    assert mode(store) == 0o600 and mode(os.path.dirname(store)) == 0o700
    assert os.listdir(os.path.dirname(store)) == ["creds.json"]


def test_a_failed_write_leaves_the_old_file_whole_and_no_temp_file(store, monkeypatch):
    saved(store)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", disk_full)
    with pytest.raises(OSError):
        saved(store, refresh_token="rt-2")
    monkeypatch.undo()
    assert doa.load(store)["refresh_token"] == "rt-1"
    assert os.listdir(os.path.dirname(store)) == ["creds.json"]


def test_each_issuer_and_client_has_its_own_file_under_xdg_config_home():
    env = {"XDG_CONFIG_HOME": "/cfg"}
    one = doa.default_store(ISSUER, "cli", env)
    assert one.startswith("/cfg/doa-login/auth.example-cli-") and one.endswith(".json")
    assert one == doa.default_store(ISSUER, "cli", env)
    assert one != doa.default_store("https://auth.example/other", "cli", env)
    assert one != doa.default_store(ISSUER, "cli2", env)
    home = doa.default_store(ISSUER, "cli", {})
    assert home.startswith(os.path.expanduser("~/.config/doa-login/"))


def test_login_stores_what_the_token_endpoint_answered(issuer, clock, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    issuer.script(DEVICE_URL, DEVICE_GRANT_ANSWER)
    issuer.script(TOKEN_URL, tokens(1))
    argv = ["--issuer", ISSUER, "--client-id", "cli"]
    assert run("login", *argv, "--device", "--scope", "repo:read") == 0
    path = doa.default_store(ISSUER, "cli", os.environ)
    assert doa.load(path) == {
        "issuer": ISSUER,
        "client_id": "cli",
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_at": clock.time() + 3600,
        "refresh_token": "rt-1",
        "scope": "repo:read",
    }


# --- token: refresh and rotation ----------------------------------------------------------


def test_a_fresh_token_is_printed_without_asking_the_server(issuer, clock, store, capsys):
    saved(store, expires_at=clock.time() + 31)
    assert run("token", "--store", store) == 0
    assert capsys.readouterr().out == "at-1\n"
    assert issuer.requests == []


def test_a_token_expiring_within_30_s_is_refreshed_and_the_new_one_stored_first(
    issuer, clock, store, capsys, monkeypatch
):
    saved(store, expires_at=clock.time() + 30)
    issuer.script(TOKEN_URL, tokens(2))
    real_save = doa.save

    def save_before_printing(path, creds):
        assert capsys.readouterr().out == ""
        real_save(path, creds)

    monkeypatch.setattr(doa, "save", save_before_printing)
    assert run("token", "--issuer", ISSUER, "--store", store) == 0
    assert capsys.readouterr().out == "at-2\n"
    assert issuer.forms(TOKEN_URL) == [
        {"grant_type": "refresh_token", "refresh_token": "rt-1", "client_id": "cli"}
    ]
    creds = doa.load(store)
    assert creds["refresh_token"] == "rt-2" and creds["access_token"] == "at-2"
    assert creds["expires_at"] == clock.time() + 3600


def test_a_refresh_answer_without_a_refresh_token_keeps_the_old_one(issuer, clock, store):
    saved(store, expires_at=clock.time() - 1)
    answer = {k: v for k, v in tokens(2).items() if k not in ("refresh_token", "scope")}
    issuer.script(TOKEN_URL, answer)
    assert run("token", "--store", store) == 0
    creds = doa.load(store)
    assert creds["refresh_token"] == "rt-1" and creds["scope"] == "repo:read"


def test_a_refused_refresh_token_deletes_the_store_and_says_to_log_in(issuer, clock, store, capsys):
    saved(store, expires_at=clock.time() - 1)
    issuer.script(TOKEN_URL, refused("invalid_grant"))
    assert run("token", "--store", store) == 1
    out, err = capsys.readouterr()
    assert out == "" and not os.path.exists(store)
    assert err.count("\n") == 1
    assert "invalid_grant" in err
    assert f"run: doa_login.py login --issuer {ISSUER} --client-id cli" in err
    assert not any(secret in err for secret in SECRETS)


def test_another_refusal_keeps_the_store_and_shows_only_the_server_s_error(
    issuer, clock, store, capsys
):
    saved(store, expires_at=clock.time() - 1)
    issuer.script(TOKEN_URL, refused("temporarily_unavailable", 503))
    assert run("token", "--store", store) == 1
    out, err = capsys.readouterr()
    assert out == "" and doa.load(store)["refresh_token"] == "rt-1"
    assert err == (
        "doa_login.py: the server refused: temporarily_unavailable: "
        "the server says temporarily_unavailable\n"
    )


def test_an_answer_that_is_not_oauth_s_names_its_status_only(issuer, clock, store, capsys):
    saved(store, expires_at=clock.time() - 1)
    issuer.script(TOKEN_URL, (502, {}))
    assert run("token", "--store", store) == 1
    assert capsys.readouterr().err == "doa_login.py: the server refused: HTTP 502\n"


def test_token_without_a_login_says_how_to_log_in(issuer, store, capsys):
    assert run("token", "--issuer", ISSUER, "--client-id", "cli", "--store", store) == 1
    err = capsys.readouterr().err
    assert f"not signed in; run: doa_login.py login --issuer {ISSUER} --client-id cli" in err


# --- logout, status, and secrets ----------------------------------------------------------


def test_logout_revokes_the_refresh_token_then_the_access_token_then_forgets(issuer, store):
    saved(store)
    issuer.script(REVOKE_URL, (200, {}))
    assert run("logout", "--store", store) == 0
    assert issuer.forms(REVOKE_URL) == [
        {"token": "rt-1", "token_type_hint": "refresh_token", "client_id": "cli"},
        {"token": "at-1", "token_type_hint": "access_token", "client_id": "cli"},
    ]
    assert not os.path.exists(store)


def test_a_refused_revocation_keeps_the_file_to_try_again(issuer, store, capsys):
    saved(store)
    issuer.script(REVOKE_URL, refused("temporarily_unavailable", 503))
    assert run("logout", "--store", store) == 1
    assert os.path.exists(store)
    assert "is kept" in capsys.readouterr().err


def test_no_command_prints_a_secret_but_token_on_its_stdout(issuer, clock, store, capsys):
    issuer.script(DEVICE_URL, DEVICE_GRANT_ANSWER)
    issuer.script(TOKEN_URL, refused("slow_down"), tokens(1), tokens(2))
    issuer.script(REVOKE_URL, (200, {}))
    argv = ["--issuer", ISSUER, "--client-id", "cli", "--store", store]
    assert run("login", *argv, "--device") == 0
    assert run("status", *argv) == 0
    login_and_status = capsys.readouterr()
    clock.now += 3600  # the access token has expired: `token` refreshes
    assert run("token", *argv) == 0
    token = capsys.readouterr()
    assert token.out == "at-2\n"
    assert run("logout", *argv) == 0
    logout = capsys.readouterr()
    printed = login_and_status.out + login_and_status.err + token.err + logout.out + logout.err
    assert not any(secret in printed for secret in SECRETS), printed
    assert "refresh token: stored" in login_and_status.out
