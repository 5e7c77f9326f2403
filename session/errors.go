package session

import "errors"

// Errors a pending Start can settle with, besides the REST error that stopped it.
var (
	ErrStopped      = errors.New("b24pull: stopped before going online")
	ErrStartTimeout = errors.New("b24pull: could not connect to the push server in time")
	ErrNoTransport  = errors.New("b24pull: the config offers no usable transport")
)
