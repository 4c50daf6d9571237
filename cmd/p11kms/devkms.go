package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

func init() {
	register(command{name: "devkms", summary: "run the embedded development KMS on loopback (prints its URL)", run: runDevKMS})
}

// runDevKMS serves the dev KMS until SIGINT or SIGTERM. The first and only
// line on stdout is the endpoint URL, printed once the server accepts
// requests (and after --config-out is written), so scripts can read it.
func runDevKMS(args []string) int {
	fs := flag.NewFlagSet("devkms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback `address` to listen on (port 0: a free port)")
	dataDir := fs.String("data", "", "`directory` for the key database (default: a temporary one, removed on exit)")
	seed := fs.String("seed", "", "seed `file` with known keys, in local-kms's format")
	region := fs.String("region", devkms.DefaultRegion, "`region` in the keys' ARNs")
	configOut := fs.String("config-out", "", "write a module configuration `file` with one token (devkms) selecting every key")
	logLevel := fs.String("log-level", "info", "log `level` on stderr: debug, info, warn, error")
	faults := faultFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: p11kms devkms [flags]\n\nRuns the development KMS (local-kms; no credentials checked, keys in cleartext) on loopback.\n\n%s\n", faultHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "p11kms devkms: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "p11kms devkms: %v\n", err)
		return 2
	}
	faultCfg, err := faults()
	if err != nil {
		fmt.Fprintf(stderr, "p11kms devkms: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := devkms.Start(ctx, devkms.Options{Addr: *addr, DataDir: *dataDir, SeedFile: *seed, Region: *region, Logger: log, Faults: faultCfg})
	if err != nil {
		log.Error("p11kms devkms: start failed", "err", err)
		return 1
	}
	if *configOut != "" {
		if err := srv.WriteModuleConfig(*configOut, "devkms"); err != nil {
			log.Error("p11kms devkms: writing the module configuration failed", "err", err)
			_ = srv.Close()
			return 1
		}
		log.Info("p11kms devkms: module configuration written", "file", *configOut)
	}
	fmt.Fprintln(stdout, srv.URL())
	if faultCfg.Active() {
		log.Warn("p11kms devkms: injecting faults", "throttle", faultCfg.Throttle, "5xx", faultCfg.ServerError,
			"slow", faultCfg.Slow, "slow_delay", faultCfg.SlowDelay, "drop", faultCfg.Drop, "wrong_sig", faultCfg.WrongSignature,
			"ops", strings.Join(faultCfg.Ops, ","), "seed", faultCfg.Seed, "limit", faultCfg.Limit)
	}
	<-ctx.Done()
	log.Info("p11kms devkms: signal received, shutting down")
	if err := srv.Close(); err != nil {
		log.Error("p11kms devkms: shutdown", "err", err)
		return 1
	}
	return 0
}

// faultHelp introduces the --fault-* flags in `p11kms devkms --help`.
const faultHelp = `Fault injection (for reliability tests; kmsbackend/devkms/faults.go): each
request of the selected operations draws at most one fault. --fault-throttle
answers HTTP 400 ThrottlingException; --fault-5xx answers, in turn, 500
KMSInternalException, 500 DependencyTimeoutException, 503 ServiceUnavailable
and 500 InternalFailure; --fault-slow delays the real answer by
--fault-slow-delay; --fault-drop closes the connection without an answer;
--fault-wrong-sig answers Sign with a signature that does not verify (the real
one with a byte flipped, or one over other data). Rates are probabilities
from 0 to 1 adding up to at most 1. Example:
  p11kms devkms --fault-throttle 0.05 --fault-5xx 0.05 --fault-ops Sign,GenerateRandom
`

// faultFlags defines the --fault-* flags on fs; the returned function,
// called after fs.Parse, gives the validated configuration.
func faultFlags(fs *flag.FlagSet) func() (devkms.FaultConfig, error) {
	var c devkms.FaultConfig
	fs.Float64Var(&c.Throttle, "fault-throttle", 0, "`rate` (0..1) of requests answered 400 ThrottlingException")
	fs.Float64Var(&c.ServerError, "fault-5xx", 0, "`rate` of requests answered with a 5xx error")
	fs.Float64Var(&c.Slow, "fault-slow", 0, "`rate` of requests answered after --fault-slow-delay")
	fs.DurationVar(&c.SlowDelay, "fault-slow-delay", devkms.DefaultSlowDelay, "`delay` of a slow answer")
	fs.Float64Var(&c.Drop, "fault-drop", 0, "`rate` of requests whose connection is closed without an answer")
	fs.Float64Var(&c.WrongSignature, "fault-wrong-sig", 0, "`rate` of Sign requests answered with a wrong signature")
	fs.Uint64Var(&c.Seed, "fault-seed", 0, "`seed` of the fault draws (one seed, one sequence of faults)")
	fs.IntVar(&c.Limit, "fault-limit", 0, "stop injecting after `n` faults (0: never)")
	ops := fs.String("fault-ops", "", "comma-separated `operations` that get faults, e.g. Sign,Decrypt (default: all)")
	return func() (devkms.FaultConfig, error) {
		c.Ops = nil
		for _, op := range strings.Split(*ops, ",") {
			if op = strings.TrimSpace(op); op != "" {
				c.Ops = append(c.Ops, op)
			}
		}
		return c, c.Validate()
	}
}
