package token

// Module is the whole module state: configuration, slots, sessions. cgo/ holds
// exactly one, created by New.
type Module struct{}

// New returns an uninitialized module.
func New() *Module { return &Module{} }
