package token

import (
	"errors"
	"strings"
)

// uriUnreserved reports the unreserved characters of RFC 3986 §2.3:
// ALPHA / DIGIT / "-" / "." / "_" / "~".
func uriUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// uriPathAllowed are the reserved characters a path value may hold unencoded:
// pk11-res-avail plus "&" (RFC 7512 §2.3, pk11-path-res-avail).
const uriPathAllowed = ":[]@!$'()*+,=&"

// uriQueryAllowed are the reserved characters a query value may hold
// unencoded: pk11-res-avail plus "/", "?" and "|" (RFC 7512 §2.3,
// pk11-query-res-avail).
const uriQueryAllowed = ":[]@!$'()*+,=/?|"

const upperHex = "0123456789ABCDEF"

// percentEncode encodes v for a path (query false) or query value: every
// byte outside the unreserved and allowed reserved characters becomes %XX
// with upper-case digits (RFC 3986 §2.1); all bytes do when all is set.
func percentEncode(v string, query, all bool) string {
	allowed := uriPathAllowed
	if query {
		allowed = uriQueryAllowed
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !all && (uriUnreserved(c) || strings.IndexByte(allowed, c) >= 0) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

// percentDecode decodes every %XX of s (either case); other bytes stand for
// themselves. A "%" not followed by two hexadecimal digits is an error.
func percentDecode(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("truncated %-escape")
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", errors.New("%-escape without two hexadecimal digits")
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	return string(out), nil
}

// unhex returns the value of a hexadecimal digit.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
