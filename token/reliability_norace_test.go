//go:build !race

package token

// relSigns is the number of signatures of the volume run without -race:
// 10,000 ECDSA P-256 signatures (about 14 s on 2 cores).
const relSigns = 10000
