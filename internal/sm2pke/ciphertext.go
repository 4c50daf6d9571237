package sm2pke

import (
	"bytes"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Ciphertext is an SM2 ciphertext read from its GM/T 0009-2012 form
// SEQUENCE { XCoordinate INTEGER, YCoordinate INTEGER, HASH OCTET STRING,
// CipherText OCTET STRING }: C1 = (X, Y), C3 = SM3(x2 || M || y2), C2 =
// M xor t, as long as the message (GB/T 32918.4-2016 section 6.1).
type Ciphertext struct {
	// X and Y are C1, a point of sm2p256v1 (never the infinity).
	X, Y *big.Int
	// C3 is the SM3 hash, C3Len bytes.
	C3 []byte
	// C2 is the masked message; Parse takes any length, even none.
	C2 []byte
}

// Parse reads a GM/T 0009 ciphertext strictly: one DER SEQUENCE of two
// minimal non-negative INTEGERs and two primitive OCTET STRINGs, nothing
// after it, C3 of C3Len bytes, (X, Y) a point of sm2p256v1 (GB/T
// 32918.4-2016 section 7.1 B1; B2 holds as h = 1). The bare C1||C3||C2 (or
// C1||C2||C3) concatenation is refused: it starts with 0x04, not a SEQUENCE.
// Errors wrap ErrInvalidCiphertext. C2 may be empty here (a caller can tell
// that length apart); Decrypt refuses it.
func Parse(der []byte) (*Ciphertext, error) {
	var seq, c3, c2 cryptobyte.String
	x, y := new(big.Int), new(big.Int)
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(x) || !seq.ReadASN1Integer(y) ||
		!seq.ReadASN1(&c3, cbasn1.OCTET_STRING) || !seq.ReadASN1(&c2, cbasn1.OCTET_STRING) || !seq.Empty() {
		return nil, fmt.Errorf("%w: not one DER SEQUENCE {x, y INTEGER, C3, C2 OCTET STRING} (GM/T 0009-2012)", ErrInvalidCiphertext)
	}
	if len(c3) != C3Len {
		return nil, fmt.Errorf("%w: hash C3 is %d bytes, SM3 is %d", ErrInvalidCiphertext, len(c3), C3Len)
	}
	// IsOnCurve refuses negative or oversized coordinates, a point off the
	// curve and (0, 0), the infinity of the affine API.
	if !sm2.P256().IsOnCurve(x, y) {
		return nil, fmt.Errorf("%w: C1 is not a point of sm2p256v1 (GB/T 32918.4-2016 section 7.1 B1)", ErrInvalidCiphertext)
	}
	return &Ciphertext{X: x, Y: y, C3: bytes.Clone(c3), C2: bytes.Clone(c2)}, nil
}

// marshal writes the GM/T 0009 DER form of (C1, C3, C2), the form OpenSSL
// writes and AWS KMS Decrypt takes (AWS KMS Developer Guide, "Offline
// encryption with SM2 key pairs").
func marshal(x1, y1 *big.Int, c3, c2 []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(x1)
		b.AddASN1BigInt(y1)
		b.AddASN1OctetString(c3)
		b.AddASN1OctetString(c2)
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("sm2pke: encoding the ciphertext: %w", err)
	}
	return der, nil
}
