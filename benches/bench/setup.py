"""What a bench run measures against: how many runs of each figure and which binaries
(`Plan`), and a moto of its own with the Quay example provisioned in it (`local_stack`)."""

import contextlib
import os
import signal
import subprocess

import local_moto

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUAY_REDIRECT = "https://my/internal/application/token_created"
AWS = dict(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_REGION="us-east-1",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)


class Plan:
    """The binaries' directory and the number of runs of each kind of figure."""

    def __init__(
        self, bindir, runs, login_runs, warm_runs, authz_runs, dry_run=False, load_seconds=60
    ):
        self.bindir, self.dry_run = bindir, dry_run
        self.runs, self.login_runs = runs, login_runs
        self.warm_runs, self.authz_runs = warm_runs, authz_runs
        # How long each load run of the --aws sections drives its instances.
        self.load_seconds = load_seconds

    @classmethod
    def full(cls):
        """Release binaries; the cold starts and logins can be cut down from the shell."""
        return cls(
            # Another build's binaries (BENCH_BINDIR), to measure it against this one's.
            os.environ.get("BENCH_BINDIR", os.path.join(ROOT, "target", "release")),
            runs=int(os.environ.get("BENCH_COLD_RUNS", "20")),
            login_runs=int(os.environ.get("BENCH_LOGIN_RUNS", "200")),
            warm_runs=30,
            authz_runs=200,
        )

    @classmethod
    def dry(cls):
        """Debug binaries and two runs of everything: checks the bench, not the figures."""
        return cls(os.path.join(ROOT, "target", "debug"), 2, 2, 2, 2, dry_run=True, load_seconds=3)

    def binary(self, name):
        return os.path.join(self.bindir, name)


def function_env(endpoint):
    """The functions' environment, as close to Lambda's as this machine allows; this
    process's boto3 is pointed at moto too."""
    os.environ.update(AWS, AWS_ENDPOINT_URL=endpoint)
    # Lambda sets no certificate-store variables; this machine points SSL_CERT_DIR at a
    # directory that rustls-native-certs would read file by file at start-up.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SSL_CERT_DIR", "SSL_CERT_FILE", "AWS_CA_BUNDLE")
    }
    env["DIRECT_OAUTH_LOG_LEVEL"] = "info"
    return env


def default_tables_env(endpoint):
    """The admin CLI's default table names, whatever the shell names (the 401 medians
    reset the failed-logins record in the default table), and an hour-long whitelist
    cache."""
    env = dict(
        os.environ, **AWS, AWS_ENDPOINT_URL=endpoint, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS="3600"
    )
    for name in [n for n in env if n.startswith("DIRECT_OAUTH_") and n.endswith("_TABLE")]:
        del env[name]
    return env


class Stack:
    """The running moto (`port`), the environment of everything pointed at it (`env`),
    and the admin CLI of the plan's binaries."""

    def __init__(self, bindir, port, env):
        self.bindir, self.port, self.env = bindir, port, env

    def admin(self, *args, stdin=None):
        """Runs direct-oauth-admin; returns its standard output."""
        return subprocess.run(
            [os.path.join(self.bindir, "direct-oauth-admin"), *args],
            env=self.env,
            input=stdin,
            text=True,
            check=True,
            capture_output=True,
        ).stdout


@contextlib.contextmanager
def local_stack(bindir, environment=function_env):
    """moto with the Quay example's user, application and whitelist; yields a Stack whose
    environment is `environment(moto's endpoint)`, and stops moto when done."""
    moto, port = local_moto.start()
    try:
        stack = Stack(bindir, port, environment(f"http://127.0.0.1:{port}"))
        stack.admin("init")
        stack.admin("user", "add", "username", "--password-stdin", stdin="passwordhere\n")
        stack.admin("app", "add", "some_client_id", "--redirect-uri", QUAY_REDIRECT)
        stack.admin("whitelist", "add", "some_client_id")
        yield stack
    finally:
        os.killpg(moto.pid, signal.SIGKILL)
        moto.wait()
