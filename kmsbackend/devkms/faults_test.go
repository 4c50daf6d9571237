package devkms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawClient sends raw awsJson1_1 requests with no retry of any kind.
type rawClient struct {
	url string
	hc  *http.Client
}

func newRawClient(t *testing.T, url string, timeout time.Duration) *rawClient {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &rawClient{url: url, hc: &http.Client{Transport: tr, Timeout: timeout}}
}

// answer is one decoded response.
type answer struct {
	status int
	body   map[string]any
}

// do posts one request of the operation.
func (c *rawClient) do(op, body string) (answer, error) {
	req, err := http.NewRequest(http.MethodPost, c.url, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+op)
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		return a, fmt.Errorf("body %q: %w", raw, err)
	}
	return a, nil
}

const randomBody = `{"NumberOfBytes":16}`

// signBody is a Sign request for an RSASSA_PKCS1_V1_5_SHA_256 signature of digest.
func signBody(keyID string, digest []byte) string {
	return fmt.Sprintf(`{"KeyId":%q,"Message":%q,"MessageType":"DIGEST","SigningAlgorithm":"RSASSA_PKCS1_V1_5_SHA_256"}`,
		keyID, base64.StdEncoding.EncodeToString(digest))
}

// seedKey returns the standard seed key with the alias.
func seedKey(t *testing.T, alias string) SeedKey {
	t.Helper()
	for _, k := range stdSeed {
		for _, a := range k.Aliases {
			if a == alias {
				return k
			}
		}
	}
	t.Fatalf("no seed key %s", alias)
	return SeedKey{}
}

// faultServer starts a seeded dev KMS with the faults.
func faultServer(t *testing.T, f FaultConfig) *Server {
	t.Helper()
	s, err := Start(context.Background(), Options{SeedFile: stdSeedPath, Faults: f})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestFaultConfigRefusals(t *testing.T) {
	tests := []struct {
		name    string
		cfg     FaultConfig
		wantErr string
	}{
		{"refused rate above 1", FaultConfig{Throttle: 1.5}, "fault rate throttle=1.5: want a probability from 0 to 1"},
		{"refused negative rate", FaultConfig{Drop: -0.1}, "fault rate drop=-0.1"},
		{"refused NaN rate", FaultConfig{Slow: math.NaN()}, "fault rate slow=NaN"},
		{"refused rates adding up above 1", FaultConfig{Throttle: 0.6, ServerError: 0.6}, "fault rates add up to 1.2"},
		{"refused negative slow delay", FaultConfig{Slow: 0.1, SlowDelay: -time.Second}, "must not be negative"},
		{"refused negative limit", FaultConfig{Throttle: 0.1, Limit: -1}, "must not be negative"},
		{"refused unknown operation", FaultConfig{Throttle: 0.1, Ops: []string{"sign"}}, `fault operation "sign": not an AWS KMS operation`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(context.Background(), Options{Faults: tt.cfg})
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, s)
		})
	}
	t.Run("refused by SetFaults, which keeps the previous configuration", func(t *testing.T) {
		s := faultServer(t, FaultConfig{Throttle: 1})
		require.ErrorContains(t, s.SetFaults(FaultConfig{ServerError: 2}), "fault rate 5xx=2")
		a, err := newRawClient(t, s.URL(), 5*time.Second).do("GenerateRandom", randomBody)
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, a.status)
	})
}

