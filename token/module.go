package token

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// BackendFactory creates the backend for one token. The default builds an
// AWS KMS client (kmsbackend/aws); tests may substitute their own.
type BackendFactory func(ctx context.Context, t TokenConfig, log *slog.Logger) (kmsbackend.Backend, error)

// Module is the whole module state: configuration, slots, sessions, objects.
// cgo/ holds exactly one, created by New. Every method is safe for concurrent use.
type Module struct {
	// NewBackend creates each token's backend at C_Initialize.
	NewBackend BackendFactory
	// Getenv reads the environment (os.Getenv; replaceable in tests).
	Getenv func(string) string

	// mu guards the fields below: calls hold it for reading; Initialize and
	// Finalize hold it for writing.
	mu       sync.RWMutex
	init     bool
	ctx      context.Context // cancelled by Finalize: aborts remote calls in flight
	cancel   context.CancelFunc
	log      *slog.Logger
	logClose func() error
	slots    []*slot
	sessions *handleTable[*session]
	objects  *handleTable[*object]
	logLimit logLimiter
}

// New returns an uninitialized module.
func New() *Module {
	return &Module{NewBackend: newAWSBackend, Getenv: os.Getenv, log: defaultLogger()}
}

// Initialize implements C_Initialize (PKCS#11 2.40 §5.4): it checks the
// CK_C_INITIALIZE_ARGS rules, loads the configuration and creates one slot per
// configured token. It makes no remote call (keys are discovered lazily).
func (m *Module) Initialize(args InitArgs) error {
	if err := checkInitArgs(args); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.init {
		return Errorf(ck.CKR_CRYPTOKI_ALREADY_INITIALIZED, "C_Initialize called twice without C_Finalize")
	}
	cfg, source, err := loadConfig(args.Reserved, m.Getenv)
	if err != nil {
		return Errorf(ck.CKR_FUNCTION_FAILED, "configuration rejected: %w", err)
	}
	log, closeLog, err := newLogger(cfg.Log)
	if err != nil {
		return Errorf(ck.CKR_FUNCTION_FAILED, "configuration rejected: log: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	slots := make([]*slot, 0, len(cfg.Tokens))
	for i, tc := range cfg.Tokens {
		s, err := newSlot(ctx, uint(i), tc, m.NewBackend, log)
		if err != nil {
			cancel()
			for _, s := range slots {
				s.close()
			}
			// The configured log gets the reason too, not only stderr (the
			// caller's view of a module that did not initialize).
			log.Error("C_Initialize failed", "token", tc.Label, "err", err)
			_ = closeLog()
			return Errorf(ck.CKR_FUNCTION_FAILED, "token %q: %w", tc.Label, err)
		}
		slots = append(slots, s)
	}
	if args.Flags&ck.CKF_LIBRARY_CANT_CREATE_OS_THREADS != 0 {
		// NSS always sets this flag. A Go runtime has its own threads from the
		// moment the library is loaded; we accept and document it (README).
		log.Debug("CKF_LIBRARY_CANT_CREATE_OS_THREADS set by the caller; the Go runtime's threads already exist")
	}
	m.ctx, m.cancel, m.log, m.logClose = ctx, cancel, log, closeLog
	m.slots = slots
	m.sessions = newHandleTable[*session]()
	m.objects = newHandleTable[*object]()
	m.init = true
	log.Info("p11kms initialized", "config", source, "tokens", len(slots), "version", LibraryVersionString)
	return nil
}

// checkInitArgs applies the CK_C_INITIALIZE_ARGS rules of PKCS#11 2.40 §5.4.
func checkInitArgs(a InitArgs) error {
	if !a.Present {
		return nil
	}
	switch {
	case a.MutexFuncs != 0 && a.MutexFuncs != 4:
		return Errorf(ck.CKR_ARGUMENTS_BAD, "CK_C_INITIALIZE_ARGS: %d of the 4 mutex callbacks given; give all or none", a.MutexFuncs)
	case a.MutexFuncs == 4 && a.Flags&ck.CKF_OS_LOCKING_OK == 0:
		// The module can only use OS locking, not the application's callbacks.
		return Errorf(ck.CKR_CANT_LOCK, "CK_C_INITIALIZE_ARGS: mutex callbacks without CKF_OS_LOCKING_OK; p11kms can only use OS locking")
	}
	return nil
}

// Finalize implements C_Finalize: it aborts remote calls in flight, closes
// every session and backend and the log file. A later Initialize starts afresh
// (the library is never unloaded: dlclose of a Go library is a no-op).
func (m *Module) Finalize() error {
	m.mu.RLock()
	if !m.init {
		m.mu.RUnlock()
		return errNotInitialized
	}
	m.cancel() // before taking the write lock: calls in flight return promptly
	m.mu.RUnlock()

	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.init {
		return errNotInitialized
	}
	for _, s := range m.slots {
		s.close()
	}
	m.wipeSessionObjects() // derived key values (sessobj.go)
	m.log.Info("p11kms finalized")
	if err := m.logClose(); err != nil {
		fmt.Fprintf(os.Stderr, "p11kms: closing the log file: %v\n", err)
	}
	m.slots, m.sessions, m.objects = nil, nil, nil
	m.log = defaultLogger()
	m.init = false
	return nil
}

var errNotInitialized = Errorf(ck.CKR_CRYPTOKI_NOT_INITIALIZED, "C_Initialize has not been called")

// enter takes the module's read lock for one call and checks initialization.
// The caller must call the returned function when done.
func (m *Module) enter() (func(), error) {
	m.mu.RLock()
	if !m.init {
		m.mu.RUnlock()
		return func() {}, errNotInitialized
	}
	return m.mu.RUnlock, nil
}

// Library identity reported by C_GetInfo.
const (
	Manufacturer         = "p11kms"
	LibraryDescription   = "p11kms PKCS#11 for AWS KMS"
	LibraryVersionString = "0.1.0"
)

// LibraryVersion is the library version reported by C_GetInfo.
var LibraryVersion = Version{Major: 0, Minor: 1}

// Info implements C_GetInfo (the cryptoki version is filled in by cgo).
func (m *Module) Info() (Info, error) {
	done, err := m.enter()
	defer done()
	if err != nil {
		return Info{}, err
	}
	return Info{Manufacturer: Manufacturer, Description: LibraryDescription, LibraryVersion: LibraryVersion}, nil
}
