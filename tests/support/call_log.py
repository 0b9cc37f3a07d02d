"""A record of every AWS call a moto server answers: one JSON line per request, appended to
the file MOTO_CALL_LOG names (tests/support/moto_server.py installs it when the variable is set;
scripts/test.sh sets it for the end-to-end run). tests/support/iam_eval.py evaluates the record
against the roles of template.yaml, which moto cannot do: it checks actions, never
resources.

Each line holds facts only; which principal a caller is, and what IAM authorizes for the
call, is the evaluator's business:

- `service`, `op`: the SigV4 credential scope's service and the operation (X-Amz-Target,
  or a query protocol's Action);
- `request`: the fields of the body that name resources or feed condition keys
  (TableName, IndexName, RequestItems' and TransactItems' tables, Name, StackName, ...),
  and for a DynamoDB request on one table `Attributes`, the top-level attribute names it
  names (dynamodb:Attributes: its key, item and expressions' names; never a value);
- `status`, `error`: moto's answer (the error code when it failed), and for a parameter
  read the type of the parameter (`parameter_type`: SecureString implies a KMS call);
- `caller`: the process at the other end of the connection, found through /proc (its
  executable's name, and its arguments when it is one of the project's binaries): a
  function served by `cargo lambda watch` shares one environment file with the other
  function, and the admin CLI the tests' own environment, so only the process tells them
  apart. Through a relay (tests/support/fault_proxy.py, the IAM test's gateway), the one
  binary then connected to the relay, if there is exactly one (`via` names the relay);
- `app`: the `app/NAME` of the AWS SDK's User-Agent (AWS_SDK_UA_APP_ID, which
  tests/support/runtime_api.py sets to the binary's name) and `sdk` (aws-sdk-rust, Boto3, ...):
  relays forward the headers, so these name a binary a relay hides;
- `key`: the access key id of the signature.
"""

import io
import json
import os
import re
import threading
import time
import weakref
from urllib.parse import parse_qs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The project's binaries: their arguments are recorded (the admin CLI's command decides
# whether OperatorPolicy covers it; no password is ever an argument).
BINARIES = ("authorize-app", "token-authorizer", "direct-oauth-admin")
MAX_ARGS = 16

_DYNAMODB_FIELDS = ("TableName", "IndexName", "Select", "ReturnValues", "ReturnConsumedCapacity")
_SSM_FIELDS = ("Name", "Names", "Path", "Type", "KeyId", "WithDecryption", "Overwrite")
_TRANSACT_KINDS = ("Put", "Update", "Delete", "ConditionCheck", "Get")


def credential(authorization):
    """(access key id, region, service) of a SigV4 Authorization header; Nones without."""
    found = re.search(
        r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request", authorization or ""
    )
    return found.groups() if found else (None, None, None)


def sdk_of(user_agent):
    """The SDK a User-Agent names (its first product), and the `app/NAME` it carries."""
    sdk = (user_agent or "").split(" ", 1)[0].split("/", 1)[0] or None
    app = re.search(r"(?:^|\s)app/(\S+)", user_agent or "")
    return sdk, app.group(1) if app else None


# An expression's words that are no attribute's name: DynamoDB reserves them, so an
# attribute of that name is written through a #placeholder. A word followed by "(" is a
# function (attribute_exists, if_not_exists, size, ...).
_EXPRESSION_WORDS = {"set", "remove", "add", "delete", "and", "or", "not", "between", "in"}
_EXPRESSIONS = (
    "UpdateExpression",
    "ConditionExpression",
    "ProjectionExpression",
    "KeyConditionExpression",
    "FilterExpression",
)
# Legacy parameters whose keys (or, for AttributesToGet, items) are attribute names.
_NAMED_BY_KEYS = ("Key", "Item", "AttributeUpdates", "Expected", "KeyConditions")
_NAMED_BY_KEYS += ("QueryFilter", "ScanFilter")


def _expression_names(expression, placeholders):
    """The top-level attribute names an expression names: each path's first element (a
    name after "." or a list index is nested), #placeholders resolved."""
    found = set()
    pattern = r"(\.\s*)?([#:][A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*)(\s*\()?"
    for nested, word, call in re.findall(pattern, expression):
        if nested or call or word.startswith(":") or word.lower() in _EXPRESSION_WORDS:
            continue
        found.add(placeholders.get(word, word) if word.startswith("#") else word)
    return found


