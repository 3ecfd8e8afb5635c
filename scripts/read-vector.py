#!/usr/bin/env python3
"""An independent reader of ferry's on-drive format (bundles of version 1 and 2), written from
docs/FORMAT.md alone (PyNaCl + stdlib).

Usage: scripts/read-vector.py [VECTOR_DIR ...] [--print]
With no folder, reads fixtures/vectors/v2 and the frozen fixtures/vectors/v1. Reads each test
vector as its recipient: the bundle (its change stream must equal changes.jsonl), the ack and
the key rotation notice, and checks every fingerprint in keys.json. Recomputes the row digest of
every base in the bundle from the rows it decrypted (replaying each shared table's changes), and
requires each to match. Then reads every negative vector in negative/ (where there is one), which
it must refuse, and compares the code and the step that refused it with negative/expected.json.
Exits non-zero on any difference.
(Debian: apt-get install python3-nacl)
"""
import base64, binascii, hashlib, json, math, os, re, struct, sys, zlib
from nacl.bindings import crypto_scalarmult, crypto_secretbox_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError, CryptoError, RuntimeError as NaclRuntimeError
from nacl.signing import VerifyKey


class Refused(Exception):
    def __init__(self, step, code, why):
        super().__init__(f"step {step}: {code}: {why}")
        self.step, self.code, self.why = step, code, why


class NotOurs(Exception):
    """An ack for another facility: left alone, not an error."""


def refuse(step, code, why):
    raise Refused(step, code, why)


# --- Conventions -----------------------------------------------------------------------------

SAFE = 2**53 - 1


def b64strict(s, length=None):
    """base64 with padding that re-encodes to the same text, or None."""
    if not isinstance(s, str) or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", s):
        return None
    try:
        b = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(b).decode() != s or (length is not None and len(b) != length):
        return None
    return b


