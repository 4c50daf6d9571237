#!/usr/bin/python3
"""sign_verify.py: sign with every private key and every signing mechanism a
PKCS#11 token lists, through PyKCS11, and verify each signature in software
(python3-cryptography, i.e. OpenSSL) from the public key object's
CKA_MODULUS/CKA_PUBLIC_EXPONENT or CKA_EC_PARAMS/CKA_EC_POINT. Keys with
CKA_DECRYPT also get an RSA-OAEP round trip (encrypt in software, decrypt on
the token).

Run with Debian's /usr/bin/python3 (python3-pykcs11, python3-cryptography):

    sign_verify.py --module LIB --token LABEL [--pin PIN]

Output: one JSON object per line on stdout, one per check:
    {"op": "sign CKM_SHA256_RSA_PKCS multi-part", "key": "<CKA_LABEL>",
     "result": "pass"|"fail"|"skip", "detail": "..."}
("key" is "" for a check about a mechanism), and one
    {"op": "public key", "key": "<CKA_LABEL>", "result": "info", "spki": "<hex DER>", "id": "<CKA_ID hex>"}
per key pair, so the caller can compare the public keys with what it seeded.
Exit status 0 when every check ran (whatever its result), 2 when the token
could not be used at all. Never prints the PIN.
"""

import argparse
import hashlib
import json
import os
import sys

import PyKCS11
from PyKCS11 import LowLevel
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MESSAGE = b"p11kms conformance: PyKCS11 signs this message\n" * 3

# Hash algorithms: (name, hashlib name, cryptography class, CKM_ digest,
# CKG_MGF1_, DigestInfo prefix). DigestInfo prefixes: RFC 8017 §9.2 note 1.
HASHES = {
    "SHA1": ("sha1", hashes.SHA1, PyKCS11.CKM_SHA_1, PyKCS11.CKG_MGF1_SHA1,
             "3021300906052b0e03021a05000414"),
    "SHA224": ("sha224", hashes.SHA224, PyKCS11.CKM_SHA224, PyKCS11.CKG_MGF1_SHA224,
               "302d300d06096086480165030402040500041c"),
    "SHA256": ("sha256", hashes.SHA256, PyKCS11.CKM_SHA256, PyKCS11.CKG_MGF1_SHA256,
               "3031300d060960864801650304020105000420"),
    "SHA384": ("sha384", hashes.SHA384, PyKCS11.CKM_SHA384, PyKCS11.CKG_MGF1_SHA384,
               "3041300d060960864801650304020205000430"),
    "SHA512": ("sha512", hashes.SHA512, PyKCS11.CKM_SHA512, PyKCS11.CKG_MGF1_SHA512,
               "3051300d060960864801650304020305000440"),
}