def attribute_names(data):
    """What dynamodb:Attributes holds for a request on one table: the top-level attributes
    it names ("Using IAM policy conditions for fine-grained access control" in the
    DynamoDB guide), sorted."""
    names = set()
    for field in _NAMED_BY_KEYS:
        if isinstance(data.get(field), dict):
            names.update(data[field])
    if isinstance(data.get("AttributesToGet"), list):
        names.update(str(a) for a in data["AttributesToGet"])
    placeholders = data.get("ExpressionAttributeNames")
    placeholders = placeholders if isinstance(placeholders, dict) else {}
    for field in _EXPRESSIONS:
        if isinstance(data.get(field), str):
            names |= _expression_names(data[field], placeholders)
    return sorted(names)


def summary(service, body, content_type):
    """The fields of a request body that name resources or feed condition keys."""
    if "json" in (content_type or ""):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return {"unreadable": True}
        if not isinstance(data, dict):
            return {}
        if service == "dynamodb":
            out = {k: data[k] for k in _DYNAMODB_FIELDS if k in data}
            if "TableName" in data:
                out["Attributes"] = attribute_names(data)
            if isinstance(data.get("RequestItems"), dict):
                out["RequestItems"] = sorted(data["RequestItems"])
            if isinstance(data.get("TransactItems"), list):
                out["TransactItems"] = [
                    [kind, (item.get(kind) or {}).get("TableName")]
                    for item in data["TransactItems"]
                    if isinstance(item, dict)
                    for kind in item
                    if kind in _TRANSACT_KINDS
                ]
            return out
        if service == "ssm":
            return {k: data[k] for k in _SSM_FIELDS if k in data}
        return {k: data[k] for k in ("KeyId", "GrantTokens") if k in data}
    form = parse_qs((body or b"").decode("utf-8", "replace"))
    return {k: v[0] for k, v in form.items() if k in ("Action", "StackName")}


def _error_code(status, data, content_type):
    if status < 400:
        return None
    text = data.decode("utf-8", "replace")
    if "json" in (content_type or ""):
        try:
            return str(json.loads(text).get("__type", "")).rpartition("#")[2] or None
        except (ValueError, AttributeError):
            return None
    found = re.search(r"<Code>([^<]+)</Code>", text)
    return found.group(1) if found else None


def _tcp():
    """[(local port, remote address, state, inode)] of /proc/net/tcp (IPv4 loopback: what
    the SDKs reach moto on); [] where there is none."""
    try:
        with open("/proc/net/tcp") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return []
    out = []
    for line in lines:
        # sl local rem st tx:rx tr:when retrnsmt uid timeout inode
        cols = line.split()
        if len(cols) > 9:
            out.append((int(cols[1].split(":")[1], 16), cols[2], cols[3], cols[9]))
    return out


def _sockets(pid):
    """The socket inodes process `pid` holds."""
    found = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            found.add(link[8:-1])
    return found


