#!/usr/bin/env python3
"""request_seeds.py - write the seeds of tests/fuzz/fuzz_request.c into
tests/fuzz/corpus/fuzz_request/: requests signed as field signs them
(sync/protocol.h), each laid out as the harness reads its input:

    DEVICE NUL TIME NUL SIGNATURE NUL QUERY NUL BODY

The pushed versions are those of the bundle seed written by the real
`field bundle export` (corpus/fuzz_bundle/two.json). The request key is
made from a fixed seed and the time is fixed, so that the files come out
the same every time. Needs python3-cryptography (scripts/deps.sh).

    python3 tests/fuzz/request_seeds.py
"""
import gzip
import hashlib
import json
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "fuzz_request")
TIME = 1764288000000
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(40, 72)))
DEVICE = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def signed(query, body):
    """The harness's request for query and body, signed: its method and
    path follow the rule written at the top of fuzz_request.c."""
    method = "POST" if body else "GET"
    target = "/v1/thresholds?" + query if query else "/v1/sync"
    msg = "field-request-v1\n%s\n%s\n%d\n%s" % (
        method, target, TIME, hashlib.blake2b(body, digest_size=32).hexdigest())
    sig = KEY.sign(msg.encode()).hex()
    return b"\0".join([DEVICE.encode(), str(TIME).encode(), sig.encode(),
                       query.encode(), body])


def message(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def main():
    with open(os.path.join(HERE, "corpus", "fuzz_bundle", "two.json"),
              encoding="utf-8") as f:
        pushed = json.load(f)["versions"]
    push = message({"cursor": None, "limit": 100, "push": pushed})
    seeds = {
        "sync-push": signed("", push),
        "sync-push-gzip": signed("", gzip.compress(push, mtime=0)),
        "sync-cursor": signed("", message({
            "cursor": "1.0123456789abcdef.fedcba9876543210.42.7",
            "limit": 50, "push": []})),
        "enroll": signed("", message({"code": "HT-4201-7Q",
                                      "public_key": DEVICE})),
        "thresholds-after": signed("after=12", b""),
        "export-query": signed(
            "format=csv&unit=H%C3%A0%20T%C4%A9nh&lang=vi&status=final", b""),
        "unsigned": b"\0\0\0\0{}",
    }
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
