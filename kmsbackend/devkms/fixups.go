package devkms

import (
	"encoding/json"
	"strings"

	"github.com/nsmithuk/local-kms/src/handler"
)

// fixups rewrite successful local-kms responses where local-kms deviates
// from AWS KMS, so clients see what the real service answers. Each entry
// names the operation and the AWS KMS API reference it restores.
var fixups = map[string]fixup{
	// AWS KMS API reference, KeyMetadata: an HMAC key lists its algorithms in
	// MacAlgorithms and has no SigningAlgorithms; local-kms puts
	// HMAC_SHA_* under SigningAlgorithms.
	"DescribeKey": fixHMACAlgorithms,
	// AWS KMS API reference, SigningAlgorithmSpec: RSASSA_PSS_SHA_* use a
	// salt as long as the hash and MGF1 with the same hash; local-kms uses
	// the maximum salt (pss.go).
	"Sign": fixPSSSalt,
}

// fixup rewrites a successful response of local-kms, given the request body.
type fixup func(h *kmsHandler, req []byte, resp handler.Response) handler.Response

// fixHMACAlgorithms moves HMAC_SHA_* entries of KeyMetadata.SigningAlgorithms
// into KeyMetadata.MacAlgorithms. A body it cannot parse is returned as is.
func fixHMACAlgorithms(_ *kmsHandler, _ []byte, resp handler.Response) handler.Response {
	var body map[string]map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		return resp
	}
	md := body["KeyMetadata"]
	algs, _ := md["SigningAlgorithms"].([]any)
	var signing, mac []any
	for _, a := range algs {
		if s, ok := a.(string); ok && strings.HasPrefix(s, "HMAC_") {
			mac = append(mac, s)
		} else {
			signing = append(signing, a)
		}
	}
	if len(mac) == 0 {
		return resp
	}
	if len(signing) == 0 {
		delete(md, "SigningAlgorithms")
	} else {
		md["SigningAlgorithms"] = signing
	}
	md["MacAlgorithms"] = mac
	out, err := json.Marshal(body)
	if err != nil {
		return resp
	}
	return handler.Response{Code: resp.Code, Body: string(out)}
}
