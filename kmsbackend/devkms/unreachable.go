package devkms

import (
	"fmt"
	"net"
)

// UnreachableURL returns an endpoint URL on loopback where nothing listens
// (a free port taken and closed again), for tests of an unreachable KMS:
// connections to it are refused at once.
func UnreachableURL() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("devkms: unreachable endpoint: %w", err)
	}
	url := "http://" + ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("devkms: unreachable endpoint: %w", err)
	}
	return url, nil
}