def js_string(s):
    """A string as ECMAScript JSON.stringify writes it."""
    out = ['"']
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    for ch in s:
        o = ord(ch)
        if ch in short:
            out.append(short[ch])
        elif o < 0x20 or 0xD800 <= o <= 0xDFFF:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(v):
    """Canonical JSON text of v, or None if v holds something canonical JSON cannot (a non-integer, |n| > 2^53-1)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return js_string(v)
    if isinstance(v, int):
        return str(v) if abs(v) <= SAFE else None
    if isinstance(v, float):
        return None  # the text had a fraction or an exponent
    if isinstance(v, list):
        items = [canonical(x) for x in v]
        return None if None in items else "[" + ",".join(items) + "]"
    if isinstance(v, dict):
        parts = []
        for k in sorted(v, key=lambda k: k.encode("utf-16-be", "surrogatepass")):  # UTF-16 code unit order
            c = canonical(v[k])
            if c is None:
                return None
            parts.append(js_string(k) + ":" + c)
        return "{" + ",".join(parts) + "}"
    return None


def no_constants(name):
    raise ValueError(f"{name} is not JSON")


def loads(text):
    return json.loads(text, parse_constant=no_constants)


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def fingerprint(signing_public, encryption_public):
    f = hashlib.sha256(b"ferry/v1/fingerprint\n" + signing_public + encryption_public).digest()[:10]
    n = int.from_bytes(f, "big")
    chars = "".join(CROCKFORD[(n >> (75 - 5 * i)) & 31] for i in range(16))
    return "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def verify(sig, msg, public):
    try:
        VerifyKey(public).verify(msg, sig)
        return True
    except (BadSignatureError, ValueError, CryptoError):
        return False


# --- Container ----------------------------------------------------------------------------------

def container(path, limits):
    """Step 1 (and 2): exactly the expected entries, each once, stored, size-capped; returns their bytes."""
    if not os.path.isfile(path) or os.path.islink(path):
        refuse(1, "not-a-ferry-file", "not a regular file")
    data = open(path, "rb").read()
    if len(data) < 22:
        refuse(1, "zip-invalid", "too short to be a zip")
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if at < 0:
        refuse(1, "zip-invalid", "no end-of-central-directory record")
    count, cd_size, cd_offset, comment = struct.unpack("<HIIH", data[at + 10:at + 22])
    if comment != 0 or at + 22 != len(data):
        refuse(1, "zip-invalid", "bytes follow the end-of-central-directory record")
    if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        refuse(1, "zip-invalid", "ZIP64")
    if count > 2 * len(limits):
        refuse(1, "zip-entry-unexpected", f"{count} entries")
    found, pos = {}, cd_offset
    for _ in range(count):
        if data[pos:pos + 4] != b"PK\x01\x02":
            refuse(1, "zip-invalid", "damaged central directory")
        (made_by, _v, flags, method, _t, _d, crc, csize, usize, nlen, xlen, clen, _disk, _ia, ext, local) = struct.unpack(
            "<HHHHHHIIIHHHHHII", data[pos + 4:pos + 46])
        raw = data[pos + 46:pos + 46 + nlen]
        pos += 46 + nlen + xlen + clen
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            refuse(1, "zip-entry-unexpected", f"entry name {raw!r}")
        if name not in limits:
            refuse(1, "zip-entry-unexpected", f"entry {name!r}")
        if name in found:
            refuse(1, "zip-entry-duplicate", f"entry {name} twice")
        if (made_by >> 8) == 3 and ((ext >> 16) & 0o170000) == 0o120000:
            refuse(1, "zip-invalid", f"{name} is a link")
        if method != 0 or flags & 1 or csize != usize:
            refuse(1, "zip-invalid", f"{name} is not stored plainly")
        if usize > limits[name] or usize > len(data):
            refuse(1, "zip-entry-too-large", f"{name} declares {usize} bytes")
        if data[local:local + 4] != b"PK\x03\x04":
            refuse(1, "zip-invalid", f"{name}: no local header")
        lnlen, lxlen = struct.unpack("<HH", data[local + 26:local + 30])
        if data[local + 30:local + 30 + lnlen] != raw:
            refuse(1, "zip-invalid", f"{name}: the local header names another entry")
        start = local + 30 + lnlen + lxlen
        if start + usize > len(data):
            refuse(1, "zip-invalid", f"{name} runs past the end of the file")
        body = data[start:start + usize]
        if zlib.crc32(body) != crc:
            refuse(2, "payload-hash-mismatch" if name == "payload.bin" else "zip-invalid", f"{name} fails its CRC-32")
        found[name] = body
    for name in limits:
        if name not in found:
            refuse(1, "zip-entry-missing", f"no {name}")
    return found


# --- Signed documents ------------------------------------------------------------------------

NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FINGERPRINT = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}")
HEX32 = re.compile(r"[0-9a-f]{32}")
CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def is_int(v, lo=None):
    return isinstance(v, int) and not isinstance(v, bool) and abs(v) <= SAFE and (lo is None or v >= lo)


def matches(rx, v):
    return isinstance(v, str) and rx.fullmatch(v) is not None


def members(v, names, where):
    if not isinstance(v, dict) or set(v) != set(names):
        return f"{where}: members must be exactly {sorted(names)}"
    return None


def signed_document(data, fmt, schema, step, code, versions=(1,)):
    """Steps of every signed document: UTF-8 JSON object, format, version, schema, canonical form."""
    try:
        text = data.decode("utf-8")
        v = loads(text)
    except (UnicodeDecodeError, ValueError):
        refuse(step, code, "not UTF-8 JSON")
    if not isinstance(v, dict):
        refuse(step, code, "not a JSON object")
    if v.get("format") != fmt:
        refuse(step, code, f"format is {v.get('format')!r}")
    if not (is_int(v.get("version")) and v["version"] in versions):
        refuse(step, "version-unsupported", f"version {v.get('version')!r}")
    problem = schema(v)
    if problem:
        refuse(step, code, problem)
    c = canonical(v)
    if c is None or c.encode("utf-8", "surrogatepass") != data:
        refuse(step, code, "not in canonical form")
    return v


def seq_problem(s):
    return members(s, ["first", "last"], "seq") or (None if is_int(s["first"], 1) and is_int(s["last"], 1) else "seq: integers >= 1")


def manifest_schema(m):
    p = members(m, ["format", "version", "bundle_id", "sender", "sender_fingerprint", "recipient", "recipient_fingerprint",
                    "created", "seq", "changes", "tables", "payload"], "manifest")
    if p:
        return p
    for k, ok in [("bundle_id", matches(HEX32, m["bundle_id"])), ("sender", matches(NODE_ID, m["sender"])),
                  ("recipient", matches(NODE_ID, m["recipient"])), ("sender_fingerprint", matches(FINGERPRINT, m["sender_fingerprint"])),
                  ("recipient_fingerprint", matches(FINGERPRINT, m["recipient_fingerprint"])), ("created", matches(CREATED, m["created"])),
                  ("changes", is_int(m["changes"], 1))]:
        if not ok:
            return f"{k} is invalid"
    p = seq_problem(m["seq"])
    if p:
        return p
    t = m["tables"]
    if not isinstance(t, dict) or not all(isinstance(k, str) and is_int(n, 1) for k, n in t.items()) or sum(t.values()) != m["changes"]:
        return "tables: counts >= 1 per table, summing to changes"
    pl = m["payload"]
    p = members(pl, ["compression", "chunk_size", "plaintext_bytes", "ciphertext_bytes", "stream_bytes", "sha256", "ephemeral_key"], "payload")
    if p:
        return p
    if pl["compression"] != "zlib" or pl["chunk_size"] != 65536 or not is_int(pl["plaintext_bytes"], 0) or not is_int(pl["ciphertext_bytes"], 16) \
            or not is_int(pl["stream_bytes"], 0) or not matches(re.compile(r"[0-9a-f]{64}"), pl["sha256"]) or b64strict(pl["ephemeral_key"], 32) is None:
        return "payload is invalid"
    return None


def ack_schema(a):
    p = members(a, ["format", "version", "ack_id", "hub", "hub_fingerprint", "facility", "bundle_id", "seq", "applied_ranges",
                    "outcome", "counts", "created"], "ack")
    if p:
        return p
    if not (matches(HEX32, a["ack_id"]) and matches(HEX32, a["bundle_id"]) and matches(NODE_ID, a["hub"]) and matches(NODE_ID, a["facility"])
            and matches(FINGERPRINT, a["hub_fingerprint"]) and matches(CREATED, a["created"]) and a["outcome"] in ("applied", "already-applied")):
        return "a member is invalid"
    p = seq_problem(a["seq"]) or members(a["counts"], ["applied", "already_present", "conflicts", "rejected"], "counts")
    if p:
        return p
    if not all(is_int(n, 0) for n in a["counts"].values()):
        return "counts: integers >= 0"
    r = a["applied_ranges"]
    if not isinstance(r, list) or not all(isinstance(x, list) and len(x) == 2 and all(is_int(y, 1) for y in x) for x in r):
        return "applied_ranges: pairs of integers >= 1"
    return None


def keys_problem(k, where):
    return members(k, ["signing_key", "encryption_key", "fingerprint"], where) or (
        None if b64strict(k["signing_key"], 32) and b64strict(k["encryption_key"], 32) and matches(FINGERPRINT, k["fingerprint"]) else f"{where}: invalid keys")


def rotation_schema(n):
    p = members(n, ["format", "version", "id", "role", "old", "new", "created"], "notice")
    if p:
        return p
    if not (matches(NODE_ID, n["id"]) and n["role"] in ("facility", "hub") and matches(CREATED, n["created"])):
        return "a member is invalid"
    return keys_problem(n["old"], "old") or keys_problem(n["new"], "new")


# --- Change stream -----------------------------------------------------------------------------

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
TYPE = re.compile(r"([A-Za-z][A-Za-z0-9_]*( [A-Za-z][A-Za-z0-9_]*)*( ?\( ?[+-]?[0-9]{1,10}( ?, ?[+-]?[0-9]{1,10})? ?\))?)?")
INT64 = re.compile(r"-?(0|[1-9][0-9]{0,18})")
HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_RECORD = 64 * 1024 * 1024
# Bundle versions this reader knows (FORMAT.md "Versioning"); acks and notices are at version 1.
BUNDLE_VERSIONS = (1, 2)


def depth(line):
    """Nesting depth of a JSON text, counted without parsing it."""
    d = top = 0
    in_str = esc = False
    for ch in line:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            d += 1
            top = max(top, d)
        elif ch in "]}":
            d -= 1
    return top


def value_problem(v):
    if v is None or isinstance(v, str):
        return None
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):  # a bare number is taken by value: 1.0 is the integer 1
        if isinstance(v, float) and not v.is_integer():
            return "a bare number that is not an integer"
        return None if abs(v) <= SAFE else "a bare integer beyond 2^53-1"
    if isinstance(v, dict) and len(v) == 1:
        (k, x), = v.items()
        if k == "int":
            ok = isinstance(x, str) and INT64.fullmatch(x) and x != "-0" and -2**63 <= int(x) < 2**63
            return None if ok else "an {int} not in canonical decimal within 64 bits"
        if k == "real":
            ok = x in ("inf", "-inf") or (isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x))
            return None if ok else "a {real} that is not a finite number, inf or -inf"
        if k == "blob":
            return None if b64strict(x) is not None else "a {blob} not in canonical padded base64"
    return "not an encoded value"


# --- Row digest (FORMAT.md "Row digest") -------------------------------------------------------

def value_bytes(v):
    """One value's storage class tag and bytes; v has passed value_problem."""
    if v is None:
        return b"\x00"
    if isinstance(v, str):
        # A lone surrogate (JSON can spell one) is encoded as U+FFFD.
        b = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in v).encode("utf-8")
        return b"\x03" + struct.pack(">I", len(b)) + b
    if isinstance(v, (int, float)):  # a bare number: an INTEGER (1.0 is 1)
        return b"\x01" + struct.pack(">q", int(v))
    (k, x), = v.items()
    if k == "int":
        return b"\x01" + struct.pack(">q", int(x))
    if k == "real":
        r = math.inf if x == "inf" else -math.inf if x == "-inf" else float(x)
        return b"\x02" + struct.pack(">d", 0.0 if r == 0 else r)  # -0 as +0
    b = base64.b64decode(x)
    return b"\x04" + struct.pack(">I", len(b)) + b


