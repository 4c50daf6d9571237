package token

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/p11kms/p11kms/ck"
)

// uriKind is how an attribute's value is read and written.
type uriKind int

const (
	uriText    uriKind = iota // a string, percent-encoded where needed
	uriBytes                  // raw bytes (id), every byte percent-encoded
	uriType                   // one of the uriTypes names
	uriSlotID                 // 1*DIGIT, a CK_SLOT_ID
	uriVersion                // 1*DIGIT [ "." 1*DIGIT ], each a CK_BYTE
)

// uriAttr is one standard attribute of RFC 7512 §2.3.
type uriAttr struct {
	name   string
	query  bool // a query attribute (pk11-qattr) rather than a path one (pk11-pattr)
	kind   uriKind
	secret bool               // never shown by URI.Redacted
	text   func(*URI) *string // the field of a uriText or uriType attribute
}

// uriAttrs lists the attributes in the order String writes them (library,
// slot, token, object, then the query), each with its source.
var uriAttrs = []uriAttr{
	// RFC 7512 §2.3 pk11-lib-desc; PKCS#11 2.40 §3.1 CK_INFO.libraryDescription.
	{name: "library-description", text: func(u *URI) *string { return &u.LibraryDescription }},
	// RFC 7512 §2.3 pk11-lib-manuf; CK_INFO.manufacturerID.
	{name: "library-manufacturer", text: func(u *URI) *string { return &u.LibraryManufacturer }},
	// RFC 7512 §2.3 pk11-lib-ver; CK_INFO.libraryVersion.
	{name: "library-version", kind: uriVersion},
	// RFC 7512 §2.3 pk11-slot-desc; PKCS#11 2.40 §3.2 CK_SLOT_INFO.slotDescription.
	{name: "slot-description", text: func(u *URI) *string { return &u.SlotDescription }},
	// RFC 7512 §2.3 pk11-slot-manuf; CK_SLOT_INFO.manufacturerID.
	{name: "slot-manufacturer", text: func(u *URI) *string { return &u.SlotManufacturer }},
	// RFC 7512 §2.3 pk11-slot-id; PKCS#11 2.40 §3.2 CK_SLOT_ID.
	{name: "slot-id", kind: uriSlotID},
	// RFC 7512 §2.3 pk11-model; PKCS#11 2.40 §3.2 CK_TOKEN_INFO.model.
	{name: "model", text: func(u *URI) *string { return &u.Model }},
	// RFC 7512 §2.3 pk11-manuf; CK_TOKEN_INFO.manufacturerID.
	{name: "manufacturer", text: func(u *URI) *string { return &u.Manufacturer }},
	// RFC 7512 §2.3 pk11-serial; CK_TOKEN_INFO.serialNumber.
	{name: "serial", text: func(u *URI) *string { return &u.Serial }},
	// RFC 7512 §2.3 pk11-token; CK_TOKEN_INFO.label.
	{name: "token", text: func(u *URI) *string { return &u.Token }},
	// RFC 7512 §2.3 pk11-id; PKCS#11 2.40 §4.7 CKA_ID.
	{name: "id", kind: uriBytes},
	// RFC 7512 §2.3 pk11-object; PKCS#11 2.40 §4.4 CKA_LABEL.
	{name: "object", text: func(u *URI) *string { return &u.Object }},
	// RFC 7512 §2.3 pk11-type; PKCS#11 2.40 §4.3 CKA_CLASS.
	{name: "type", kind: uriType, text: func(u *URI) *string { return &u.Type }},
	// RFC 7512 §2.3 pk11-pin-source.
	{name: "pin-source", query: true, text: func(u *URI) *string { return &u.PINSource }},
	// RFC 7512 §2.3 pk11-pin-value.
	{name: "pin-value", query: true, secret: true, text: func(u *URI) *string { return &u.PINValue }},
	// RFC 7512 §2.3 pk11-module-name.
	{name: "module-name", query: true, text: func(u *URI) *string { return &u.ModuleName }},
	// RFC 7512 §2.3 pk11-module-path.
	{name: "module-path", query: true, text: func(u *URI) *string { return &u.ModulePath }},
}

// uriAttrByName indexes uriAttrs by name.
var uriAttrByName = func() map[string]uriAttr {
	m := make(map[string]uriAttr, len(uriAttrs))
	for _, a := range uriAttrs {
		m[a.name] = a
	}
	return m
}()

// uriTypes maps the pk11-type values to object classes (RFC 7512 §2.3:
// "public" / "private" / "cert" / "secret-key" / "data"; PKCS#11 2.40 §4.3).
var uriTypes = map[string]uint{
	"public":     ck.CKO_PUBLIC_KEY,  // RFC 7512 §2.3; CKO_PUBLIC_KEY
	"private":    ck.CKO_PRIVATE_KEY, // RFC 7512 §2.3; CKO_PRIVATE_KEY
	"cert":       ck.CKO_CERTIFICATE, // RFC 7512 §2.3; CKO_CERTIFICATE
	"secret-key": ck.CKO_SECRET_KEY,  // RFC 7512 §2.3; CKO_SECRET_KEY
	"data":       ck.CKO_DATA,        // RFC 7512 §2.3; CKO_DATA
}

// set stores the decoded value v; an empty value leaves the attribute absent.
func (a uriAttr) set(u *URI, v string) error {
	if v == "" {
		return nil
	}
	switch a.kind {
	case uriBytes:
		u.ID = []byte(v)
	case uriType:
		t := strings.ToLower(v)
		if _, ok := uriTypes[t]; !ok {
			return errors.New("not one of public, private, cert, secret-key, data")
		}
		u.Type = t
	case uriSlotID:
		n, err := parseDigits(v, ulongSize*8) // CK_SLOT_ID is a CK_ULONG
		if err != nil {
			return err
		}
		id := uint(n)
		u.SlotID = &id
	case uriVersion:
		major, minor, dotted := strings.Cut(v, ".")
		ma, err1 := parseDigits(major, 8)
		mi := uint64(0)
		var err2 error
		if dotted {
			mi, err2 = parseDigits(minor, 8)
		}
		if err1 != nil || err2 != nil {
			return errors.New("not a version M or M.N of numbers 0 to 255")
		}
		u.LibraryVersion = &Version{Major: byte(ma), Minor: byte(mi)}
	default:
		*a.text(u) = v
	}
	return nil
}

// get returns the value String writes and whether the attribute is set.
func (a uriAttr) get(u *URI) (string, bool) {
	switch a.kind {
	case uriBytes:
		return string(u.ID), len(u.ID) > 0
	case uriSlotID:
		if u.SlotID == nil {
			return "", false
		}
		return strconv.FormatUint(uint64(*u.SlotID), 10), true
	case uriVersion:
		if u.LibraryVersion == nil {
			return "", false
		}
		return fmt.Sprintf("%d.%d", u.LibraryVersion.Major, u.LibraryVersion.Minor), true
	}
	v := *a.text(u)
	return v, v != ""
}

// parseDigits parses 1*DIGIT (RFC 5234 B.1) into an unsigned number of at most bits bits.
func parseDigits(s string, bits int) (uint64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a decimal number")
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("number out of range (%d bits)", bits)
	}
	return n, nil
}
