package token

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// Fuzz targets of the token's input handling. Their seed corpora live in
// testdata/fuzz/<target>; `go test ./token` replays them, and
// `go test -fuzz=FuzzX -fuzztime=1m ./token` explores further.

// fuzzAttrTypes are the attribute types a fuzz input selects by index (any
// other index reads a raw 4-byte type): the ones key objects have, the
// sensitive ones, and some they lack.
var fuzzAttrTypes = []uint{
	ck.CKA_CLASS, ck.CKA_TOKEN, ck.CKA_PRIVATE, ck.CKA_LABEL, ck.CKA_ID, ck.CKA_KEY_TYPE,
	ck.CKA_SIGN, ck.CKA_VERIFY, ck.CKA_MODULUS, ck.CKA_PUBLIC_EXPONENT, ck.CKA_MODULUS_BITS,
	ck.CKA_EC_PARAMS, ck.CKA_EC_POINT, ck.CKA_PRIVATE_EXPONENT, ck.CKA_PRIME_1, ck.CKA_VALUE,
	ck.CKA_SUBJECT, ck.CKA_ALLOWED_MECHANISMS, ck.CKA_PUBLIC_KEY_INFO, ck.CKA_END_DATE,
	ck.CKA_CERTIFICATE_TYPE, ck.CKA_VENDOR_DEFINED | 1,
}

// fuzzObjects builds the private and public objects of an in-process RSA-2048
// and P-256 key (attrs_key_test.go's keys), once per test binary.
var fuzzObjects = sync.OnceValues(func() ([]*object, error) {
	keys, err := objKeysOnce()
	if err != nil {
		return nil, err
	}
	var out []*object
	for _, k := range keys[:2] {
		pub, err := mechanisms.ParsePublicKey(k.spki)
		if err != nil {
			return nil, err
		}
		priv, pubo, err := newKeyObjects(objKeyInfo(k.spec, kmsbackend.UsageSignVerify, k.spki), pub, true)
		if err != nil {
			return nil, err
		}
		out = append(out, priv, pubo)
	}
	return out, nil
})

// fuzzReader consumes a fuzz input; reading past its end gives zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) more() bool { return len(r.b) > 0 }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) bytes(n int) []byte {
	n = min(n, len(r.b))
	out := bytes.Clone(r.b[:n])
	r.b = r.b[n:]
	return out
}

func (r *fuzzReader) u32() uint32 {
	var b [4]byte
	copy(b[:], r.bytes(4))
	return binary.LittleEndian.Uint32(b[:])
}

// attrType reads a type: an index into fuzzAttrTypes, or 0xFF and 4 raw bytes.
func (r *fuzzReader) attrType() uint {
	if i := int(r.byte()); i < len(fuzzAttrTypes) {
		return fuzzAttrTypes[i]
	}
	return uint(r.u32())
}

// template decodes a search template: each attribute is a type, then a
// length byte and that many value bytes, or length 0xFF and an object index
// whose real value of the type is used (so that fuzzing reaches matches).
func (r *fuzzReader) template(objs []*object) []Attribute {
	var tmpl []Attribute
	for r.more() && len(tmpl) < 32 {
		a := Attribute{Type: r.attrType()}
		if n := r.byte(); n != 0xFF {
			a.Value = r.bytes(int(n))
		} else {
			a.Value = bytes.Clone(objs[int(r.byte())%len(objs)].attrs[a.Type])
		}
		tmpl = append(tmpl, a)
	}
	return tmpl
}

func FuzzTemplateMatch(f *testing.F) {
	f.Add([]byte{})                             // the empty template matches every object
	f.Add([]byte{0, 0xFF, 0})                   // CKA_CLASS of the RSA private key
	f.Add([]byte{0, 3, 1, 2, 3})                // CKA_CLASS with 3 bytes: matches nothing
	f.Add([]byte{4, 0xFF, 1, 3, 0xFF, 2})       // CKA_ID and CKA_LABEL taken from objects
	f.Add([]byte{13, 0, 8, 0xFF, 1})            // a sensitive attribute, then CKA_MODULUS
	f.Add([]byte{0xFE, 1, 0, 0, 0x80, 0xFF, 0}) // a raw vendor type
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := fuzzObjects()
		require.NoError(t, err)
		tmpl := (&fuzzReader{b: data}).template(objs)
		for _, o := range objs {
			// Oracle: C_GetAttributeValue's view of each template attribute
			// (PKCS#11 2.40 §5.8: match = has every attribute, byte-equal).
			want := true
			for _, a := range tmpl {
				reqs := []AttrRequest{{Type: a.Type, HasBuf: true, BufLen: 1 << 20}}
				if o.getAttributeValue(reqs) != nil || !bytes.Equal(reqs[0].Value, a.Value) {
					want = false
				}
			}
			got := o.matches(tmpl)
			require.Equal(t, want, got, "object class %#x, template %v", o.class, tmpl)
			if got && len(tmpl) > 0 { // a sub-template of a matching one matches
				require.True(t, o.matches(tmpl[1:]))
			}
		}
	})
}

// attrRequests decodes C_GetAttributeValue entries: a type, a flags byte
// (bit 0: a buffer is given; bit 1: its length is the value's length plus a
// signed byte; bit 2: a huge length) and, otherwise, a 2-byte length.
func (r *fuzzReader) attrRequests(o *object) []AttrRequest {
	var reqs []AttrRequest
	for r.more() && len(reqs) < 64 {
		q := AttrRequest{Type: r.attrType()}
		flags := r.byte()
		q.HasBuf = flags&1 != 0
		switch {
		case flags&4 != 0:
			q.BufLen = 1<<40 + uint(r.byte())
		case flags&2 != 0:
			q.BufLen = uint(max(0, len(o.attrs[q.Type])+int(int8(r.byte()))))
		default:
			q.BufLen = uint(r.byte()) | uint(r.byte())<<8
		}
		reqs = append(reqs, q)
	}
	return reqs
}

