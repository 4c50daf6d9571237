package cabitest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
	"github.com/p11kms/p11kms/ck"
)

// TestInitializeArgs checks CK_C_INITIALIZE_ARGS handling (PKCS#11 2.40 §5.4,
// DESIGN.md): partial mutex callbacks are CKR_ARGUMENTS_BAD; callbacks
// without CKF_OS_LOCKING_OK are CKR_CANT_LOCK (the module can only use OS
// locking); a non-NULL pReserved string (NSS, libp11) is tolerated.
func TestInitializeArgs(t *testing.T) {
	p, r := lib(t)
	cases := []struct {
		name string
		args rawc.InitArgs
		rv   uint
	}{
		{"CKR_OK with NULL pInitArgs", rawc.InitArgs{Null: true}, ck.CKR_OK},
		{"CKR_OK with zeroed arguments", rawc.InitArgs{}, ck.CKR_OK},
		{"CKR_OK with CKF_OS_LOCKING_OK", rawc.InitArgs{Flags: ck.CKF_OS_LOCKING_OK}, ck.CKR_OK},
		{"CKR_OK with all callbacks and CKF_OS_LOCKING_OK", rawc.InitArgs{MutexFuncs: 4, Flags: ck.CKF_OS_LOCKING_OK}, ck.CKR_OK},
		{"CKR_OK with CKF_LIBRARY_CANT_CREATE_OS_THREADS as NSS sets it", rawc.InitArgs{Flags: ck.CKF_LIBRARY_CANT_CREATE_OS_THREADS | ck.CKF_OS_LOCKING_OK}, ck.CKR_OK},
		{"CKR_OK with an NSS pReserved string", rawc.InitArgs{Flags: ck.CKF_OS_LOCKING_OK, Reserved: "configdir='' certPrefix='' keyPrefix='' secmod='' flags=readOnly"}, ck.CKR_OK},
		{"CKR_CANT_LOCK with all callbacks and no CKF_OS_LOCKING_OK", rawc.InitArgs{MutexFuncs: 4}, ck.CKR_CANT_LOCK},
		{"CKR_ARGUMENTS_BAD with 1 of 4 callbacks", rawc.InitArgs{MutexFuncs: 1, Flags: ck.CKF_OS_LOCKING_OK}, ck.CKR_ARGUMENTS_BAD},
		{"CKR_ARGUMENTS_BAD with 2 of 4 callbacks", rawc.InitArgs{MutexFuncs: 2}, ck.CKR_ARGUMENTS_BAD},
		{"CKR_ARGUMENTS_BAD with 3 of 4 callbacks", rawc.InitArgs{MutexFuncs: 3, Flags: ck.CKF_OS_LOCKING_OK}, ck.CKR_ARGUMENTS_BAD},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rv := r.Initialize(c.args)
			if rv == ck.CKR_OK {
				defer func() { requireRV(t, ck.CKR_OK, p.Finalize()) }()
			}
			requireRawRV(t, c.rv, rv)
			_, err := p.GetInfo()
			if c.rv == ck.CKR_OK {
				requireRV(t, ck.CKR_OK, err, "initialized")
			} else {
				requireRV(t, ck.CKR_CRYPTOKI_NOT_INITIALIZED, err, "a refused C_Initialize leaves the module uninitialized")
			}
		})
	}
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.GetFunctionListNull(), "C_GetFunctionList(NULL)")
}

// TestInterfaces checks C_GetInterfaceList and C_GetInterface (PKCS#11 3.0
// §5.4.5-6): a 3.0 and a 2.40 "PKCS 11" interface, each of whose C_GetInfo
// reports its own version (DESIGN.md), none flagged fork-safe.
func TestInterfaces(t *testing.T) {
	p, r := lib(t)
	if !r.HasInterfaceAPI() {
		t.Fatal("the library does not export C_GetInterfaceList and C_GetInterface")
	}
	_, n, rv, _ := r.InterfaceList(-1, false)
	requireRawRV(t, ck.CKR_OK, rv, "size query, before C_Initialize")
	assert.Equal(t, uint(2), n, "interface count")
	_, n2, rv, _ := r.InterfaceList(0, false)
	requireRawRV(t, ck.CKR_BUFFER_TOO_SMALL, rv, "zero-length list")
	assert.Equal(t, n, n2, "count with CKR_BUFFER_TOO_SMALL")
	_, _, rv, _ = r.InterfaceList(4, true)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, rv, "pulCount NULL")

	list, n, rv, _ := r.InterfaceList(4, false)
	requireRawRV(t, ck.CKR_OK, rv)
	assert.Equal(t, uint(2), n)
	var versions []rawc.Version
	for _, it := range list {
		assert.Equal(t, "PKCS 11", it.Name)
		assert.Zero(t, it.Flags&ck.CKF_INTERFACE_FORK_SAFE, "CKF_INTERFACE_FORK_SAFE must never be advertised")
		versions = append(versions, it.Version)
	}
	assert.ElementsMatch(t, []rawc.Version{{Major: 3, Minor: 0}, {Major: 2, Minor: 40}}, versions)

	requireRV(t, ck.CKR_OK, p.Initialize())
	defer func() { requireRV(t, ck.CKR_OK, p.Finalize()) }()
	for _, it := range list {
		in, rv := it.GetInfo()
		requireRawRV(t, ck.CKR_OK, rv, "C_GetInfo through interface %v", it.Version)
		assert.Equal(t, it.Version, in.CryptokiVersion, "cryptokiVersion through the interface's own C_GetInfo")
	}

	name, bad := "PKCS 11", "Vendor p11kms"
	v30, v240, v99 := rawc.Version{Major: 3, Minor: 0}, rawc.Version{Major: 2, Minor: 40}, rawc.Version{Major: 9, Minor: 9}
	getCases := []struct {
		rowName string
		name    *string
		version *rawc.Version
		flags   uint
		rv      uint
		want    rawc.Version
	}{
		{"CKR_OK with the default (3.0) for NULL name and version", nil, nil, 0, ck.CKR_OK, v30},
		{"CKR_OK with 3.0 by name", &name, nil, 0, ck.CKR_OK, v30},
		{"CKR_OK with 3.0 by name and version", &name, &v30, 0, ck.CKR_OK, v30},
		{"CKR_OK with 2.40 by name and version", &name, &v240, 0, ck.CKR_OK, v240},
		{"CKR_OK with 2.40 by version alone", nil, &v240, 0, ck.CKR_OK, v240},
		{"CKR_ARGUMENTS_BAD for an unknown name", &bad, nil, 0, ck.CKR_ARGUMENTS_BAD, rawc.Version{}},
		{"CKR_ARGUMENTS_BAD for an unknown version", &name, &v99, 0, ck.CKR_ARGUMENTS_BAD, rawc.Version{}},
		{"CKR_ARGUMENTS_BAD when fork safety is required", &name, nil, ck.CKF_INTERFACE_FORK_SAFE, ck.CKR_ARGUMENTS_BAD, rawc.Version{}},
	}
	for _, c := range getCases {
		t.Run(c.rowName, func(t *testing.T) {
			it, rv, err := r.GetInterface(c.name, c.version, c.flags, false)
			assert.NoError(t, err)
			requireRawRV(t, c.rv, rv)
			assert.Equal(t, c.want, it.Version)
			if rv == ck.CKR_OK {
				in, rv := it.GetInfo()
				requireRawRV(t, ck.CKR_OK, rv)
				assert.Equal(t, c.want, in.CryptokiVersion)
			}
		})
	}
	_, rv, _ = r.GetInterface(nil, nil, 0, true)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, rv, "ppInterface NULL")
}
