// Package devkms is the embedded development KMS: github.com/nsmithuk/local-kms
// (an AWS-KMS-API-compatible server) served on loopback inside the calling
// process, for the companion CLI (`p11kms devkms`) and for every test.
//
// It checks no request signatures and stores private keys in cleartext: a
// development tool only, refused on non-loopback addresses. On top of
// local-kms it recovers handler panics (HTTP 500 instead of a dropped
// connection), keeps local-kms's logs off stdout, seeds secp256k1 keys,
// serves in memory the keys local-kms lacks (Ed25519, ML-DSA, ECDH
// KEY_AGREEMENT and SM2; ownkeys.go), and restores two AWS behaviours
// (fixups.go): RSASSA-PSS signatures with a hash-length salt, and
// KeyMetadata.MacAlgorithms for HMAC keys. For
// reliability tests it injects faults on request (faults.go): throttling,
// 5xx answers, slow answers, dropped connections and wrong signatures.
package devkms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nsmithuk/local-kms/src/data"
)

// DefaultRegion is the region the dev KMS puts in its ARNs unless told otherwise.
const DefaultRegion = "us-east-1"

// Options configures Start.
type Options struct {
	// Addr is the loopback address to listen on; default "127.0.0.1:0" (a free port).
	Addr string
	// DataDir holds the leveldb database; default a fresh temporary
	// directory, removed by Close.
	DataDir string
	// SeedFile is a seed file in local-kms's format (see seed.go, WriteSeedFile) loaded at start; "" for none.
	SeedFile string
	// Region appears in every ARN; default DefaultRegion. All Servers of one
	// process must use the same region (local-kms keeps it in a package variable).
	Region string
	// Logger receives the server's and local-kms's logs; default: discard.
	Logger *slog.Logger
	// Faults injects throttling, 5xx, slow answers, dropped connections and
	// wrong signatures (faults.go); the zero value injects none.
	Faults FaultConfig
}

// Server is a running dev KMS.
type Server struct {
	url     string
	region  string
	dataDir string
	tempDir bool
	log     *slog.Logger
	srv     *http.Server
	db      *data.Database
	served  chan struct{}
	fresh   freshConns
	faults  *faultLayer

	closeOnce sync.Once
	closeErr  error
}

// Start opens the database, loads the seed file and serves the AWS KMS API on
// a loopback address until Close. ctx bounds the start-up only.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := checkLoopback(o.Addr); err != nil {
		return nil, err
	}
	if err := o.Faults.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("devkms: start: %w", err)
	}
	s := &Server{region: o.Region, log: o.Logger, dataDir: o.DataDir, served: make(chan struct{})}
	if err := acquireRegion(o.Region); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.release()
		}
	}()
	if s.dataDir == "" {
		dir, err := os.MkdirTemp("", "p11kms-devkms-")
		if err != nil {
			return nil, fmt.Errorf("devkms: data directory: %w", err)
		}
		s.dataDir, s.tempDir = dir, true
	} else if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("devkms: data directory: %w", err)
	}
	db, err := openDatabase(s.dataDir)
	if err != nil {
		return nil, err
	}
	s.db = db
	if o.SeedFile != "" {
		n, err := loadSeedFile(o.SeedFile, db)
		if err != nil {
			return nil, err
		}
		s.log.Info("devkms: seed loaded", "file", o.SeedFile, "keys", n.Keys, "aliases", n.Aliases)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("devkms: listen: %w", err)
	}
	s.url = "http://" + ln.Addr().String()
	s.faults = newFaultLayer(&kmsHandler{db: db, log: s.log, logrus: newLogrusBridge(s.log)}, o.Faults, s.log)
	s.srv = &http.Server{
		Handler:           s.faults,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnState:         s.fresh.track,
	}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("devkms: serve", "err", err)
		}
	}()
	ok = true
	s.log.Info("devkms: serving", "url", s.url, "region", s.region, "data", s.dataDir)
	return s, nil
}

// URL returns the endpoint URL, e.g. "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.url }

// Region returns the region in the server's ARNs.
func (s *Server) Region() string { return s.region }

// DataDir returns the directory that holds the database.
func (s *Server) DataDir() string { return s.dataDir }

// Close stops serving, closes the database and removes a temporary data
// directory. It leaves no goroutine behind and is safe to call more than
// once (goleveldb's memory-pool goroutine exits up to 1 s after Close
// returns). Requests in flight get up to 2 s to finish; connections that
// never sent a request are closed at once, any others still open after 2 s too.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		shut := make(chan error, 1)
		go func() { shut <- s.srv.Shutdown(ctx) }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var err error
	wait:
		for {
			s.fresh.closeAll()
			select {
			case err = <-shut:
				break wait
			case <-tick.C:
			}
		}
		if err != nil {
			s.log.Debug("devkms: closing connections still open at shutdown", "err", err)
			if cerr := s.srv.Close(); cerr != nil {
				s.closeErr = fmt.Errorf("devkms: close: %w", cerr)
			}
		}
		<-s.served
		s.closeErr = errors.Join(s.closeErr, s.release())
		s.log.Info("devkms: stopped", "url", s.url)
	})
	return s.closeErr
}

// release closes the database, removes a temporary data directory and
// gives back the region claim.
func (s *Server) release() error {
	var err error
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
	if s.tempDir {
		if rerr := os.RemoveAll(s.dataDir); rerr != nil {
			err = fmt.Errorf("devkms: remove data: %w", rerr)
		}
	}
	releaseRegion()
	return err
}

// openDatabase opens local-kms's leveldb database, turning its panic on
// failure (e.g. a directory another process holds) into an error.
func openDatabase(dir string) (db *data.Database, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("devkms: open database in %s: %v", dir, v)
		}
	}()
	return data.NewDatabase(dir), nil
}

// checkLoopback refuses an address that is not on a loopback interface: the
// dev KMS checks no credentials and keeps private keys in cleartext.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("devkms: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("devkms: address %q is not loopback (127.0.0.0/8, ::1 or localhost): the dev KMS checks no credentials", addr)
}
