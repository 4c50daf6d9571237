package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
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
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: p11kms devkms [flags]\n\nRuns the development KMS (local-kms; no credentials checked, keys in cleartext) on loopback.\n\n")
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := devkms.Start(ctx, devkms.Options{Addr: *addr, DataDir: *dataDir, SeedFile: *seed, Region: *region, Logger: log})
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
	<-ctx.Done()
	log.Info("p11kms devkms: signal received, shutting down")
	if err := srv.Close(); err != nil {
		log.Error("p11kms devkms: shutdown", "err", err)
		return 1
	}
	return 0
}
