package devkms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// client returns an SDK client on the server that does not retry.
func client(url string) *kms.Client {
	return kms.New(kms.Options{
		Region:           DefaultRegion,
		BaseEndpoint:     awssdk.String(url),
		Credentials:      awssdk.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
}

// post sends one raw awsJson1_1 request and returns the status and body.
func post(t *testing.T, url, target, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestStartRefusesNonLoopback(t *testing.T) {
	tests := []struct {
		name string
		addr string
		ok   bool
	}{
		{"serves on 127.0.0.1 with a free port", "127.0.0.1:0", true},
		{"serves on localhost", "localhost:0", true},
		{"serves on ::1", "[::1]:0", true},
		{"refused on all interfaces", ":0", false},
		{"refused on 0.0.0.0", "0.0.0.0:0", false},
		{"refused on a private address", "10.1.2.3:0", false},
		{"refused for a host name", "example.com:0", false},
		{"refused without a port", "127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(context.Background(), Options{Addr: tt.addr})
			if !tt.ok {
				require.Error(t, err)
				assert.Nil(t, s)
				return
			}
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(s.URL(), "http://"), s.URL())
			out, err := client(s.URL()).ListKeys(context.Background(), &kms.ListKeysInput{})
			require.NoError(t, err)
			assert.Empty(t, out.Keys)
			require.NoError(t, s.Close())
		})
	}
}

func TestCloseLeavesNoGoroutinesAndNoTempData(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := Start(context.Background(), Options{SeedFile: stdSeedPath})
	require.NoError(t, err)
	dir := s.DataDir()
	require.DirExists(t, dir)
	hc := &http.Client{Transport: &http.Transport{}}
	c := kms.New(kms.Options{Region: DefaultRegion, BaseEndpoint: awssdk.String(s.URL()), Credentials: awssdk.AnonymousCredentials{}, HTTPClient: hc})
	for range 5 {
		out, err := c.ListKeys(context.Background(), &kms.ListKeysInput{})
		require.NoError(t, err)
		require.Len(t, out.Keys, len(stdSeed))
	}
	hc.CloseIdleConnections()
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "a second Close is harmless")
	assert.NoDirExists(t, dir)
	requireGoroutinesBack(t, before, 3*time.Second)
}

func TestPersistentDataDirKeepsKeysAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(context.Background(), Options{DataDir: dir, SeedFile: stdSeedPath})
	require.NoError(t, err)
	created, err := client(s.URL()).CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.DirExists(t, dir, "a given data directory is kept")

	s, err = Start(context.Background(), Options{DataDir: dir, SeedFile: stdSeedPath})
	require.NoError(t, err)
	defer s.Close()
	out, err := client(s.URL()).ListKeys(context.Background(), &kms.ListKeysInput{})
	require.NoError(t, err)
	assert.Len(t, out.Keys, len(stdSeed)+1, "seeded keys are not added twice")
	_, err = client(s.URL()).DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: created.KeyMetadata.KeyId})
	require.NoError(t, err)

	t.Run("a second server on the same data directory is refused", func(t *testing.T) {
		s2, err := Start(context.Background(), Options{DataDir: dir})
		require.ErrorContains(t, err, "open database")
		assert.Nil(t, s2)
	})
}

func TestPanicInLocalKMSAnswers500AndServerSurvives(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := Start(context.Background(), Options{SeedFile: stdSeedPath, Logger: log})
	require.NoError(t, err)
	defer s.Close()
	var ecID string
	for _, k := range stdSeed {
		if k.Spec.String() == "ECC_NIST_P256" {
			ecID = k.ID
		}
	}
	// DESIGN.md: PutKeyPolicy on a non-AES key panics inside local-kms.
	code, body := post(t, s.URL(), "TrentService.PutKeyPolicy", `{"KeyId":"`+ecID+`","PolicyName":"default","Policy":"{}"}`)
	assert.Equal(t, http.StatusInternalServerError, code)
	var e map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &e))
	assert.Equal(t, "InternalFailureException", e["__type"])
	assert.Contains(t, logs.String(), "local-kms panicked")

	out, err := client(s.URL()).ListKeys(context.Background(), &kms.ListKeysInput{})
	require.NoError(t, err)
	assert.Len(t, out.Keys, len(stdSeed))
}

func TestProtocolGatekeeping(t *testing.T) {
	s, err := Start(context.Background(), Options{})
	require.NoError(t, err)
	defer s.Close()
	tests := []struct {
		name   string
		target string
		want   int
	}{
		{"501 for an operation local-kms lacks", "TrentService.CreateGrant", http.StatusNotImplemented},
		{"400 for DeriveSharedSecret (served by ownkeys.go) of no key", "TrentService.DeriveSharedSecret", http.StatusBadRequest},
		{"501 for a method that is not an operation", "TrentService.NewRequestHandler", http.StatusNotImplemented},
		{"501 for another service's target", "OtherService.ListKeys", http.StatusNotImplemented},
		{"200 for ListKeys", "TrentService.ListKeys", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := post(t, s.URL(), tt.target, `{}`)
			assert.Equal(t, tt.want, code)
		})
	}
	t.Run("405 for GET", func(t *testing.T) {
		resp, err := http.Get(s.URL())
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
}

func TestRegionSharedByServersOfOneProcess(t *testing.T) {
	a, err := Start(context.Background(), Options{Region: "sa-east-1"})
	require.NoError(t, err)
	defer a.Close()

	_, err = Start(context.Background(), Options{Region: "eu-west-1"})
	require.ErrorContains(t, err, `region "sa-east-1" already runs`)

	b, err := Start(context.Background(), Options{Region: "sa-east-1"})
	require.NoError(t, err)
	defer b.Close()
	out, err := client(b.URL()).CreateKey(context.Background(), &kms.CreateKeyInput{})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:kms:sa-east-1:"+AccountID+":key/"+*out.KeyMetadata.KeyId, *out.KeyMetadata.Arn)
}

func TestLogsGoToTheLoggerNotStdout(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Start(context.Background(), Options{SeedFile: stdSeedPath, Logger: log})
	require.NoError(t, err)
	_, err = client(s.URL()).DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: awssdk.String("alias/none")})
	require.Error(t, err)
	_, err = client(s.URL()).ListKeys(context.Background(), &kms.ListKeysInput{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	os.Stdout = stdout
	require.NoError(t, w.Close())
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Empty(t, string(out), "nothing on stdout")
	assert.Contains(t, logs.String(), "local-kms: Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found.")
	assert.Contains(t, logs.String(), fmt.Sprintf("local-kms: %d keys listed", len(stdSeed)))
	assert.Contains(t, logs.String(), "devkms: seed loaded")
}

// requireGoroutinesBack waits until no more goroutines run than before
// (polling here: testify's Eventually runs its condition in a goroutine of
// its own, which would be counted).
func requireGoroutinesBack(t *testing.T, before int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