func TestFaultErrorAnswersFollowAWSShapes(t *testing.T) {
	tests := []struct {
		name      string
		cfg       FaultConfig
		wantCodes []string
		wantHTTP  []int
		wantMsg   string
		want      FaultCounts
	}{
		{"throttled as HTTP 400 ThrottlingException", FaultConfig{Throttle: 1},
			[]string{"ThrottlingException", "ThrottlingException"}, []int{400, 400},
			"You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
			FaultCounts{Requests: 2, Throttle: 2}},
		{"5xx answers cycle through the KMS and common codes", FaultConfig{ServerError: 1},
			[]string{"KMSInternalException", "DependencyTimeoutException", "ServiceUnavailable", "InternalFailure", "KMSInternalException"},
			[]int{500, 500, 503, 500, 500}, "",
			FaultCounts{Requests: 5, ServerError: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := faultServer(t, tt.cfg)
			c := newRawClient(t, s.URL(), 5*time.Second)
			for i, code := range tt.wantCodes {
				a, err := c.do("GenerateRandom", randomBody)
				require.NoError(t, err)
				assert.Equal(t, tt.wantHTTP[i], a.status, "request %d", i)
				assert.Equal(t, code, a.body["__type"], "request %d", i)
				if tt.wantMsg != "" {
					assert.Equal(t, tt.wantMsg, a.body["message"])
				}
			}
			assert.Equal(t, tt.want, s.FaultCounts())
		})
	}
}

func TestFaultDropClosesWithoutAnswer(t *testing.T) {
	s := faultServer(t, FaultConfig{Drop: 1, Limit: 1})
	c := newRawClient(t, s.URL(), 5*time.Second)
	_, err := c.do("GenerateRandom", randomBody)
	require.ErrorIs(t, err, io.EOF, "the connection closes before a byte of answer")
	a, err := c.do("GenerateRandom", randomBody)
	require.NoError(t, err, "the next request, past the limit, is answered")
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, FaultCounts{Requests: 2, Drop: 1}, s.FaultCounts())
}

func TestFaultSlowDelaysTheRealAnswer(t *testing.T) {
	const delay = 400 * time.Millisecond
	s := faultServer(t, FaultConfig{Slow: 1, SlowDelay: delay})
	t.Run("answered 200 after the delay", func(t *testing.T) {
		start := time.Now()
		a, err := newRawClient(t, s.URL(), 5*time.Second).do("GenerateRandom", randomBody)
		elapsed := time.Since(start)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, a.status)
		plain, err := base64.StdEncoding.DecodeString(a.body["Plaintext"].(string))
		require.NoError(t, err)
		assert.Len(t, plain, 16)
		assert.GreaterOrEqual(t, elapsed, delay)
	})
	t.Run("a client with a shorter timeout gets no answer", func(t *testing.T) {
		_, err := newRawClient(t, s.URL(), 100*time.Millisecond).do("GenerateRandom", randomBody)
		var ne interface{ Timeout() bool }
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
	})
	assert.Equal(t, FaultCounts{Requests: 2, Slow: 2}, s.FaultCounts())
}

func TestFaultWrongSignatureNeverVerifies(t *testing.T) {
	key := seedKey(t, "alias/dev-rsa-2048")
	pub := key.Private.Public().(*rsa.PublicKey)
	digest := sha256.Sum256([]byte("message"))
	s := faultServer(t, FaultConfig{WrongSignature: 1, Ops: []string{"Sign", "GenerateRandom"}})
	c := newRawClient(t, s.URL(), 5*time.Second)
	sign := func() []byte {
		a, err := c.do("Sign", signBody(key.ID, digest[:]))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, a.status, a.body)
		sig, err := base64.StdEncoding.DecodeString(a.body["Signature"].(string))
		require.NoError(t, err)
		require.Len(t, sig, 256, "a well-formed RSA-2048 signature")
		return sig
	}
	flipped, otherData := sign(), sign()

	a, err := c.do("GenerateRandom", randomBody)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, a.status, "no wrong-signature fault outside Sign")
	assert.Equal(t, FaultCounts{Requests: 3, WrongSignature: 2}, s.FaultCounts())

	require.NoError(t, s.SetFaults(FaultConfig{}))
	real := sign()
	require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], real), "fault-free signatures verify")

	t.Run("first: the real signature with its last byte flipped", func(t *testing.T) {
		assert.Error(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], flipped))
		want := bytes.Clone(real) // RSASSA-PKCS1-v1_5 is deterministic
		want[len(want)-1] ^= 1
		assert.Equal(t, want, flipped)
	})
	t.Run("second: a real signature over other data", func(t *testing.T) {
		assert.Error(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], otherData))
		other := digest
		other[0] ^= 0xff
		assert.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, other[:], otherData))
	})
}

