#!/usr/bin/env python3
"""mkseeds_derive.py: writes the seeds/derive-* and seeds/destroy-* inputs of
the native harness (ops_derive.c, derive_template.c), byte by byte as the
harness reads them. Object handles are found by C_FindObjects in an order
that changes from run to run (handles are random), so each seed tries
C_DeriveKey with every object index up to 35 as the base key: one of them is
the KEY_AGREEMENT key of the point's curve (run.sh creates P-256, P-384 and
SM2 ones), and its derived key is then read, found and destroyed.

Run from anywhere: python3 cgo/fuzz/mkseeds_derive.py
"""
import os
import struct

OP_OPEN, OP_FIND, OP_GETATTR, OP_DERIVE, OP_DESTROY = 0, 2, 3, 20, 21
SESSION0 = 0x00  # fz_session: sessions[0]
DERIVED0 = 0xC0  # fz_object: derived[0]
POINTS = {"p256": 0, "p384": 2, "sm2": 4}  # indexes into fz_points
# derive_template.c indexes
A_CLASS, A_KEY_TYPE, A_VALUE_LEN, A_TOKEN, A_PRIVATE, A_SENSITIVE, A_EXTRACTABLE = 0, 1, 2, 3, 4, 5, 6
A_DESTROYABLE, A_TRUSTED, A_LABEL, A_VALUE = 7, 13, 15, 21
V_AES, V_16, V_32, V_48, V_66, V_1024, V_1025 = 4, 7, 9, 10, 12, 15, 16  # ulong_values indexes
CKD_NULL, CKD_SHA256, CKD_SHA512 = 0, 3, 5  # kdfs indexes


def ulong_attr(t, idx):
    return bytes([t, 0, idx])


def bool_attr(t, v):
    return bytes([t, 1, v])


def label(text):
    return bytes([A_LABEL, 2, len(text)]) + text


def template(*attrs):
    return bytes([len(attrs)]) + b"".join(attrs)


def derive(base, point, kdf=CKD_NULL, shared=b"", der=False, compressed=False, tmpl=template(), m=0x01):
    """C_DeriveKey(sessions[0], CKM_ECDH1_DERIVE, base, tmpl) with a whole structure."""
    s = 0 if not shared else 2 | (len(shared) << 2)
    peer = bytes([7, point, 0]) if compressed else bytes([4 if der else 2, point])
    return bytes([OP_DERIVE, SESSION0, base, m, 0x00, 0, kdf, s]) + shared + peer + tmpl


def after():
    """Read CKA_VALUE and CKA_VALUE_LEN of derived[0], find it by class, destroy it twice."""
    get = bytes([OP_GETATTR, SESSION0, DERIVED0, 1, 2, 14, 0, 0x40, 0x00, 26, 0, 0x08, 0x00])
    find = bytes([OP_FIND, SESSION0, 1, 1, 0, 0xFF, DERIVED0, 1, 8, 1])
    destroy = bytes([OP_DESTROY, SESSION0, 0x0C, 0])
    return get + find + destroy


def scan(point, **kw):
    return bytes([OP_OPEN, 0x01]) + b"".join(derive(i, point, **kw) for i in range(36)) + after()


def seeds():
    out = {}
    for name, pt in POINTS.items():
        out[f"derive-{name}-null"] = scan(pt)
        out[f"derive-{name}-sha256"] = scan(pt, kdf=CKD_SHA256, shared=b"fuzz shared info",
                                            tmpl=template(ulong_attr(A_VALUE_LEN, V_32)))
        out[f"derive-{name}-aes-der"] = scan(pt, der=True, tmpl=template(
            ulong_attr(A_KEY_TYPE, V_AES), ulong_attr(A_VALUE_LEN, V_16), label(b"fz"),
            bool_attr(A_SENSITIVE, 0), bool_attr(A_EXTRACTABLE, 1)))
    # Each check of token/derive_template.go and mechanisms/ecdh*.go once, on P-256.
    ulong_len = lambda idx: ulong_attr(A_VALUE_LEN, idx)
    variants = {
        "read-only": dict(tmpl=template(bytes([A_VALUE, 2, 4]) + b"\x01\x02\x03\x04")),
        "trusted": dict(tmpl=template(bool_attr(A_TRUSTED, 1))),
        "token": dict(tmpl=template(bool_attr(A_TOKEN, 1))),
        "private": dict(tmpl=template(bool_attr(A_PRIVATE, 1))),
        "aes-48": dict(tmpl=template(ulong_attr(A_KEY_TYPE, V_AES), ulong_len(V_48))),
        "kdf-no-len": dict(kdf=CKD_SHA256),
        "kdf-1024": dict(kdf=CKD_SHA512, tmpl=template(ulong_len(V_1024))),
        "kdf-1025": dict(kdf=CKD_SHA512, tmpl=template(ulong_len(V_1025))),
        "null-66": dict(tmpl=template(ulong_len(V_66))),
        "null-shared": dict(shared=b"x"),
        "compressed": dict(compressed=True),
    }
    for name, kw in variants.items():
        out[f"derive-p256-{name}"] = scan(0, **kw)
    # CKA_DESTROYABLE false: C_DestroyObject must be CKR_ACTION_PROHIBITED.
    out["destroy-prohibited"] = scan(0, tmpl=template(bool_attr(A_DESTROYABLE, 0)))
    # Bad arguments: phKey NULL, pMechanism NULL, NULL template with a count,
    # shared data NULL with a length, a truncated structure.
    bad = bytes([OP_OPEN, 0x01])
    bad += bytes([OP_DERIVE, SESSION0, 0, 0x00, 0x00, 0, 0, 0, 2, 0, 0])  # phKey NULL
    bad += bytes([OP_DERIVE, SESSION0, 0, 0x39, 0x00, 0, 0, 0, 2, 0, 0])  # pMechanism NULL
    bad += bytes([OP_DERIVE, SESSION0, 0, 0x01, 0x00, 0, 0, 0, 2, 0, 0xFF]) + struct.pack("<Q", 3)
    bad += bytes([OP_DERIVE, SESSION0, 0, 0x01, 0x00, 0, 3, 1]) + struct.pack("<Q", 7) + bytes([2, 0, 0])
    bad += bytes([OP_DERIVE, SESSION0, 0, 0x01, 0x00, 4, 0, 0, 2, 0, 39, 0])  # 39-byte structure
    bad += bytes([OP_DERIVE, SESSION0, 0, 0x01, 0x00, 6]) + struct.pack("<Q", 40) + bytes([0])
    bad += bytes([OP_DERIVE, SESSION0, 0, 0x01, 0x00, 0, 0, 0, 1, 0]) + struct.pack("<Q", 65) + bytes([0])
    bad += bytes([OP_DESTROY, SESSION0, 0x01, 0]) + bytes([OP_DESTROY, SESSION0, 0x01, 0xFD])
    out["derive-nulls"] = bad
    return out


if __name__ == "__main__":
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
    for name, data in seeds().items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
