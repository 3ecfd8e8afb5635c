#!/usr/bin/env python3
"""An independent reader of ferry format v1, written from docs/FORMAT.md alone (PyNaCl + stdlib).

Usage: scripts/read-vector.py [fixtures/vectors/v1]
Verifies the bundle and the ack of the test vector and prints the decrypted change stream;
exits non-zero if anything does not match the document. (Debian: apt-get install python3-nacl)
"""
import base64, hashlib, json, sys, zipfile, zlib
from nacl.bindings import crypto_scalarmult, crypto_secretbox_open, crypto_sign_seed_keypair
from nacl.signing import VerifyKey

def crypto_sign_verify_detached(sig, msg, pk):
    VerifyKey(pk).verify(msg, sig)  # raises BadSignatureError

d = sys.argv[1] if len(sys.argv) > 1 else "fixtures/vectors/v1"
keys = json.load(open(f"{d}/keys.json"))
b64 = base64.b64decode

def canonical(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

def entries(path, names):
    z = zipfile.ZipFile(path)
    infos = z.infolist()
    assert sorted(i.filename for i in infos) == sorted(names), "unexpected or missing entries"
    for i in infos:
        assert i.compress_type == 0 and i.file_size == i.compress_size, "entries are stored"
    return {i.filename: z.read(i) for i in infos}

# Bundle: container, manifest, signature, recipient, hash, then decryption.
e = entries(f"{d}/bundle.ferry-bundle", ["manifest.json", "manifest.sig", "payload.bin"])
mbytes, sig, payload = e["manifest.json"], e["manifest.sig"], e["payload.bin"]
m = json.loads(mbytes)
assert m["format"] == "ferry-bundle" and m["version"] == 1
assert canonical(m) == mbytes, "manifest is canonical"
sender_pub = b64(keys["sender"]["ed25519_public"])
crypto_sign_verify_detached(sig, b"ferry/v1/bundle-manifest\n" + mbytes, sender_pub)
assert m["recipient"] == keys["recipient"]["id"]
assert hashlib.sha256(payload).hexdigest() == m["payload"]["sha256"]
assert len(payload) == m["payload"]["ciphertext_bytes"]

r_secret, R = b64(keys["recipient"]["x25519_secret"]), b64(keys["recipient"]["x25519_public"])
E = b64(m["payload"]["ephemeral_key"])
shared = crypto_scalarmult(r_secret, E)
assert shared != bytes(32)
key = hashlib.sha256(b"ferry/v1/payload-key" + shared + E + R).digest()
L, S = len(payload), 65552
n = max(1, -(-L // S))
plain = b""
for i in range(n):
    chunk = payload[i * S:(i + 1) * S]
    nonce = bytes(15) + i.to_bytes(8, "big") + (b"\x01" if i == n - 1 else b"\x00")
    plain += crypto_secretbox_open(chunk, nonce, key)
assert len(plain) == m["payload"]["plaintext_bytes"]
stream = zlib.decompress(plain)
assert len(stream) == m["payload"]["stream_bytes"]
expected = open(f"{d}/changes.jsonl", "rb").read()
assert stream == expected, "the change stream matches changes.jsonl"
records = [json.loads(l) for l in stream.decode().splitlines()]
assert sum(1 for r in records if r["kind"] == "change") == m["changes"]

# Ack: container, canonical form, the hub's signature.
a = entries(f"{d}/ack.ferry-ack", ["ack.json", "ack.sig"])
ack = json.loads(a["ack.json"])
assert canonical(ack) == a["ack.json"] and ack["format"] == "ferry-ack" and ack["version"] == 1
hub_pub = b64(keys["recipient"]["ed25519_public"])
crypto_sign_verify_detached(a["ack.sig"], b"ferry/v1/ack\n" + a["ack.json"], hub_pub)
assert ack["bundle_id"] == m["bundle_id"]
# The fingerprint, from the public keys.
sp, _ = crypto_sign_seed_keypair(b64(keys["sender"]["ed25519_seed"]))
assert sp == sender_pub
print(stream.decode(), end="")
print(f"ok: bundle {m['bundle_id']} ({m['changes']} changes) and ack verified independently", file=sys.stderr)