# Signing recipes: mechanism name -> (key type, form, hash). Forms:
#   "hash-rsa"  PKCS#1 v1.5 with hashing on the token, input = message
#   "di-rsa"    CKM_RSA_PKCS, input = DigestInfo || digest
#   "hash-pss"  PSS with hashing on the token, input = message
#   "pss"       CKM_RSA_PKCS_PSS, input = digest
#   "ecdsa"     CKM_ECDSA, input = digest
#   "hash-ecdsa" ECDSA with hashing on the token, input = message
# Source for each: PKCS#11 2.40 Current Mechanisms, the section named.
RECIPES = [
    # "PKCS #1 v1.5 RSA signature with MD2, MD5, SHA-1, SHA-256, SHA-384, SHA-512..."
    ("CKM_SHA1_RSA_PKCS", "rsa", "hash-rsa", "SHA1"),
    ("CKM_SHA256_RSA_PKCS", "rsa", "hash-rsa", "SHA256"),
    ("CKM_SHA384_RSA_PKCS", "rsa", "hash-rsa", "SHA384"),
    ("CKM_SHA512_RSA_PKCS", "rsa", "hash-rsa", "SHA512"),
    # "PKCS #1 v1.5 RSA signature with SHA-224"
    ("CKM_SHA224_RSA_PKCS", "rsa", "hash-rsa", "SHA224"),
    # "PKCS #1 v1.5 RSA": the caller builds DigestInfo (libp11, OpenSSH, crypto11 do)
    ("CKM_RSA_PKCS", "rsa", "di-rsa", "SHA256"),
    ("CKM_RSA_PKCS", "rsa", "di-rsa", "SHA384"),
    ("CKM_RSA_PKCS", "rsa", "di-rsa", "SHA512"),
    # "PKCS #1 RSA PSS signature with SHA-1, SHA-256, SHA-384 or SHA-512", salt = hash length
    ("CKM_SHA1_RSA_PKCS_PSS", "rsa", "hash-pss", "SHA1"),
    ("CKM_SHA256_RSA_PKCS_PSS", "rsa", "hash-pss", "SHA256"),
    ("CKM_SHA384_RSA_PKCS_PSS", "rsa", "hash-pss", "SHA384"),
    ("CKM_SHA512_RSA_PKCS_PSS", "rsa", "hash-pss", "SHA512"),
    # "PKCS #1 RSA PSS signature with SHA-224"
    ("CKM_SHA224_RSA_PKCS_PSS", "rsa", "hash-pss", "SHA224"),
    # "PKCS #1 RSA PSS": input is the digest, parameters name its hash
    ("CKM_RSA_PKCS_PSS", "rsa", "pss", "SHA256"),
    ("CKM_RSA_PKCS_PSS", "rsa", "pss", "SHA384"),
    ("CKM_RSA_PKCS_PSS", "rsa", "pss", "SHA512"),
    # "ECDSA without hashing": a bare digest of any length (shorter and longer
    # than the curve's order both occur: openssl sends SHA-256 for P-384)
    ("CKM_ECDSA", "ec", "ecdsa", "SHA1"),
    ("CKM_ECDSA", "ec", "ecdsa", "SHA256"),
    ("CKM_ECDSA", "ec", "ecdsa", "SHA384"),
    ("CKM_ECDSA", "ec", "ecdsa", "SHA512"),
    # "ECDSA with hashing"
    ("CKM_ECDSA_SHA1", "ec", "hash-ecdsa", "SHA1"),
    ("CKM_ECDSA_SHA224", "ec", "hash-ecdsa", "SHA224"),
    ("CKM_ECDSA_SHA256", "ec", "hash-ecdsa", "SHA256"),
    ("CKM_ECDSA_SHA384", "ec", "hash-ecdsa", "SHA384"),
    ("CKM_ECDSA_SHA512", "ec", "hash-ecdsa", "SHA512"),
]

# OAEP decryption: (hash of OAEP and of MGF1). PKCS#11 2.40 Current
# Mechanisms "PKCS #1 RSA OAEP"; AWS KMS supports RSAES_OAEP_SHA_1/SHA_256.
OAEP_HASHES = ["SHA1", "SHA256"]

# Named curves by CKA_EC_PARAMS (DER OID). RFC 5480 §2.1.1.1; SEC 2 v2 §A.2.
CURVES = {
    "06082a8648ce3d030107": ("P-256", ec.SECP256R1),
    "06052b81040022": ("P-384", ec.SECP384R1),
    "06052b81040023": ("P-521", ec.SECP521R1),
    "06052b8104000a": ("secp256k1", ec.SECP256K1),
}

# How the check name tells recipes of one mechanism apart.
VARIANT = {"di-rsa": " over {} DigestInfo", "pss": " over {}", "ecdsa": " over {}"}

# The multi-part path (C_SignUpdate/C_SignFinal) is what Java and
# pkcs11-provider use; it is run for every hashing mechanism.
HASHING_FORMS = ("hash-rsa", "hash-pss", "hash-ecdsa")


def emit(op, key, result, detail="", **extra):
    rec = {"op": op, "key": key, "result": result, "detail": detail}
    rec.update(extra)
    print(json.dumps(rec), flush=True)


def der_octet_string(b):
    """Returns the content of a DER OCTET STRING, or raises ValueError."""
    if len(b) < 2 or b[0] != 0x04:
        raise ValueError("not a DER OCTET STRING")
    n, off = b[1], 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 2 or len(b) < 2 + k:
            raise ValueError("bad DER length")
        n, off = int.from_bytes(b[2:2 + k], "big"), 2 + k
    if off + n != len(b):
        raise ValueError("DER length %d does not match %d content bytes" % (n, len(b) - off))
    return b[off:]


