#!/usr/bin/env python3
"""A TLS terminator on 127.0.0.1 in front of moto, with a throw-away CA, so that `make bench`
can time cold starts that pay TLS handshakes as they do on AWS.

The CA and the server certificate (for `localhost` and 127.0.0.1) are made afresh in a
temporary directory at each start and never leave it. The function trusts the CA through
`SSL_CERT_FILE`, which the SDK's default HTTPS client (rustls with the platform's roots,
read by rustls-native-certs) honours, so nothing in the function changes for the bench.

    with TlsTerminator("127.0.0.1", moto_port) as tls:
        env = dict(env, AWS_ENDPOINT_URL=tls.url, SSL_CERT_FILE=tls.ca_file)
"""

import datetime
import http.server
import ipaddress
import os
import ssl
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from http_relay import KeptAliveHandler, answer, forward


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def make_certificates(directory):
    """A CA and a server certificate it signed; returns (ca.pem, server.pem, server.key)."""
    now = datetime.datetime.now(datetime.UTC)
    valid = dict(
        not_valid_before=now - datetime.timedelta(minutes=5),
        not_valid_after=now + datetime.timedelta(days=1),
    )
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder(**valid)
        .subject_name(_name("direct-oauth bench CA"))
        .issuer_name(_name("direct-oauth bench CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder(**valid)
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = [os.path.join(directory, n) for n in ("ca.pem", "server.pem", "server.key")]
    with open(paths[0], "wb") as f:
        f.write(_pem(ca))
    with open(paths[1], "wb") as f:
        f.write(_pem(server))
    with open(paths[2], "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return paths


class TlsTerminator:
    """Accepts HTTPS on an ephemeral port of 127.0.0.1 and forwards each request to
    `upstream_host:upstream_port` over plain HTTP. Client connections are kept alive, as
    AWS's endpoints keep them (moto's server closes each one), so `handshakes`, the TLS
    connections accepted, is what the function would open on AWS."""

    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self._dir = tempfile.TemporaryDirectory(prefix="direct-oauth-tls-")
        self.ca_file, cert, key = make_certificates(self._dir.name)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.handshakes = 0
        self._lock = threading.Lock()
        terminator = self

        # TCP_NODELAY (KeptAliveHandler): without it the client's delayed ACK held each
        # answer's body 40 ms, which is this relay's cost, not TLS's.
        class Handler(KeptAliveHandler):
            def setup(self):
                # The handshake runs here, on this connection's thread, not in accept().
                self.request.do_handshake()
                with terminator._lock:
                    terminator.handshakes += 1
                super().setup()

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer(
                    self, *forward(terminator.upstream, self.command, self.path, self.headers, body)
                )

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client gone mid-connection

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        self.url = f"https://localhost:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()
