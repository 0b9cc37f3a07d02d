#!/usr/bin/env python3
"""Prints a DPoP proof (RFC 9449) for one request, signed with the client's key.

    dpop_proof.py KEYFILE METHOD URL [ACCESS_TOKEN]

KEYFILE holds the client's private key as a JWK; it is made (P-256) when missing and never
leaves the client. With ACCESS_TOKEN, the proof is for presenting that token at an API
(`ath`). A server that asks for a nonce (`use_dpop_nonce`) names it in `DPoP-Nonce`: pass it
in DPOP_NONCE. Needs joserfc (`pip install joserfc`).
"""

import base64
import hashlib
import json
import os
import sys
import time
import uuid

from joserfc import jwk, jws


def load_key(path):
    if not os.path.exists(path):
        key = jwk.ECKey.generate_key("P-256")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            json.dump(key.as_dict(private=True), f)
    with open(path) as f:
        return jwk.ECKey.import_key(json.load(f))


def proof(key, method, url, token=None, nonce=None):
    claims = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
    if token:
        digest = hashlib.sha256(token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    if nonce:
        claims["nonce"] = nonce
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(claims), key)


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    keyfile, method, url, *token = sys.argv[1:]
    print(
        proof(
            load_key(keyfile),
            method,
            url,
            token[0] if token else None,
            os.environ.get("DPOP_NONCE"),
        )
    )
