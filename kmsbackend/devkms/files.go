package devkms

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

// pemString returns der as a PEM block of the type.
func pemString(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// writeFileAtomic writes b to a temporary file next to path and renames it
// over path, so a reader never sees a partial file.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("devkms: write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("devkms: write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("devkms: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("devkms: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("devkms: write %s: %w", path, err)
	}
	return nil
}