def row_digest(values):
    return hashlib.sha256(b"".join(value_bytes(v) for v in values)).hexdigest()


def check_stream(stream, m):
    """Step 7, records. Returns the bases: (seq, table, op, base, digest of the row before, or None if not in the bundle)."""
    step = 7
    bases = []
    held = {}  # (table, key bytes) -> the row the last change left (None: deleted)
    if len(stream) != m["payload"]["stream_bytes"]:
        refuse(step, "payload-invalid", "the stream's length is not stream_bytes")
    if stream and not stream.endswith(b"\n"):
        refuse(step, "payload-invalid", "the stream does not end with a newline")
    tables, counts, seen_names = {}, {}, set()
    changes = last = columns_total = 0
    for raw in stream.split(b"\n")[:-1]:
        if len(raw) > MAX_RECORD or depth(raw.decode("utf-8", "replace")) > 4:
            refuse(step, "limit-exceeded", "a record over the size or nesting limit")
        try:
            r = loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            refuse(step, "payload-invalid", "a record is not UTF-8 JSON")
        if not isinstance(r, dict):
            refuse(step, "payload-invalid", "a record is not an object")
        bad = lambda why: refuse(step, "payload-invalid", why)
        if r.get("kind") == "table":
            if set(r) - {"scope"} != {"kind", "table", "columns", "key"} or not isinstance(r["columns"], list) or not isinstance(r["key"], list):
                bad("a table record does not match its schema")
            # FORMAT.md "Table scope" and "Versioning": version 1 tables are facility-owned, and say nothing.
            if m["version"] == 1:
                if "scope" in r:
                    bad("a version 1 bundle's table record carries a scope")
                scope = "facility"
            else:
                if "scope" not in r:
                    bad("a version 2 table record carries no scope")
                scope = r["scope"]
                if scope not in ("facility", "shared"):
                    bad("a table's scope is neither facility nor shared")
            t = r["table"]
            if not matches(NAME, t) or t.lower().startswith(("ferry_", "sqlite_")):
                bad(f"table name {t!r} breaks the name rules")
            if t.lower() in seen_names:
                bad(f"table {t!r} is described twice (names compare case-insensitively)")
            seen_names.add(t.lower())
            cols = r["columns"]
            if not 1 <= len(cols) <= 1000 or not 1 <= len(r["key"]) <= 32 or len(tables) + 1 > 500:
                refuse(step, "limit-exceeded", "tables, columns or key columns over their limit")
            columns_total += len(cols)
            if columns_total > 10000:
                refuse(step, "limit-exceeded", "columns over their limit")
            names = []
            for c in cols:
                if not isinstance(c, dict) or set(c) != {"name", "type"}:
                    bad("a column does not match its schema")
                if not matches(NAME, c["name"]) or c["name"].lower().startswith("ferry_"):
                    bad(f"column name {c['name']!r} breaks the name rules")
                if not isinstance(c["type"], str) or len(c["type"]) > 64 or not TYPE.fullmatch(c["type"]):
                    bad("a declared type breaks the type grammar")
                names.append(c["name"].lower())
            if len(set(names)) != len(names) or not all(isinstance(k, str) and k.lower() in names for k in r["key"]):
                bad("columns and key do not agree")
            tables[t] = dict(r, scope=scope)
        elif r.get("kind") == "change":
            keys = {"kind", "origin", "seq", "clock", "table", "op", "row"} | ({"key"} if r.get("op") == "delete" else set())
            if set(r) - {"base"} != keys or r["op"] not in ("insert", "update", "delete"):
                bad("a change record does not match its schema")
            if "base" in r and not matches(HEX64, r["base"]):
                bad("a base that is not 64 lowercase hex digits")
            if not isinstance(r["origin"], str) or r["origin"].lower() != m["sender"].lower():
                bad("origin is not the sender")
            s, clock = r["seq"], r["clock"]
            if not (is_int(s, 1) and isinstance(clock, list) and len(clock) == 2 and all(is_int(x, 0) for x in clock)):
                bad("seq or clock invalid")
            if s <= last or s < m["seq"]["first"] or s > m["seq"]["last"] or (changes == 0 and s != m["seq"]["first"]):
                bad(f"change {s} is out of order or outside the manifest's range")
            t = tables.get(r["table"])
            if t is None:
                bad(f"change {s} names an undescribed table")
            if r["op"] == "delete":
                if r["row"] is not None or not isinstance(r["key"], list) or len(r["key"]) != len(t["key"]):
                    bad("a delete's key or row is invalid")
                vals = r["key"]
            else:
                if not isinstance(r["row"], list) or len(r["row"]) != len(t["columns"]):
                    bad("a row does not match its table")
                vals = r["row"]
            for v in vals:
                p = value_problem(v)
                if p:
                    bad(f"change {s}: {p}")
            shared = t["scope"] == "shared"
            needs_base = shared and r["op"] != "insert"
            if needs_base and "base" not in r:
                bad(f"change {s}: {'an update' if r['op'] == 'update' else 'a delete'} in a shared table carries no base")
            if not needs_base and "base" in r:
                bad(f"change {s}: a base outside a shared table's update or delete")
            if shared:
                columns = [c["name"] for c in t["columns"]]
                key_values = vals if r["op"] == "delete" else [r["row"][columns.index(k)] for k in t["key"]]
                where = (r["table"], b"".join(value_bytes(v) for v in key_values))
                if needs_base:
                    before = held.get(where)
                    bases.append((s, r["table"], r["op"], r.get("base"), row_digest(before) if before is not None else None))
                held[where] = r["row"]
            last, changes = s, changes + 1
            counts[r["table"]] = counts.get(r["table"], 0) + 1
        else:
            bad("a record of unknown kind")
    if changes != m["changes"] or last != m["seq"]["last"] or counts != m["tables"]:
        refuse(step, "payload-invalid", "counts or last seq differ from the manifest")
    return bases


