package mechanisms

import (
	"errors"
	"fmt"
)

// DER tags used by the strict readers in this package (X.690 §8).
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
)

// errDERTruncated reports a TLV whose length runs past the input.
var errDERTruncated = errors.New("DER element truncated")

// readTLV reads one DER element with a single-byte tag, enforcing the
// definite, minimal length encoding DER requires (X.690 §10.1, §8.1.3).
// Lengths above 0xFFFF are refused: nothing parsed here is that long.
func readTLV(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errDERTruncated
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, fmt.Errorf("DER high-tag-number form 0x%02x not allowed", tag)
	}
	n, hdr := int(b[1]), 2
	switch {
	case n < 0x80:
	case n == 0x81:
		if len(b) < 3 || b[2] < 0x80 {
			return 0, nil, nil, errors.New("DER length not minimal or truncated")
		}
		n, hdr = int(b[2]), 3
	case n == 0x82:
		if len(b) < 4 || b[2] == 0 {
			return 0, nil, nil, errors.New("DER length not minimal or truncated")
		}
		n, hdr = int(b[2])<<8|int(b[3]), 4
	case n == 0x80:
		return 0, nil, nil, errors.New("DER indefinite length not allowed")
	default:
		return 0, nil, nil, fmt.Errorf("DER length form 0x%02x too large", n)
	}
	if len(b)-hdr < n {
		return 0, nil, nil, errDERTruncated
	}
	return tag, b[hdr : hdr+n], b[hdr+n:], nil
}

// readExpect reads one element and checks its tag.
func readExpect(b []byte, want byte, what string) (content, rest []byte, err error) {
	if len(b) > 0 && b[0] != want {
		return nil, nil, fmt.Errorf("%s: tag 0x%02x, want 0x%02x", what, b[0], want)
	}
	_, content, rest, err = readTLV(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	return content, rest, nil
}

// appendTLV appends a DER element with a minimal definite length.
func appendTLV(dst []byte, tag byte, content []byte) []byte {
	n := len(content)
	switch {
	case n < 0x80:
		dst = append(dst, tag, byte(n))
	case n <= 0xff:
		dst = append(dst, tag, 0x81, byte(n))
	default:
		dst = append(dst, tag, 0x82, byte(n>>8), byte(n))
	}
	return append(dst, content...)
}