def _exe(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


class Callers:
    """The process at the other end of a connection to this server, from /proc (Linux):
    the connection's socket inode in /proc/net/tcp, then the process holding it. Kept per
    connection: the SDKs keep theirs open for many requests.

    A relay (a Python process: the tests' fault proxies, the IAM test's gateway) opens a
    connection of its own for each request it forwards. Behind it is the project's binary
    connected to one of the relay's listening ports while the request is under way; when
    exactly one binary is, it is the caller (`via` names the relay), else none is named."""

    def __init__(self):
        self.by_connection = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()

    def of(self, environ):
        connection = environ.get("werkzeug.socket")
        with self.lock:
            known = self.by_connection.get(connection) if connection is not None else None
        if known is not None:
            return known
        found = self.find(
            environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT"), environ.get("SERVER_PORT")
        )
        if connection is not None and found is not None and "via" not in found:
            with self.lock:
                self.by_connection[connection] = found
        return found

    @staticmethod
    def _describe(pid):
        exe = _exe(pid)
        if exe is None:
            return None
        described = {"pid": int(pid), "exe": exe}
        if exe in BINARIES:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")[1:-1]
                described["argv"] = [a.decode("utf-8", "replace") for a in args[:MAX_ARGS]]
            except OSError:
                pass
        return described

    def find(self, remote_addr, remote_port, server_port):
        if remote_addr != "127.0.0.1" or not remote_port or not server_port:
            return None
        table = _tcp()
        peer = f"0100007F:{int(server_port):04X}"
        inode = next(
            (i for port, remote, _, i in table if port == int(remote_port) and remote == peer), None
        )
        if inode in (None, "0"):
            return None
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        # The project's binaries first: their few descriptors are quickly read.
        binaries = [p for p in pids if _exe(p) in BINARIES]
        for pid in binaries + [p for p in pids if p not in binaries]:
            if inode in _sockets(pid):
                found = self._describe(pid)
                if found is None or found["exe"] in BINARIES:
                    return found
                return self._behind(pid, found, table, binaries) or found
        return None

    def _behind(self, relay, described, table, binaries):
        mine = _sockets(relay)
        listening = {
            f"0100007F:{port:04X}" for port, _, state, i in table if state == "0A" and i in mine
        }
        connected = {i for _, remote, state, i in table if state == "01" and remote in listening}
        if not connected:
            return None
        found = [self._describe(p) for p in binaries if _sockets(p) & connected]
        kinds = {(f["exe"], tuple(f.get("argv") or ())) for f in found if f}
        if len(kinds) != 1:
            return None
        behind = dict(found[0])
        behind["via"] = described["exe"]
        return behind


class CallLog:
    """WSGI middleware around moto's application: each AWS request, one line in `path`."""

    def __init__(self, app, path):
        self.app, self.path = app, path
        self.callers = Callers()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.pid = os.getpid()

    def __call__(self, environ, start_response):
        key, region, service = credential(environ.get("HTTP_AUTHORIZATION"))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if service is None and not target:
            return self.app(environ, start_response)  # moto's own API, a browser, ...
        body = self._body(environ)
        content_type = environ.get("CONTENT_TYPE", "")
        request = summary(service, body, content_type)
        op = target.rpartition(".")[2] if target else request.pop("Action", None)
        request.pop("Action", None)
        sdk, app = sdk_of(environ.get("HTTP_X_AMZ_USER_AGENT") or environ.get("HTTP_USER_AGENT"))
        if app is None:
            app = sdk_of(environ.get("HTTP_USER_AGENT"))[1]
        # Only a Rust SDK's caller is looked for: the tests' own boto3 is no principal, and
        # a binary started by tests/support/runtime_api.py names itself (app/NAME).
        caller = self.callers.of(environ) if sdk == "aws-sdk-rust" and app is None else None
        answer = {}

        def recording_start_response(status, headers, exc_info=None):
            answer["status"] = int(status.split(" ", 1)[0])
            answer["type"] = dict((k.lower(), v) for k, v in headers).get("content-type", "")
            return start_response(status, headers, exc_info)

        result = self.app(environ, recording_start_response)
        try:
            chunks = list(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        data = b"".join(chunks)
        status = answer.get("status", 0)
        line = {
            "t": round(time.time(), 3),
            "moto": {"pid": self.pid, "port": environ.get("SERVER_PORT")},
            "service": service,
            "op": op,
            "region": region,
            "key": key,
            "sdk": sdk,
            "app": app,
            "caller": caller,
            "request": request,
            "status": status,
            "error": _error_code(status, data, answer.get("type")),
        }
        if service == "ssm" and op in ("GetParameter", "GetParameters") and status == 200:
            try:
                answered = json.loads(data)
                found = (
                    [answered["Parameter"]]
                    if "Parameter" in answered
                    else answered.get("Parameters", [])
                )
                line["parameter_type"] = sorted({p.get("Type") for p in found})
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
        os.write(self.fd, (json.dumps(line, separators=(",", ":")) + "\n").encode())
        return chunks

    @staticmethod
    def _body(environ):
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        length = environ.get("CONTENT_LENGTH")
        if length and length.isdigit():
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            return b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body


def install(server_module):
    """Wraps the application moto's server.main() serves, when MOTO_CALL_LOG is set."""
    path = os.environ.get("MOTO_CALL_LOG")
    if not path:
        return
    serve = server_module.run_simple

    def run_simple(host, port, app, **kwargs):
        return serve(host, port, CallLog(app, path), **kwargs)

    server_module.run_simple = run_simple