func FuzzGetAttributeValue(f *testing.F) {
	f.Add(byte(0), []byte{})
	f.Add(byte(1), []byte{8, 0})                  // CKA_MODULUS size query
	f.Add(byte(1), []byte{8, 3, 0, 8, 3, 0xFF})   // exact buffer, one byte short
	f.Add(byte(0), []byte{13, 1, 0, 2, 15, 0, 9}) // sensitive, type invalid
	f.Add(byte(2), []byte{12, 5, 0, 3, 1, 0, 0})  // huge buffer, zero buffer
	f.Fuzz(func(t *testing.T, which byte, data []byte) {
		objs, err := fuzzObjects()
		require.NoError(t, err)
		o := objs[int(which)%len(objs)]
		reqs := (&fuzzReader{b: data}).attrRequests(o)
		in := append([]AttrRequest(nil), reqs...)
		rv := ck.RV(o.getAttributeValue(reqs))
		worst := attrOK
		for i, q := range in {
			// Oracle: PKCS#11 2.40 §5.7 C_GetAttributeValue cases 1-5, entry by entry.
			v, has := o.attrs[q.Type]
			want, out := q, attrOK
			want.Len, want.Value = ck.UnavailableInformation, nil
			switch {
			case o.sensitive[q.Type]:
				out = attrSensitive
			case !has:
				out = attrTypeInvalid
			case !q.HasBuf:
				want.Len = uint(len(v))
			case q.BufLen < uint(len(v)):
				out = attrBufferSmall
			default:
				want.Len, want.Value = uint(len(v)), append([]byte{}, v...)
			}
			worst = max(worst, out)
			require.Equal(t, want, reqs[i], "entry %d", i)
			if len(reqs[i].Value) > 0 { // the caller's copy is its own
				orig := bytes.Clone(v)
				reqs[i].Value[0] ^= 0xFF
				require.Equal(t, orig, o.attrs[q.Type], "changing the copy left the object alone")
			}
		}
		require.Equal(t, ck.RVName(attrOutcomeRV[worst]), ck.RVName(rv))
	})
}

// fuzzSafeCertFile matches certificate file names a fuzzed configuration may
// make ParseConfig read: plain names in the package directory (a fuzzed
// "/dev/zero" or "/dev/stdin" would read forever).
var fuzzSafeCertFile = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)

func FuzzParseConfig(f *testing.F) {
	f.Add("tokens: [{label: a}]")
	f.Add("log: {level: debug, file: /tmp/x.log}\ntokens:\n  - label: ca\n    region: sa-east-1\n    keys: {aliases: [root], tags: {team: pki}}\n    call_timeout: 3s\n")
	f.Add("tokens: [{label: a, anonymous: true}]")
	f.Add("tokens: [{label: a}, {label: a}]")
	f.Add("tokens: [{label: x, pin: \"pbkdf2-sha256$1000$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]")
	f.Add("tokens: [{label: x, certificates: [{key: k, file: missing.pem}]}]")
	f.Fuzz(func(t *testing.T, s string) {
		var probe Config
		if yaml.Unmarshal([]byte(s), &probe) == nil {
			for _, tc := range probe.Tokens {
				for _, c := range tc.Certificates {
					if c.File != "" && !fuzzSafeCertFile.MatchString(c.File) {
						return
					}
				}
			}
		}
		_ = looksLikeConfig(s) // must not panic either
		c, err := ParseConfig([]byte(s))
		if err != nil {
			require.Nil(t, c)
			return
		}
		require.NoError(t, c.validate(), "an accepted configuration re-validates")
		require.NotEmpty(t, c.Tokens)
		labels := map[string]bool{}
		for _, tc := range c.Tokens {
			require.NotEmpty(t, strings.TrimSpace(tc.Label))
			require.LessOrEqual(t, len(tc.Label), 32)
			require.False(t, labels[tc.Label], "label %q twice", tc.Label)
			labels[tc.Label] = true
			require.GreaterOrEqual(t, tc.MaxPINAttempts, 0)
			require.False(t, tc.Anonymous && tc.Endpoint == "")
			if tc.PIN != "" {
				_, err := parsePINHash(tc.PIN)
				require.NoError(t, err)
			}
		}
	})
}

func FuzzParseURI(f *testing.F) {
	f.Add("pkcs11:")
	f.Add("pkcs11:model=AWS%20KMS;manufacturer=p11kms;serial=0123456789abcdef;token=devkms;id=%01%02;object=my%20key;type=private")
	f.Add("pkcs11:token=t;object=k?pin-value=1234&module-path=/usr/lib/p11kms.so")
	f.Add("pkcs11:library-version=2.40;slot-id=7;object=a&b%3Bc")
	f.Add("pkcs11:object=%zz")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			require.Equal(t, URI{}, u)
			return
		}
		out := u.String()
		for i := 0; i < len(out); i++ { // String writes only URI characters (RFC 3986 §2)
			c := out[i]
			require.True(t, uriUnreserved(c) || strings.IndexByte(":[]@!$'()*+,=&/?|%;", c) >= 0, "byte %#x in %q", c, out)
		}
		back, err := ParseURI(out)
		require.NoError(t, err, "String's output %q parses", out)
		require.Equal(t, u, back, "round trip through %q", out)
		require.Equal(t, out, back.String(), "String is canonical")
		red := u
		if red.PINValue != "" {
			red.PINValue = "REDACTED"
		}
		require.Equal(t, red.String(), u.Redacted())
	})
}