# --- Reading a bundle --------------------------------------------------------------------------

def read_bundle(path, keys):
    e = container(path, {"manifest.json": 65536, "manifest.sig": 64, "payload.bin": 4 * 1024**3 - 64 * 1024**2})
    mbytes, sig, payload = e["manifest.json"], e["manifest.sig"], e["payload.bin"]
    m = signed_document(mbytes, "ferry-bundle", manifest_schema, 3, "manifest-invalid", BUNDLE_VERSIONS)
    p = m["payload"]
    if len(sig) != 64:
        refuse(3, "signature-invalid", "manifest.sig is not 64 bytes")
    P = p["plaintext_bytes"]
    # FORMAT.md, Manifest, "Schema and checks": limits first, then the relations between members.
    if p["stream_bytes"] > 8 * 1024**3 or p["stream_bytes"] > max(64 * 1024**2, 100 * P) or m["changes"] > 2**26 or len(m["tables"]) > 500:
        refuse(3, "limit-exceeded", "a manifest-level limit")
    if m["seq"]["last"] < m["seq"]["first"] or m["changes"] > m["seq"]["last"] - m["seq"]["first"] + 1:
        refuse(3, "manifest-invalid", "sizes inconsistent within the manifest")
    lowered = [t.lower() for t in m["tables"]]
    if any(t.startswith(("ferry_", "sqlite_")) for t in lowered) or len(set(lowered)) != len(lowered):
        refuse(3, "manifest-invalid", "tables: a reserved name, or two names differing only by case")
    if p["ciphertext_bytes"] != P + 16 * max(1, -(-P // 65536)):
        refuse(3, "manifest-invalid", "sizes inconsistent within the manifest")
    if len(payload) != p["ciphertext_bytes"]:
        refuse(3, "payload-truncated", "payload.bin is not ciphertext_bytes long")
    sender = keys["sender"]
    if m["sender"].lower() != sender["id"].lower():
        refuse(4, "signer-unknown", m["sender"])
    if not verify(sig, b"ferry/v1/bundle-manifest\n" + mbytes, b64strict(sender["ed25519_public"], 32)):
        refuse(4, "signature-invalid", "the signature does not verify")
    if m["sender_fingerprint"] != fingerprint(b64strict(sender["ed25519_public"], 32), b64strict(sender["x25519_public"], 32)):
        refuse(4, "manifest-invalid", "sender_fingerprint is not the sender's")
    rec = keys["recipient"]
    if m["recipient"].lower() != rec["id"].lower():
        refuse(5, "wrong-recipient", m["recipient"])
    if m["recipient_fingerprint"] != rec["fingerprint"]:
        refuse(5, "no-matching-key", m["recipient_fingerprint"])
    if hashlib.sha256(payload).hexdigest() != p["sha256"]:
        refuse(6, "payload-hash-mismatch", "the payload's SHA-256")
    r_secret, R = b64strict(rec["x25519_secret"], 32), b64strict(rec["x25519_public"], 32)
    E = b64strict(p["ephemeral_key"], 32)
    try:
        shared = crypto_scalarmult(r_secret, E)
    except NaclRuntimeError:  # libsodium itself refuses an all-zero result
        shared = bytes(32)
    if shared == bytes(32):
        refuse(7, "payload-unauthenticated", "the shared secret is all zero")
    key = hashlib.sha256(b"ferry/v1/payload-key" + shared + E + R).digest()
    L, S = len(payload), 65552
    n = max(1, -(-L // S))
    if L - (n - 1) * S < (17 if n > 1 else 16):
        refuse(7, "payload-truncated", "no chunk framing")
    plain = b""
    for i in range(n):
        nonce = bytes(15) + i.to_bytes(8, "big") + (b"\x01" if i == n - 1 else b"\x00")
        try:
            plain += crypto_secretbox_open(payload[i * S:(i + 1) * S], nonce, key)
        except CryptoError:
            refuse(7, "payload-unauthenticated", f"chunk {i} fails to open")
    d = zlib.decompressobj()
    try:
        stream = d.decompress(plain, p["stream_bytes"] + 1)
    except zlib.error:
        refuse(7, "payload-invalid", "not a zlib stream")
    if len(stream) > p["stream_bytes"]:
        refuse(7, "payload-invalid", "more than stream_bytes")
    if not d.eof or d.unused_data or d.unconsumed_tail:
        refuse(7, "payload-invalid", "not exactly one complete zlib stream")
    bases = check_stream(stream, m)
    return m, stream, bases


def read_ack(path, keys):
    e = container(path, {"ack.json": 65536, "ack.sig": 64})
    a = signed_document(e["ack.json"], "ferry-ack", ack_schema, 2, "ack-invalid")
    if len(e["ack.sig"]) != 64:
        refuse(2, "signature-invalid", "ack.sig is not 64 bytes")
    if a["seq"]["last"] < a["seq"]["first"]:
        refuse(2, "ack-invalid", "seq")
    previous = 0
    for first, last in a["applied_ranges"]:
        if last < first or first <= previous:
            refuse(2, "ack-invalid", "applied_ranges not sorted and disjoint")
        previous = last
    if a["facility"].lower() != keys["sender"]["id"].lower():
        raise NotOurs(a["facility"])
    if a["hub"].lower() != keys["recipient"]["id"].lower():
        refuse(4, "signer-unknown", a["hub"])
    if not verify(e["ack.sig"], b"ferry/v1/ack\n" + e["ack.json"], b64strict(keys["recipient"]["ed25519_public"], 32)):
        refuse(5, "signature-invalid", "the hub's signature does not verify")
    return a


def read_rotation(path, keys):
    e = container(path, {"rotation.json": 16384, "old-key.sig": 64, "new-key.sig": 64})
    body = e["rotation.json"]
    n = signed_document(body, "ferry-rotation", rotation_schema, 2, "rotation-invalid")
    sender = keys["sender"]
    if n["id"].lower() != sender["id"].lower():
        raise NotOurs(n["id"])
    if n["old"]["fingerprint"] != sender["fingerprint"]:
        refuse(3, "rotation-invalid", "replaces a key this reader does not trust")
    for which in ("old", "new"):
        k = n[which]
        if fingerprint(b64strict(k["signing_key"], 32), b64strict(k["encryption_key"], 32)) != k["fingerprint"]:
            refuse(4, "rotation-invalid", f"the {which} fingerprint does not match its keys")
    if n["old"]["fingerprint"] == n["new"]["fingerprint"]:
        refuse(4, "rotation-invalid", "old and new are the same keys")
    msg = b"ferry/v1/key-rotation\n" + body
    trusted = b64strict(sender["ed25519_public"], 32)
    if b64strict(n["old"]["signing_key"], 32) != trusted or not verify(e["old-key.sig"], msg, trusted):
        refuse(5, "signature-invalid", "old-key.sig")
    if not verify(e["new-key.sig"], msg, b64strict(n["new"]["signing_key"], 32)):
        refuse(5, "signature-invalid", "new-key.sig")
    return n


def read_any(path, keys):
    if path.endswith(".ferry-bundle"):
        return read_bundle(path, keys)
    if path.endswith(".ferry-ack"):
        return read_ack(path, keys)
    return read_rotation(path, keys)


def read_vector(d):
    """Reads the vector in folder d; returns the failures."""
    keys = json.load(open(f"{d}/keys.json"))
    b64 = lambda s: b64strict(s, 32)
    failures = []

    # keys.json: every fingerprint from both public keys; seeds give the public keys.
    for who, k in (("sender", keys["sender"]), ("recipient", keys["recipient"]), ("rotation.new", keys["rotation"]["new"])):
        assert fingerprint(b64(k["ed25519_public"]), b64(k["x25519_public"])) == k["fingerprint"], f"{who}: fingerprint"
        assert crypto_sign_seed_keypair(b64(k["ed25519_seed"]))[0] == b64(k["ed25519_public"]), f"{who}: seed"

    m, stream, bases = read_bundle(f"{d}/bundle.ferry-bundle", keys)
    assert stream == open(f"{d}/changes.jsonl", "rb").read(), "the change stream matches changes.jsonl"
    a = read_ack(f"{d}/ack.ferry-ack", keys)
    assert a["bundle_id"] == m["bundle_id"]
    n = read_rotation(f"{d}/{keys['rotation']['file']}", keys)
    new = keys["rotation"]["new"]
    assert (n["new"]["signing_key"], n["new"]["encryption_key"], n["new"]["fingerprint"]) == (new["ed25519_public"], new["x25519_public"], new["fingerprint"])
    if "--print" in sys.argv:
        print(stream.decode(), end="")
    print(f"ok: {d}: bundle {m['bundle_id']} (version {m['version']}, {m['changes']} changes), ack and rotation notice verified independently")

    # Each base against the digest of the row the change before it left, computed here.
    for seq, table, op, base, computed in bases:
        if computed is None:
            failures.append(f"{d}: change {seq} ({table} {op}): the row it was based on is not in the bundle, so its base cannot be checked")
        elif computed != base:
            failures.append(f"{d}: change {seq} ({table} {op}): base {base}, but the row before it has digest {computed}")
        else:
            print(f"base ok: change {seq} ({table} {op}): {base} is the row digest of the row the change before it left")
    if m["version"] >= 2 and not bases:
        failures.append(f"{d}: a version 2 vector with no base to check")

    if not os.path.isdir(f"{d}/negative"):
        return failures
    expected = json.load(open(f"{d}/negative/expected.json"))
    files = sorted(f for f in os.listdir(f"{d}/negative") if f != "expected.json")
    if files != sorted(expected):
        failures.append(f"{d}: negative/ and expected.json list different files")
    refused = 0
    for name in files:
        want = expected.get(name, {})
        try:
            read_any(f"{d}/negative/{name}", keys)
            failures.append(f"{name}: ACCEPTED, expected {want.get('code')} at step {want.get('step')}")
            continue
        except NotOurs as e:
            got = ("not ours", None, str(e))
        except Refused as e:
            got = (e.code, e.step, e.why)
        ok = got[0] == want.get("code") and got[1] == want.get("step")
        print(f"{'refused' if ok else 'MISMATCH'}: {name} at step {got[1]} ({got[0]}: {got[2]})"
              + ("" if ok else f"; expected.json says {want.get('code')} at step {want.get('step')}"))
        if ok:
            refused += 1
        else:
            failures.append(f"{name}: {got[0]} at step {got[1]}, expected {want.get('code')} at step {want.get('step')}")
    print(f"{d}: {len(files)} negative vectors: {refused} refused as expected", file=sys.stderr)
    return failures


# FORMAT.md "Row digest", its worked example.
WORKED_EXAMPLE = ([7, "né", {"real": -0.5}, None, {"blob": "/w=="}, {"int": "-9223372036854775808"}],
                  "ac4578914d16dc7cd7a7d378dd996a8d0834175b4c38e790a9f0da4ddf625db8")


def main():
    dirs = [a for a in sys.argv[1:] if not a.startswith("--")] or ["fixtures/vectors/v2", "fixtures/vectors/v1"]
    failures = [] if row_digest(WORKED_EXAMPLE[0]) == WORKED_EXAMPLE[1] else ["the row digest of FORMAT.md's worked example"]
    failures += [f for d in dirs for f in read_vector(d)]
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
