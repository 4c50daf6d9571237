#!/usr/bin/python3
"""jobs.py: run PKCS#11 operations through PyKCS11 by numeric mechanism and
report their raw results, for a caller that checks them with independent
verifiers (pykcs11_more_test.go: circl for ML-DSA, the openssl CLI for SM2
and Ed25519, openssl's derivation for ECDH). This script verifies nothing.

Run with Debian's /usr/bin/python3 (python3-pykcs11):

    jobs.py --module LIB --token LABEL [--pin PIN] < jobs.json

Input: a JSON list of jobs, each {"id": "...", "op": OP, "label": CKA_LABEL, ...}:
    sign     mech (int), param (hex or null), data (hex)   -> signature
    decrypt  mech (int), data (hex)                        -> plaintext
    derive   peer (hex, the peer's uncompressed point), len (int)
             -> CKA_VALUE of the derived CKK_GENERIC_SECRET session key
             (CKM_ECDH1_DERIVE through PyKCS11.ECDH1_DERIVE_Mechanism, CKD_NULL)
    attrs    class ("public"|"private"), attrs (list of int)
             -> the attributes' bytes, concatenated as "hex,hex,..."
Output: one JSON object per job on stdout, in input order:
    {"id": "...", "result": "ok", "out": "<hex>"}
    {"id": "...", "result": "error", "detail": "<PyKCS11Error text, e.g. CKR_DATA_LEN_RANGE (0x00000021)>"}
Exit status 0 when every job ran (whatever its result), 2 when the token
could not be used at all. Never prints the PIN.
"""

import argparse
import json
import os
import sys

import PyKCS11

CLASSES = {"public": PyKCS11.CKO_PUBLIC_KEY, "private": PyKCS11.CKO_PRIVATE_KEY}


def find(sess, cls, label):
    """Returns the one object of class cls labelled label."""
    objs = sess.findObjects([(PyKCS11.CKA_CLASS, CLASSES[cls]), (PyKCS11.CKA_LABEL, label)])
    if len(objs) != 1:
        raise LookupError("%d %s key objects labelled %r" % (len(objs), cls, label))
    return objs[0]


def run(sess, job):
    """Runs one job and returns its output bytes."""
    op = job["op"]
    if op == "sign":
        param = bytes.fromhex(job["param"]) if job.get("param") else None
        mech = PyKCS11.Mechanism(job["mech"], param)
        return bytes(sess.sign(find(sess, "private", job["label"]), bytes.fromhex(job["data"]), mech))
    if op == "decrypt":
        mech = PyKCS11.Mechanism(job["mech"], None)
        return bytes(sess.decrypt(find(sess, "private", job["label"]), bytes.fromhex(job["data"]), mech))
    if op == "derive":
        # PKCS#11 2.40 Current Mechanisms §2.3.9: a generic secret of the
        # field size, readable (CKA_SENSITIVE false, CKA_EXTRACTABLE true).
        template = [
            (PyKCS11.CKA_CLASS, PyKCS11.CKO_SECRET_KEY),
            (PyKCS11.CKA_KEY_TYPE, PyKCS11.CKK_GENERIC_SECRET),
            (PyKCS11.CKA_VALUE_LEN, job["len"]),
            (PyKCS11.CKA_TOKEN, PyKCS11.CK_FALSE),
            (PyKCS11.CKA_SENSITIVE, PyKCS11.CK_FALSE),
            (PyKCS11.CKA_EXTRACTABLE, PyKCS11.CK_TRUE),
        ]
        mech = PyKCS11.ECDH1_DERIVE_Mechanism(bytes.fromhex(job["peer"]))
        key = sess.deriveKey(find(sess, "private", job["label"]), template, mech)
        try:
            return bytes(sess.getAttributeValue(key, [PyKCS11.CKA_VALUE], True)[0])
        finally:
            sess.destroyObject(key)
    if op == "attrs":
        vals = sess.getAttributeValue(find(sess, job["class"], job["label"]), job["attrs"], True)
        return ",".join(bytes(v).hex() for v in vals).encode()
    raise ValueError("unknown op %r" % op)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--pin", default=os.environ.get("P11_PIN", ""))
    args = ap.parse_args()
    jobs = json.load(sys.stdin)

    lib = PyKCS11.PyKCS11Lib()
    try:
        lib.load(args.module)
        slot = next((s for s in lib.getSlotList(tokenPresent=True)
                     if lib.getTokenInfo(s).label.strip() == args.token), None)
        if slot is None:
            print("no token labelled %r" % args.token, file=sys.stderr)
            return 2
        sess = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
        if args.pin:
            sess.login(args.pin)
    except PyKCS11.PyKCS11Error as e:
        print("setup: %s" % e, file=sys.stderr)
        return 2

    for job in jobs:
        rec = {"id": job["id"]}
        try:
            out = run(sess, job)
            rec.update(result="ok", out=(out.decode() if job["op"] == "attrs" else out.hex()))
        except (PyKCS11.PyKCS11Error, LookupError, ValueError) as e:
            rec.update(result="error", detail=str(e))
        print(json.dumps(rec), flush=True)
    if args.pin:
        sess.logout()
    sess.closeSession()
    return 0


if __name__ == "__main__":
    sys.exit(main())