func TestFaultOpsLimitAndSeed(t *testing.T) {
	// statuses sends n GenerateRandom requests and returns their HTTP statuses.
	statuses := func(t *testing.T, s *Server, op string, n int) []int {
		c := newRawClient(t, s.URL(), 5*time.Second)
		body := randomBody
		if op == "ListKeys" {
			body = `{}`
		}
		out := make([]int, n)
		for i := range out {
			a, err := c.do(op, body)
			require.NoError(t, err)
			out[i] = a.status
		}
		return out
	}
	t.Run("operations outside Ops are answered and not counted", func(t *testing.T) {
		s := faultServer(t, FaultConfig{Throttle: 1, Ops: []string{"ListKeys"}})
		assert.Equal(t, []int{200, 200}, statuses(t, s, "GenerateRandom", 2))
		assert.Equal(t, []int{400}, statuses(t, s, "ListKeys", 1))
		assert.Equal(t, FaultCounts{Requests: 1, Throttle: 1}, s.FaultCounts())
	})
	t.Run("no fault after Limit faults", func(t *testing.T) {
		s := faultServer(t, FaultConfig{ServerError: 1, Limit: 2})
		assert.Equal(t, []int{500, 500, 200, 200}, statuses(t, s, "GenerateRandom", 4))
		assert.Equal(t, FaultCounts{Requests: 4, ServerError: 2}, s.FaultCounts())
	})
	t.Run("rates honoured and one seed gives one sequence", func(t *testing.T) {
		const n = 600
		cfg := FaultConfig{Throttle: 0.2, ServerError: 0.1, Seed: 42}
		s := faultServer(t, cfg)
		first := statuses(t, s, "GenerateRandom", n)
		got := s.FaultCounts()
		count := func(code int) (k int64) {
			for _, st := range first {
				if st == code {
					k++
				}
			}
			return k
		}
		assert.Equal(t, got.Throttle, count(400))
		assert.Equal(t, got.ServerError, count(500)+count(503))
		assert.Equal(t, int64(n), got.Requests)
		// Binomial(600, 0.2): mean 120, sd 9.8; Binomial(600, 0.1): mean 60, sd 7.3 (4 sd bands).
		assert.InDelta(t, 120, got.Throttle, 40)
		assert.InDelta(t, 60, got.ServerError, 30)

		require.NoError(t, s.SetFaults(cfg))
		assert.Equal(t, first, statuses(t, s, "GenerateRandom", n), "same seed, same faults")
		cfg.Seed = 43
		require.NoError(t, s.SetFaults(cfg))
		assert.NotEqual(t, first, statuses(t, s, "GenerateRandom", n), "another seed, other faults")
	})
}

func TestCloseDoesNotWaitForSlowAnswers(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := Start(context.Background(), Options{Faults: FaultConfig{Slow: 1, SlowDelay: time.Minute}})
	require.NoError(t, err)
	c := newRawClient(t, s.URL(), 0)
	done := make(chan error, 1)
	go func() { _, err := c.do("GenerateRandom", randomBody); done <- err }()
	require.Eventually(t, func() bool { return s.FaultCounts().Slow == 1 }, 5*time.Second, 10*time.Millisecond)
	start := time.Now()
	require.NoError(t, s.Close())
	assert.Less(t, time.Since(start), 3*time.Second, "Close gives requests in flight 2 s, then closes them")
	require.Error(t, <-done, "the slow request gets no answer")
	c.hc.CloseIdleConnections()
	requireGoroutinesBack(t, before, 3*time.Second)
}

func TestUnreachableURLRefusesConnections(t *testing.T) {
	url, err := UnreachableURL()
	require.NoError(t, err)
	_, err = newRawClient(t, url, 5*time.Second).do("GenerateRandom", randomBody)
	require.True(t, errors.Is(err, syscall.ECONNREFUSED), "want connection refused, got %v", err)
}
