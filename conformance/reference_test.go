package conformance

import (
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// setupSoftHSM makes SoftHSM2 (P11KMS_CONFORMANCE_MODULE=softhsm2) hold the
// same keys under the same labels and CKA_IDs as the dev KMS would, so every
// client command can be debugged against a reference module: one token
// directory with every key, and one per tokenEnv subset.
func setupSoftHSM(e *suiteEnv) error {
	mainConf, err := softHSMToken(e, filepath.Join(e.Dir, "softhsm-main"), e.Keys)
	if err != nil {
		return err
	}
	if e.SignOnlyEnv, err = e.tokenEnv("signonly", e.signKeys()); err != nil {
		return err
	}
	return os.Setenv("SOFTHSM2_CONF", mainConf)
}

// softHSMToken creates a SoftHSM2 configuration in dir with one token
// holding keys and returns the configuration's path.
func softHSMToken(e *suiteEnv, dir string, keys []*confKey) (string, error) {
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return "", err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return "", err
	}
	util := func(args ...string) error {
		cmd := exec.Command("softhsm2-util", args...)
		cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("softhsm2-util %v: %w\n%s", args, err, out)
		}
		return nil
	}
	if err := util("--init-token", "--free", "--label", e.Token, "--pin", e.PIN, "--so-pin", "so"+e.PIN); err != nil {
		return "", err
	}
	for _, k := range keys {
		der, err := marshalPKCS8(k)
		if err != nil {
			return "", fmt.Errorf("%s: %w", k.Name, err)
		}
		file := filepath.Join(dir, k.Name+".p8.pem")
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return "", err
		}
		if err := util("--import", file, "--token", e.Token, "--label", k.Label, "--id", k.IDHex(), "--pin", e.PIN); err != nil {
			return "", err
		}
		_ = os.Remove(file)
	}
	return conf, nil
}
