package devkms

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/nsmithuk/local-kms/src/data"
	"github.com/nsmithuk/local-kms/src/handler"
	"github.com/sirupsen/logrus"
)

// operations maps each AWS KMS operation name local-kms implements to the
// index of its method on *handler.RequestHandler: every exported method of
// the form func() handler.Response is one operation (local-kms's own
// dispatch, src/server.go, calls them by the name after "TrentService." in
// the X-Amz-Target header).
var operations = func() map[string]int {
	ops := map[string]int{}
	t := reflect.TypeFor[*handler.RequestHandler]()
	want := reflect.TypeFor[handler.Response]()
	for i := range t.NumMethod() {
		m := t.Method(i)
		if m.Type.NumIn() == 1 && m.Type.NumOut() == 1 && m.Type.Out(0) == want {
			ops[m.Name] = i
		}
	}
	return ops
}()

// maxRequestBody bounds a request body; AWS KMS requests are far smaller
// (AWS KMS API reference: Sign Message and Decrypt CiphertextBlob <= 6144 bytes).
const maxRequestBody = 1 << 20

// kmsHandler serves the AWS KMS JSON protocol (awsJson1_1) with local-kms's
// operation handlers, recovering their panics.
type kmsHandler struct {
	db     *data.Database
	log    *slog.Logger
	logrus *logrus.Logger
	own    ownStore // the keys local-kms lacks (ownkeys.go)
}

// ServeHTTP answers one request. A panic inside local-kms (DESIGN.md lists
// requests that trigger one) becomes an HTTP 500 InternalFailureException
// instead of a dropped connection, and the server keeps serving.
func (h *kmsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &trackingWriter{ResponseWriter: w}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	defer func() {
		if v := recover(); v != nil {
			h.log.Error("devkms: local-kms panicked; answering 500", "op", op, "panic", fmt.Sprint(v))
			if !rw.wroteHeader {
				writeJSON(rw, http.StatusInternalServerError, map[string]string{
					"__type":  "InternalFailureException",
					"message": "the dev KMS failed on this request (local-kms panicked)",
				})
			}
		}
	}()

	// The same gatekeeping as local-kms's src.HandleRequest.
	switch {
	case r.URL.Path != "/":
		http.Error(rw, "Page not found", http.StatusNotFound)
		return
	case r.Method != http.MethodPost:
		http.Error(rw, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	case !strings.Contains(r.Header.Get("Content-Type"), "json"):
		http.Error(rw, "Only JSON based content types accepted", http.StatusUnsupportedMediaType)
		return
	}
	idx, ok := operations[op]
	if (!ok && !ownOnly[op]) || !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "TrentService.") {
		// local-kms answers an unimplemented operation with HTTP 501 and a text body.
		http.Error(rw, fmt.Sprintf("Passed X-Amz-Target (%s) is not implemented", r.Header.Get("X-Amz-Target")), http.StatusNotImplemented)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxRequestBody))
	if err != nil {
		writeJSON(rw, http.StatusBadRequest, map[string]string{"__type": "SerializationException", "message": "request body unreadable or over 1 MiB"})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var resp handler.Response
	done := false
	if hook, ok := ownHooks[op]; ok {
		resp, done = hook(&h.own, body)
	}
	if !done && ownOnly[op] {
		resp, done = h.ownOnlyFallback(r, body), true
	}
	if !done {
		rh := handler.NewRequestHandler(r, h.logrus, h.db)
		resp = reflect.ValueOf(rh).Method(idx).Call(nil)[0].Interface().(handler.Response)
		if fix, ok := fixups[op]; ok && resp.Code == http.StatusOK {
			resp = fix(h, body, resp)
		}
	}
	rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
	rw.WriteHeader(resp.Code)
	_, _ = rw.Write([]byte(resp.Body))
}

// ownOnlyFallback answers an operation only own keys support (ownOnly) for
// a key that is not an own key: local-kms's DescribeKey error (e.g.
// NotFoundException) if local-kms does not know the key either, else
// InvalidKeyUsageException, since no local-kms key has the usage (AWS KMS API
// reference, DeriveSharedSecret: "The key usage of the KMS key must be
// KEY_AGREEMENT").
func (h *kmsHandler) ownOnlyFallback(r *http.Request, body []byte) handler.Response {
	r.Body = io.NopCloser(bytes.NewReader(body))
	rh := handler.NewRequestHandler(r, h.logrus, h.db)
	resp := reflect.ValueOf(rh).Method(operations["DescribeKey"]).Call(nil)[0].Interface().(handler.Response)
	if resp.Code != http.StatusOK {
		return resp
	}
	var d struct {
		KeyMetadata struct{ Arn, KeyUsage string }
	}
	_ = json.Unmarshal([]byte(resp.Body), &d)
	return handler.NewInvalidKeyUsageException(fmt.Sprintf("%s key usage is %s which is not valid for DeriveSharedSecret.", d.KeyMetadata.Arn, d.KeyMetadata.KeyUsage))
}

// writeJSON writes v as an awsJson1_1 response body with the status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// trackingWriter records whether the response header was already sent.
type trackingWriter struct {
	http.ResponseWriter
	wroteHeader bool
}

// WriteHeader records the header as sent.
func (t *trackingWriter) WriteHeader(code int) {
	t.wroteHeader = true
	t.ResponseWriter.WriteHeader(code)
}

// Write records the header as sent.
func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wroteHeader = true
	return t.ResponseWriter.Write(b)
}