def public_key(sess, pub):
    """Builds a cryptography public key from a public key object's attributes."""
    ktype = sess.getAttributeValue(pub, [PyKCS11.CKA_KEY_TYPE])[0]
    if ktype == PyKCS11.CKK_RSA:
        n, e = sess.getAttributeValue(pub, [PyKCS11.CKA_MODULUS, PyKCS11.CKA_PUBLIC_EXPONENT], True)
        return "rsa", rsa.RSAPublicNumbers(int.from_bytes(bytes(e), "big"),
                                           int.from_bytes(bytes(n), "big")).public_key()
    if ktype == PyKCS11.CKK_EC:
        params, point = sess.getAttributeValue(pub, [PyKCS11.CKA_EC_PARAMS, PyKCS11.CKA_EC_POINT], True)
        curve = CURVES.get(bytes(params).hex())
        if curve is None:
            raise ValueError("unknown CKA_EC_PARAMS " + bytes(params).hex())
        raw = der_octet_string(bytes(point))
        return "ec", ec.EllipticCurvePublicKey.from_encoded_point(curve[1](), raw)
    raise ValueError("key type 0x%x is not RSA or EC" % ktype)


def mechanism(name, form, h):
    mech = PyKCS11.CKM[name]
    if form in ("hash-pss", "pss"):
        _, cls, ckm_hash, mgf, _ = HASHES[h]
        return PyKCS11.RSA_PSS_Mechanism(mech, ckm_hash, mgf, cls.digest_size)
    return PyKCS11.Mechanism(mech, None)


def token_input(form, h):
    hname, _, _, _, di = HASHES[h]
    if form.startswith("hash-"):
        return MESSAGE
    digest = hashlib.new(hname, MESSAGE).digest()
    if form == "di-rsa":
        return bytes.fromhex(di) + digest
    return digest


def sign_multipart(sess, key, mech, data):
    """C_SignInit, three C_SignUpdate calls, C_SignFinal (size query first)."""
    lib, h = sess.lib, sess.session
    rv = lib.C_SignInit(h, mech.to_native(), key)
    if rv != PyKCS11.CKR_OK:
        raise PyKCS11.PyKCS11Error(rv)
    third = len(data) // 3
    for chunk in (data[:third], data[third:2 * third], data[2 * third:]):
        rv = lib.C_SignUpdate(h, PyKCS11.ckbytelist(chunk))
        if rv != PyKCS11.CKR_OK:
            raise PyKCS11.PyKCS11Error(rv)
    sig = PyKCS11.ckbytelist()
    for _ in range(2):  # size query, then the signature
        rv = lib.C_SignFinal(h, sig)
        if rv != PyKCS11.CKR_OK:
            raise PyKCS11.PyKCS11Error(rv)
    return bytes(sig)


def verify(kind, pub, form, h, sig, curve_bits):
    """Verifies sig over MESSAGE in software; raises InvalidSignature."""
    _, cls, _, _, _ = HASHES[h]
    if kind == "rsa":
        if form in ("hash-rsa", "di-rsa"):
            pub.verify(sig, MESSAGE, padding.PKCS1v15(), cls())
        else:
            pub.verify(sig, MESSAGE, padding.PSS(padding.MGF1(cls()), cls.digest_size), cls())
        return
    size = (curve_bits + 7) // 8
    if len(sig) != 2 * size:
        raise InvalidSignature("ECDSA signature is %d bytes, want r||s of 2x%d" % (len(sig), size))
    der = encode_dss_signature(int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big"))
    pub.verify(der, MESSAGE, ec.ECDSA(cls()))


def oaep_roundtrip(sess, key, pub, h):
    _, cls, ckm_hash, mgf, _ = HASHES[h]
    plaintext = b"p11kms OAEP " + h.encode()
    ct = pub.encrypt(plaintext, padding.OAEP(padding.MGF1(cls()), cls(), None))
    out = bytes(sess.decrypt(key, ct, PyKCS11.RSAOAEPMechanism(ckm_hash, mgf)))
    if out != plaintext:
        raise ValueError("decrypted %d bytes that differ from the plaintext" % len(out))


def refused_sign(sess, priv, kind, label):
    """A key with CKA_SIGN false must not sign: C_SignInit answers
    CKR_KEY_FUNCTION_NOT_PERMITTED (PKCS#11 2.40 base specification,
    C_SignInit and the return value's definition)."""
    mech = PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS if kind == "rsa" else PyKCS11.CKM_ECDSA, None)
    op = "sign refused with CKR_KEY_FUNCTION_NOT_PERMITTED (CKA_SIGN false)"
    try:
        sess.sign(priv, b"must not be signed", mech)
        emit(op, label, "fail", "the token signed with a key whose CKA_SIGN is false")
    except PyKCS11.PyKCS11Error as e:
        if e.value == PyKCS11.CKR_KEY_FUNCTION_NOT_PERMITTED:
            emit(op, label, "pass", str(e))
        else:
            emit(op, label, "fail", "token: %s" % e)


