package devkms

import (
	"fmt"
	"time"
)

// FaultKind names one kind of fault the dev KMS can inject.
type FaultKind string

// The fault kinds, in the order a request's random draw tests them.
const (
	// FaultThrottle answers HTTP 400 ThrottlingException, as AWS KMS does
	// when a request quota is exceeded.
	FaultThrottle FaultKind = "throttle"
	// FaultServerError answers one of the service's 5xx errors (serverErrors).
	FaultServerError FaultKind = "5xx"
	// FaultSlow waits FaultConfig.SlowDelay, then answers normally.
	FaultSlow FaultKind = "slow"
	// FaultDrop reads the request and closes the connection without answering.
	FaultDrop FaultKind = "drop"
	// FaultWrongSignature answers a Sign request with a well-formed signature
	// that does not verify: the real one with its last byte flipped, or (in
	// turn) a real signature over other data.
	FaultWrongSignature FaultKind = "wrong-signature"
)

// DefaultSlowDelay is FaultConfig.SlowDelay when it is zero.
const DefaultSlowDelay = 2 * time.Second

// FaultConfig makes the dev KMS misbehave like a real service on a bad day,
// for reliability tests. Each request of a selected operation draws one
// number: with probability Throttle it is throttled, else with probability
// ServerError it gets a 5xx, and so on (at most one fault per request). The
// zero value injects nothing.
type FaultConfig struct {
	// Throttle is the probability (0..1) of a ThrottlingException.
	Throttle float64
	// ServerError is the probability of a 5xx answer.
	ServerError float64
	// Slow is the probability of an answer delayed by SlowDelay.
	Slow float64
	// SlowDelay is how long a slow answer waits; default DefaultSlowDelay.
	SlowDelay time.Duration
	// Drop is the probability of a connection closed without an answer.
	Drop float64
	// WrongSignature is the probability of a wrong signature; Sign only.
	WrongSignature float64
	// Ops restricts faults to these operations (e.g. "Sign"); empty: all.
	Ops []string
	// Seed seeds the random draws: one seed gives one sequence of faults
	// for one sequence of requests.
	Seed uint64
	// Limit stops injecting after that many faults in total; 0: no limit.
	Limit int
}

// FaultCounts counts the requests the fault layer saw and the faults it injected.
type FaultCounts struct {
	// Requests counts requests of the selected operations, faulty or not.
	Requests int64
	// Injected faults, per kind.
	Throttle, ServerError, Slow, Drop, WrongSignature int64
}

// Validate checks the rates (each 0..1, together at most 1), the delay, the
// limit and the operation names (operations the dev KMS serves).
func (c FaultConfig) Validate() error {
	sum := 0.0
	for _, r := range []struct {
		name string
		p    float64
	}{{"throttle", c.Throttle}, {"5xx", c.ServerError}, {"slow", c.Slow}, {"drop", c.Drop}, {"wrong-signature", c.WrongSignature}} {
		if !(r.p >= 0 && r.p <= 1) { // also refuses NaN
			return fmt.Errorf("devkms: fault rate %s=%v: want a probability from 0 to 1", r.name, r.p)
		}
		sum += r.p
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("devkms: fault rates add up to %v; at most one fault per request, so at most 1", sum)
	}
	if c.SlowDelay < 0 || c.Limit < 0 {
		return fmt.Errorf("devkms: fault slow delay and limit must not be negative")
	}
	for _, op := range c.Ops {
		if _, ok := operations[op]; !ok {
			return fmt.Errorf("devkms: fault operation %q: not an AWS KMS operation the dev KMS serves (e.g. Sign, GenerateRandom, DescribeKey)", op)
		}
	}
	return nil
}

// Active reports whether any fault rate is above zero.
func (c FaultConfig) Active() bool {
	return c.Throttle > 0 || c.ServerError > 0 || c.Slow > 0 || c.Drop > 0 || c.WrongSignature > 0
}

// SetFaults replaces the server's fault configuration (e.g. after a test
// has discovered its keys), reseeds the draws and zeroes FaultCounts.
func (s *Server) SetFaults(cfg FaultConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.faults.set(cfg)
	return nil
}

// FaultCounts returns the requests seen and faults injected since Start or
// the last SetFaults.
func (s *Server) FaultCounts() FaultCounts {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.counts
}
