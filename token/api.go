package token

// This file declares the plain-data types of the token's API, the contract
// between cgo/ (which copies C structures into these and back) and token/.

// Version is a CK_VERSION.
type Version struct{ Major, Minor byte }

// Info is CK_INFO without the cryptoki version, which the C interface the
// caller used decides (2.40 through C_GetFunctionList, 3.0 through C_GetInterface).
type Info struct {
	Manufacturer   string // padded to 32 by cgo
	Description    string // padded to 32 by cgo
	LibraryVersion Version
}

// SlotInfo is CK_SLOT_INFO.
type SlotInfo struct {
	Description     string // 64
	Manufacturer    string // 32
	Flags           uint
	HardwareVersion Version
	FirmwareVersion Version
}

// TokenInfo is CK_TOKEN_INFO.
type TokenInfo struct {
	Label              string // 32
	Manufacturer       string // 32
	Model              string // 16
	SerialNumber       string // 16
	Flags              uint
	MaxSessionCount    uint
	SessionCount       uint
	MaxRwSessionCount  uint
	RwSessionCount     uint
	MaxPinLen          uint
	MinPinLen          uint
	TotalPublicMemory  uint
	FreePublicMemory   uint
	TotalPrivateMemory uint
	FreePrivateMemory  uint
	HardwareVersion    Version
	FirmwareVersion    Version
	UTCTime            string // 16, "" when CKF_CLOCK_ON_TOKEN is not set
}

// MechanismInfo is CK_MECHANISM_INFO.
type MechanismInfo struct {
	MinKeySize uint
	MaxKeySize uint
	Flags      uint
}

// SessionInfo is CK_SESSION_INFO.
type SessionInfo struct {
	SlotID      uint
	State       uint
	Flags       uint
	DeviceError uint
}

// Attribute is one CK_ATTRIBUTE of a template, its value copied into Go memory.
type Attribute struct {
	Type  uint
	Value []byte
}

// Mechanism is a CK_MECHANISM, its parameter copied into Go memory as the raw
// bytes of the C structure (cgo flattens structures that hold pointers).
type Mechanism struct {
	Type  uint
	Param []byte
}

// AttrRequest is one entry of a C_GetAttributeValue template. cgo fills Type,
// HasBuf (pValue != NULL) and BufLen (ulValueLen on entry); GetAttributeValue
// fills Len (the ulValueLen to write back, ck.UnavailableInformation when the
// value cannot be given) and Value (bytes cgo copies into pValue; nil when
// nothing is to be copied). PKCS#11 2.40 §5.7 C_GetAttributeValue.
type AttrRequest struct {
	Type   uint
	HasBuf bool
	BufLen uint
	Len    uint
	Value  []byte
}

// InitArgs is what cgo read from CK_C_INITIALIZE_ARGS (PKCS#11 2.40 §5.4 C_Initialize).
type InitArgs struct {
	// Present is false when pInitArgs was NULL.
	Present bool
	// MutexFuncs counts the non-NULL mutex callbacks (0..4).
	MutexFuncs int
	// Flags is CK_C_INITIALIZE_ARGS.flags.
	Flags uint
	// Reserved is pReserved read as a NUL-terminated string (bounded), "" if NULL.
	Reserved string
}
