package devkms

import (
	"encoding/json"
	"fmt"

	"github.com/nsmithuk/local-kms/src/handler"
	"github.com/p11kms/p11kms/kmsbackend"
)

// The MAC fixups restore two AWS behaviours local-kms lacks. They join the
// fixups table (fixups.go) here so that table stays one line per operation
// of its own file's concern; like every fixup they run only on local-kms's
// successful (HTTP 200) answers, after it has checked the key, its state,
// its usage and the algorithm.
func init() {
	// AWS KMS API reference, VerifyMac: a MAC that does not match fails
	// with KMSInvalidMacException (HTTP 400); local-kms answers MacValid=false.
	fixups["VerifyMac"] = fixVerifyMac
	// AWS KMS API reference, GenerateMac Message: 1 to 4096 bytes; local-kms
	// takes any length.
	fixups["GenerateMac"] = fixMacMessageLength
}

// macRequest is the part of a GenerateMac or VerifyMac request the fixups
// read (AWS KMS API reference: Message is a base64 blob in the JSON body).
type macRequest struct {
	Message []byte
}

// fixMacMessageLength answers ValidationException (HTTP 400) for a message
// outside 1..4096 bytes, as AWS KMS does; any other answer is returned as is.
func fixMacMessageLength(_ *kmsHandler, req []byte, resp handler.Response) handler.Response {
	var in macRequest
	if err := json.Unmarshal(req, &in); err != nil {
		return resp
	}
	if r, bad := macMessageInvalid(in.Message); bad {
		return r
	}
	return resp
}

// macMessageInvalid returns the ValidationException AWS KMS gives a message
// outside 1..4096 bytes (the constraint in the AWS JSON protocol's wording),
// and false for a message of a valid length.
func macMessageInvalid(msg []byte) (handler.Response, bool) {
	switch {
	case len(msg) < 1:
		return handler.NewValidationExceptionResponse("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length greater than or equal to 1"), true
	case len(msg) > kmsbackend.MaxMacMessage:
		return handler.NewValidationExceptionResponse(fmt.Sprintf("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to %d", kmsbackend.MaxMacMessage)), true
	}
	return handler.Response{}, false
}

// fixVerifyMac turns local-kms's successful VerifyMac answer with
// MacValid=false into AWS KMS's KMSInvalidMacException (HTTP 400), and
// applies the message length constraint first. A MacValid=true answer, or
// one it cannot parse, is returned as is. The exception's message text is
// the dev KMS's own (clients act on the error code only).
func fixVerifyMac(_ *kmsHandler, req []byte, resp handler.Response) handler.Response {
	var in macRequest
	if err := json.Unmarshal(req, &in); err == nil {
		if r, bad := macMessageInvalid(in.Message); bad {
			return r
		}
	}
	var out struct {
		MacValid *bool
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || out.MacValid == nil || *out.MacValid {
		return resp
	}
	return handler.New400ExceptionResponse("KMSInvalidMacException", "devkms: the MAC does not match the message under this key and algorithm")
}
