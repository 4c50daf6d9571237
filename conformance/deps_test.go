package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// requiredPackages are the Debian packages whose clients the suite drives.
var requiredPackages = []string{"opensc", "softhsm2", "p11-kit", "gnutls-bin", "libengine-pkcs11-openssl",
	"libnss3-tools", "python3-pykcs11", "python3-cryptography", "nginx", "openssl", "openssh-client", "osslsigncode"}

// ensurePackages installs the missing Debian packages: through
// scripts/deps.sh when it exists (its own list), then apt-get for the rest.
// Without root it only reports what is missing.
func ensurePackages(ctx context.Context) error {
	missing := missingPackages(requiredPackages)
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing Debian packages %v and not root: apt-get install -y %s", missing, strings.Join(missing, " "))
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if _, err := os.Stat("../scripts/deps.sh"); err == nil {
		cmd := exec.CommandContext(ctx, "../scripts/deps.sh")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("scripts/deps.sh: %w", err)
		}
		if missing = missingPackages(requiredPackages); len(missing) == 0 {
			return nil
		}
	}
	for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...)} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", strings.Join(args, " "), err)
		}
	}
	return nil
}

// missingPackages returns the packages dpkg does not report installed.
func missingPackages(pkgs []string) []string {
	var out []string
	for _, p := range pkgs {
		b, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Abbrev}", p).Output()
		if err != nil || !strings.HasPrefix(string(b), "ii") {
			out = append(out, p)
		}
	}
	return out
}
