package devkms

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
)

// wrongSignature answers a Sign request (FaultWrongSignature) with a
// signature that looks right but does not verify for the request. Even n:
// the real signature with its last byte flipped (for ECDSA the last DER
// byte belongs to s, so the DER stays well-formed). Odd n: a real signature
// over the request's message with its first byte flipped ("other data"; AWS
// KMS API reference, Sign: Message is a base64 blob in the JSON request,
// Signature a base64 blob in the response).
func (f *faultLayer) wrongSignature(w http.ResponseWriter, r *http.Request, n int) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"__type": "SerializationException", "message": "request body unreadable"})
		return
	}
	if n%2 == 1 {
		body = f.alterBlob(body, "Message", func(b []byte) { b[0] ^= 0xff })
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		f.next.ServeHTTP(w, r)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &responseRecorder{header: http.Header{}, code: http.StatusOK}
	f.next.ServeHTTP(rec, r)
	out := rec.body.Bytes()
	if rec.code == http.StatusOK {
		out = f.alterBlob(out, "Signature", func(b []byte) { b[len(b)-1] ^= 0x01 })
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.code)
	_, _ = w.Write(out)
}

// alterBlob applies change to the non-empty base64 blob field of a JSON
// document and returns the new document; a document it cannot parse, or
// without the field, comes back unchanged (and is logged).
func (f *faultLayer) alterBlob(doc []byte, field string, change func([]byte)) []byte {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		f.log.Warn("devkms: wrong-signature fault not applied: body is not JSON", "field", field)
		return doc
	}
	s, _ := m[field].(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		f.log.Warn("devkms: wrong-signature fault not applied: no base64 blob", "field", field)
		return doc
	}
	change(b)
	m[field] = base64.StdEncoding.EncodeToString(b)
	out, err := json.Marshal(m)
	if err != nil {
		return doc
	}
	return out
}

// responseRecorder keeps an answer in memory so it can be altered.
type responseRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

// Header implements http.ResponseWriter.
func (r *responseRecorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter.
func (r *responseRecorder) WriteHeader(code int) { r.code = code }

// Write implements http.ResponseWriter.
func (r *responseRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
