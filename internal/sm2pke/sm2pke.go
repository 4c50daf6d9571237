// Package sm2pke is SM2 public-key encryption, GB/T 32918.4-2016 (GM/T
// 0003.4-2012) sections 6.1 (encryption, steps A1-A8) and 7.1 (decryption,
// B1-B7), with the ciphertext in the GM/T 0009-2012 ASN.1 form AWS KMS and
// OpenSSL use (ciphertext.go). It is the one implementation the module's
// C_Encrypt (mechanisms/sm2pke.go) and the dev KMS (kmsbackend/devkms,
// engine_sm2.go) share; gmsm supplies only the curve arithmetic, SM3 and the
// KDF.
//
// gmsm v0.15.5's own sm2.Encrypt is not used: after drawing a k whose KDF
// output t is all zeros (1 in 256 for a 1-byte plaintext) it retries with
// the public point already overwritten by k·Q and returns a ciphertext no one
// can decrypt; its Decrypt tests C2 instead of t for all zeros and also
// takes the bare C1||C3||C2 form.
package sm2pke

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// ErrInvalidCiphertext is wrapped by every error Parse and Decrypt return
// for a ciphertext they refuse (malformed, C1 off the curve, t all zeros,
// C3 mismatch: GB/T 32918.4-2016 section 7.1 B1, B4, B6).
var ErrInvalidCiphertext = errors.New("sm2pke: invalid ciphertext")

// C3Len is the length of C3, an SM3 digest (GB/T 32918.4-2016 section 6.1
// A7; GM/T 0004-2012).
const C3Len = sm3.Size

// coordLen is the byte length of an sm2p256v1 coordinate or scalar
// (GB/T 32918.5-2017: p and n are 256 bits).
const coordLen = 32

// maxMsgLen is the longest message the KDF can cover: klen < (2^32-1)·v with
// v = 256 bits (GB/T 32918.4-2016 section 5.4.3); gmsm's kdf.Kdf panics past it.
const maxMsgLen uint64 = (1<<32 - 2) * 32

// maxDraws bounds the k values Encrypt draws (A1 range rejections plus A5
// retries). A working random source needs more than a few with negligible
// probability (2^-8 per retry for a 1-byte message); a broken one (all
// zeros, say) gets an error instead of a loop without end.
const maxDraws = 64

// Encrypt encrypts msg to the SM2 public key pub (GB/T 32918.4-2016 section
// 6.1) and returns the GM/T 0009 DER ciphertext SEQUENCE {x, y, C3, C2}.
// random supplies k (crypto/rand.Reader when nil): each draw reads 32 bytes,
// big-endian, taken as k when it lies in [1, n-1]. pub.Curve is not
// consulted: (pub.X, pub.Y) must be a point of sm2p256v1. msg must not be
// empty (klen = 0 has no t that is not all zeros).
func Encrypt(random io.Reader, pub *ecdsa.PublicKey, msg []byte) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	if len(msg) == 0 || uint64(len(msg)) > maxMsgLen {
		return nil, fmt.Errorf("sm2pke: plaintext of %d bytes; SM2 encrypts 1 to %d", len(msg), maxMsgLen)
	}
	curve := sm2.P256()
	// A3: S = [h]P_B must not be the point at infinity; h = 1, and
	// IsOnCurve refuses (0, 0), the infinity of the affine API.
	if pub == nil || pub.X == nil || pub.Y == nil || !curve.IsOnCurve(pub.X, pub.Y) {
		return nil, errors.New("sm2pke: public key is not a point of sm2p256v1")
	}
	for range maxDraws {
		k, err := drawScalar(random) // A1
		if err != nil {
			return nil, err
		}
		if k == nil {
			continue // A1: the 32 bytes were not in [1, n-1]
		}
		x1, y1 := curve.ScalarBaseMult(k)           // A2: C1 = [k]G
		x2, y2 := curve.ScalarMult(pub.X, pub.Y, k) // A4: [k]P_B; pub itself is never written
		clear(k)
		t, x2b, y2b := kdfT(x2, y2, len(msg)) // A5: t = KDF(x2 || y2, klen)
		if allZero(t) {
			continue // A5: t all zeros, back to A1 with a new k
		}
		c2 := make([]byte, len(msg))
		subtle.XORBytes(c2, msg, t)    // A6: C2 = M xor t
		c3 := hashC3(x2b, msg, y2b)    // A7: C3 = Hash(x2 || M || y2)
		return marshal(x1, y1, c3, c2) // A8, in the GM/T 0009 form
	}
	return nil, fmt.Errorf("sm2pke: the random source gave no usable k in %d draws", maxDraws)
}