def key_pairs(sess):
    """Yields (label, private handle, public handle) pairs joined by CKA_ID."""
    pubs = {}
    for o in sess.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY)]):
        cid = bytes(sess.getAttributeValue(o, [PyKCS11.CKA_ID], True)[0])
        pubs[cid] = o
    for o in sess.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY)]):
        cid, label = sess.getAttributeValue(o, [PyKCS11.CKA_ID, PyKCS11.CKA_LABEL], True)
        yield bytes(label).decode(errors="replace"), bytes(cid), o, pubs.get(bytes(cid))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--pin", default=os.environ.get("P11_PIN", ""))
    args = ap.parse_args()

    lib = PyKCS11.PyKCS11Lib()
    try:
        lib.load(args.module)
        slot = next((s for s in lib.getSlotList(tokenPresent=True)
                     if lib.getTokenInfo(s).label.strip() == args.token), None)
        if slot is None:
            print("no token labelled %r" % args.token, file=sys.stderr)
            return 2
        mechs = set(lib.getMechanismList(slot))
        sess = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
        if args.pin:
            sess.login(args.pin)
    except PyKCS11.PyKCS11Error as e:
        print("setup: %s" % e, file=sys.stderr)
        return 2

    for name in sorted(mechs):
        if name not in {r[0] for r in RECIPES} and name not in ("CKM_RSA_PKCS_OAEP",):
            info = lib.getMechanismInfo(slot, name)
            if info.flags & PyKCS11.CKF_SIGN:
                emit("sign " + name, "", "skip", "listed with CKF_SIGN; this script has no recipe for it")

    for label, cid, priv, pubh in key_pairs(sess):
        if pubh is None:
            emit("public key", label, "fail", "no public key object with CKA_ID %s" % cid.hex())
            continue
        try:
            kind, pub = public_key(sess, pubh)
        except (ValueError, PyKCS11.PyKCS11Error) as e:
            emit("public key", label, "fail", "public key attributes: %s" % e)
            continue
        spki = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        emit("public key", label, "info", "", spki=spki.hex(), id=cid.hex())
        bits = pub.key_size if kind == "ec" else 0
        can_sign, can_decrypt = sess.getAttributeValue(priv, [PyKCS11.CKA_SIGN, PyKCS11.CKA_DECRYPT])
        for mname, ktype, form, h in RECIPES:
            if ktype != kind or mname not in mechs:
                continue
            check = "sign " + mname + VARIANT.get(form, "").format(h)
            if not can_sign:
                continue  # refused_sign below checks such keys
            info = lib.getMechanismInfo(slot, mname)
            size = pub.key_size
            if not info.flags & PyKCS11.CKF_SIGN:
                emit(check, label, "skip", "mechanism listed without CKF_SIGN")
                continue
            if not info.ulMinKeySize <= size <= info.ulMaxKeySize:
                emit(check, label, "skip", "key size %d outside the mechanism's [%d, %d]" % (size, info.ulMinKeySize, info.ulMaxKeySize))
                continue
            variants = [("", False)] + ([(" multi-part", True)] if form in HASHING_FORMS else [])
            for suffix, multi in variants:
                try:
                    mech, data = mechanism(mname, form, h), token_input(form, h)
                    sig = sign_multipart(sess, priv, mech, data) if multi else bytes(sess.sign(priv, data, mech))
                    verify(kind, pub, form, h, sig, bits)
                    emit(check + suffix, label, "pass", "%d-byte signature verified by python3-cryptography" % len(sig))
                except PyKCS11.PyKCS11Error as e:
                    emit(check + suffix, label, "fail", "token: %s" % e)
                except (InvalidSignature, ValueError) as e:
                    emit(check + suffix, label, "fail", "signature does not verify: %s" % (str(e) or "InvalidSignature"))
        if not can_sign:
            refused_sign(sess, priv, kind, label)
        if kind == "rsa" and "CKM_RSA_PKCS_OAEP" in mechs:
            for h in OAEP_HASHES:
                check = "decrypt CKM_RSA_PKCS_OAEP " + h
                if not can_decrypt:
                    continue  # sign-only keys: nothing to decrypt
                try:
                    oaep_roundtrip(sess, priv, pub, h)
                    emit(check, label, "pass", "token decrypted what python3-cryptography encrypted")
                except PyKCS11.PyKCS11Error as e:
                    emit(check, label, "fail", "token: %s" % e)
                except ValueError as e:
                    emit(check, label, "fail", str(e))
    if args.pin:
        sess.logout()
    sess.closeSession()
    return 0


if __name__ == "__main__":
    sys.exit(main())
