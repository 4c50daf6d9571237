package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDevKMSFaultFlagRefusals(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"exit 2 for a rate above 1", []string{"--fault-throttle", "2"}, "fault rate throttle=2: want a probability from 0 to 1"},
		{"exit 2 for rates adding up above 1", []string{"--fault-5xx", "0.7", "--fault-drop", "0.7"}, "fault rates add up to 1.4"},
		{"exit 2 for an unknown operation", []string{"--fault-throttle", "0.1", "--fault-ops", "Sign,sign"}, `fault operation "sign"`},
		{"exit 2 for a rate that is not a number", []string{"--fault-slow", "often"}, `invalid value "often" for flag -fault-slow`},
		{"exit 2 for a bad delay", []string{"--fault-slow-delay", "soon"}, `invalid value "soon" for flag -fault-slow-delay`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := capture(t, func() int { return runDevKMS(tt.args) })
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tt.wantErr)
		})
	}
}

func TestDevKMSHelpDocumentsFaultFlags(t *testing.T) {
	code, out, errOut := capture(t, func() int { return runDevKMS([]string{"--help"}) })
	assert.Equal(t, 0, code)
	assert.Empty(t, out)
	for _, f := range []string{"-fault-throttle", "-fault-5xx", "-fault-slow", "-fault-slow-delay", "-fault-drop", "-fault-wrong-sig", "-fault-seed", "-fault-ops", "-fault-limit", "ThrottlingException", "KMSInternalException"} {
		assert.Contains(t, errOut, f)
	}
}

func TestDevKMSInjectsConfiguredFaults(t *testing.T) {
	pr, pw := io.Pipe()
	errOut := &syncBuffer{}
	setOutput(t, pw, errOut)
	done := make(chan int, 1)
	go func() {
		done <- runDevKMS([]string{"--fault-throttle", "1", "--fault-ops", "GenerateRandom", "--fault-limit", "1"})
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	require.True(t, lines.Scan(), "the URL on stdout")
	url := lines.Text()

	post := func(op, body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "TrentService."+op)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var e struct {
			Type string `json:"__type"`
		}
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		_ = json.Unmarshal(raw, &e)
		return resp.StatusCode, e.Type
	}
	status, typ := post("ListKeys", `{}`)
	assert.Equal(t, http.StatusOK, status, "ListKeys is not a selected operation")
	status, typ = post("GenerateRandom", `{"NumberOfBytes":8}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "ThrottlingException", typ)
	status, _ = post("GenerateRandom", `{"NumberOfBytes":8}`)
	assert.Equal(t, http.StatusOK, status, "--fault-limit 1: one fault only")
	assert.Contains(t, errOut.String(), "injecting faults")

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("devkms did not stop after SIGTERM")
	}
}
