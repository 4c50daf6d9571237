//go:build race

package token

// relSigns is the number of signatures of the volume run under -race, where
// 10,000 take about 55 s on 2 cores: 1,000 still drive every retry path
// through the race detector; the 10,000 run is the one without -race.
const relSigns = 1000