// Decrypt decrypts the GM/T 0009 DER ciphertext der with the SM2 private key
// priv (GB/T 32918.4-2016 section 7.1). Anything Parse refuses, an empty C2,
// an all-zero t (B4) or a C3 that does not match (B6, e.g. another key's
// ciphertext) is an error wrapping ErrInvalidCiphertext; a private key
// outside [1, n-2] is another error. priv.Curve is not consulted.
func Decrypt(priv *ecdsa.PrivateKey, der []byte) ([]byte, error) {
	curve := sm2.P256()
	n := curve.Params().N
	if priv == nil || priv.D == nil || priv.D.Sign() <= 0 || priv.D.Cmp(new(big.Int).Sub(n, big.NewInt(1))) >= 0 {
		return nil, errors.New("sm2pke: private key is not in [1, n-2] (GB/T 32918.1-2016 section 6.1)")
	}
	c, err := Parse(der) // B1 (and B2: h = 1, C1 is not the infinity)
	if err != nil {
		return nil, err
	}
	if len(c.C2) == 0 {
		return nil, fmt.Errorf("%w: C2 is empty", ErrInvalidCiphertext)
	}
	d := priv.D.FillBytes(make([]byte, coordLen))
	x2, y2 := curve.ScalarMult(c.X, c.Y, d) // B3: [d_B]C1
	clear(d)
	t, x2b, y2b := kdfT(x2, y2, len(c.C2)) // B4: t = KDF(x2 || y2, klen)
	if allZero(t) {
		return nil, fmt.Errorf("%w: KDF output t is all zeros", ErrInvalidCiphertext)
	}
	m := make([]byte, len(c.C2))
	subtle.XORBytes(m, c.C2, t)                                     // B5: M' = C2 xor t
	if subtle.ConstantTimeCompare(hashC3(x2b, m, y2b), c.C3) != 1 { // B6: u = Hash(x2 || M' || y2) = C3
		return nil, fmt.Errorf("%w: C3 does not match (another key's ciphertext, or altered)", ErrInvalidCiphertext)
	}
	return m, nil // B7
}

// drawScalar reads 32 bytes from random and returns them as k when
// 1 <= k <= n-1 (GB/T 32918.4-2016 section 6.1 A1), else nil (the caller
// draws again; for sm2p256v1 that is about 1 time in 2^32). The range test
// runs in constant time.
func drawScalar(random io.Reader) ([]byte, error) {
	k := make([]byte, coordLen)
	if _, err := io.ReadFull(random, k); err != nil {
		return nil, fmt.Errorf("sm2pke: reading k from the random source: %w", err)
	}
	n := sm2.P256().Params().N.FillBytes(make([]byte, coordLen))
	var borrow uint32 // k - n, byte by byte from the least significant: a borrow out means k < n
	for i := coordLen - 1; i >= 0; i-- {
		borrow = (uint32(k[i]) - uint32(n[i]) - borrow) >> 31
	}
	if borrow == 0 || allZero(k) {
		return nil, nil
	}
	return k, nil
}

// kdfT returns t = KDF(x2 || y2, klen) with SM3 (GB/T 32918.4-2016 section
// 5.4.3; steps A5 and B4), klen = n bytes, and the 32-byte coordinates.
func kdfT(x2, y2 *big.Int, n int) (t, x, y []byte) {
	xy := make([]byte, 2*coordLen)
	x2.FillBytes(xy[:coordLen])
	y2.FillBytes(xy[coordLen:])
	return kdf.Kdf(sm3.New(), xy, n), xy[:coordLen], xy[coordLen:]
}

// hashC3 is C3 = SM3(x2 || M || y2) (GB/T 32918.4-2016 section 6.1 A7, 7.1 B6).
func hashC3(x, m, y []byte) []byte {
	h := sm3.New()
	h.Write(x)
	h.Write(m)
	h.Write(y)
	return h.Sum(nil)
}

// allZero reports, in time that depends only on len(b), whether every byte
// of b is zero.
func allZero(b []byte) bool {
	var acc byte
	for _, v := range b {
		acc |= v
	}
	return subtle.ConstantTimeByteEq(acc, 0) == 1
}
