// Package protocol holds everything a Bitrix24 Push & Pull client must know about the wire, with no
// browser and no network in it: the pull.application.config.get answer parsed into a typed Config, the
// REST error envelope, the connection and publication URLs, the three wire formats (legacy text,
// protobuf, JSON-RPC 2.0) in both directions, and the system commands and extra fields of a delivered
// message as typed values (ParseSystem, ParseExtra).
//
// The client (package session and the browser bridge) uses the decoders for what the push server sends
// and the encoders for what a client sends; the stand-in server (package standin) uses the opposite
// halves. Recorded frames from a real Push server 2.0 under testdata/ keep both honest.
//
// Every decoder turns one frame into a Batch of normalised Messages. Bad input never panics: a piece
// that cannot be read is skipped and counted in Batch.Garbage while the rest of the frame is kept.
package protocol
