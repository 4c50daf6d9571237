package token

import (
	"errors"
	"fmt"
	"strings"
)

// uriScheme is the scheme of a PKCS#11 URI (RFC 7512 §2.3, pk11-URI).
const uriScheme = "pkcs11:"

// maxURILen bounds the URIs ParseURI reads: far longer than any real one
// (every CK_INFO/CK_TOKEN_INFO field is at most 64 bytes), short enough that
// garbage cannot make the parser allocate much.
const maxURILen = 64 << 10

// URI is a PKCS#11 URI (RFC 7512): the path attributes that select a
// library, slot, token and object, and the query attributes that say how to
// reach them. Text values are held percent-decoded. An absent attribute is
// the zero value; an attribute written with an empty value ("object=") reads
// as absent too, so String never writes one.
type URI struct {
	// LibraryDescription is CK_INFO.libraryDescription (library-description).
	LibraryDescription string
	// LibraryManufacturer is CK_INFO.manufacturerID (library-manufacturer).
	LibraryManufacturer string
	// LibraryVersion is CK_INFO.libraryVersion (library-version, "M" or "M.N").
	LibraryVersion *Version
	// SlotDescription is CK_SLOT_INFO.slotDescription (slot-description).
	SlotDescription string
	// SlotManufacturer is CK_SLOT_INFO.manufacturerID (slot-manufacturer).
	SlotManufacturer string
	// SlotID is the CK_SLOT_ID (slot-id, decimal).
	SlotID *uint
	// Model is CK_TOKEN_INFO.model (model).
	Model string
	// Manufacturer is CK_TOKEN_INFO.manufacturerID (manufacturer).
	Manufacturer string
	// Serial is CK_TOKEN_INFO.serialNumber (serial).
	Serial string
	// Token is CK_TOKEN_INFO.label (token).
	Token string
	// ID is the object's CKA_ID (id); nil when absent.
	ID []byte
	// Object is the object's CKA_LABEL (object).
	Object string
	// Type is the object class (type): public, private, cert, secret-key or data.
	Type string
	// PINSource says where to read the PIN from (pin-source, a query attribute).
	PINSource string
	// PINValue is the PIN itself (pin-value, a query attribute): a secret.
	// Redacted prints the URI without it.
	PINValue string
	// ModuleName names the PKCS#11 module (module-name, a query attribute).
	ModuleName string
	// ModulePath is the module's absolute path (module-path, a query attribute).
	ModulePath string
}

// ParseURI parses a PKCS#11 URI (RFC 7512 §2.3). The scheme name and the
// attribute names are case-insensitive, as ABNF literals are (RFC 5234 §2.3);
// so are the type values. Values are percent-decoded (RFC 3986 §2.1); a
// character the grammar would want encoded is accepted as itself, except the
// delimiters of its component. Refused, with an error naming the attribute
// but never quoting a value (a pin-value is a secret): an unknown or repeated
// attribute, a path attribute in the query or the reverse, an empty or
// nameless attribute, a bad escape, a type, slot-id or library-version out of
// its grammar, and pin-source together with pin-value.
func ParseURI(s string) (URI, error) {
	var u URI
	if len(s) > maxURILen {
		return u, fmt.Errorf("pkcs11 URI: longer than %d bytes", maxURILen)
	}
	if len(s) < len(uriScheme) || !strings.EqualFold(s[:len(uriScheme)], uriScheme) {
		return u, errors.New(`pkcs11 URI: does not start with "pkcs11:"`)
	}
	rest := s[len(uriScheme):]
	path, query, hasQuery := strings.Cut(rest, "?")
	seen := map[string]bool{}
	if err := parseURIComponent(&u, path, ";", false, seen); err != nil {
		return URI{}, err
	}
	if hasQuery {
		if err := parseURIComponent(&u, query, "&", true, seen); err != nil {
			return URI{}, err
		}
	}
	if u.PINSource != "" && u.PINValue != "" {
		return URI{}, errors.New("pkcs11 URI: pin-source and pin-value both given; give one")
	}
	return u, nil
}

// parseURIComponent parses the attributes of the path (query false) or the
// query into u; seen records the names already given.
func parseURIComponent(u *URI, comp, sep string, query bool, seen map[string]bool) error {
	if comp == "" {
		return nil
	}
	where := "path"
	if query {
		where = "query"
	}
	for i, part := range strings.Split(comp, sep) {
		name, raw, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return fmt.Errorf("pkcs11 URI: %s attribute %d is not of the form name=value", where, i+1)
		}
		name = strings.ToLower(name)
		a, known := uriAttrByName[name]
		switch {
		case !known:
			return fmt.Errorf("pkcs11 URI: unknown attribute %q", truncate(name, 32))
		case a.query != query:
			return fmt.Errorf("pkcs11 URI: %s belongs in the %s, not the %s", name, otherComponent(where), where)
		case seen[name]:
			return fmt.Errorf("pkcs11 URI: %s given twice", name)
		}
		seen[name] = true
		v, err := percentDecode(raw)
		if err != nil {
			return fmt.Errorf("pkcs11 URI: %s: %w", name, err)
		}
		if err := a.set(u, v); err != nil {
			return fmt.Errorf("pkcs11 URI: %s: %w", name, err)
		}
	}
	return nil
}

func otherComponent(where string) string {
	if where == "path" {
		return "query"
	}
	return "path"
}

// truncate cuts s to at most n bytes, for error messages.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// String returns the URI in the form RFC 7512 §2.3 gives, attributes in the
// order of uriAttrs, every attribute that is set, the PIN included. Characters
// outside the component's unreserved and allowed reserved sets are
// percent-encoded, and so is every byte of id, as p11tool writes it.
func (u URI) String() string { return u.format(false) }

// Redacted is String with a pin-value shown as "REDACTED": the form to log.
func (u URI) Redacted() string { return u.format(true) }

func (u URI) format(redact bool) string {
	var path, query []string
	for _, a := range uriAttrs {
		v, ok := a.get(&u)
		if !ok {
			continue
		}
		if redact && a.secret {
			query = append(query, a.name+"=REDACTED")
			continue
		}
		enc := percentEncode(v, a.query, a.kind == uriBytes)
		if a.query {
			query = append(query, a.name+"="+enc)
		} else {
			path = append(path, a.name+"="+enc)
		}
	}
	s := uriScheme + strings.Join(path, ";")
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

// Class returns the CKO_* object class that Type names, and false when Type is empty.
func (u URI) Class() (uint, bool) {
	c, ok := uriTypes[u.Type]
	return c, ok
}
