package protocol

import "time"

// Config is a parsed pull.application.config.get answer (docs/protocol.md §2.2). Only what a
// client uses is kept; unknown keys are ignored.
type Config struct {
	Server   Server
	API      API
	Channels Channels
	// PublicChannels maps a user id (as the JSON key) to the public id of that user's portal channel.
	// Empty when the answer carries false (versions below 4) or nothing.
	PublicChannels map[string]PublicChannel
	// ClientID is the portal's licence code; present in shared mode only.
	ClientID string
	// JWT is the connection token for server version 5 and later; empty otherwise.
	JWT string
	// Exp is the config expiry in unix seconds; 0 when absent.
	Exp int64
	// ServerTime is the server's "now" when the answer carried serverTime; zero otherwise.
	ServerTime time.Time
	// TimeShift is how far the local clock runs ahead of the server's (local − server), taken from
	// ServerTime at parse time and rounded down to whole seconds as the reference clients do; 0 when
	// the answer has no usable serverTime.
	TimeShift time.Duration
}

// Server is the config's server object.
type Server struct {
	Version       int
	ServerEnabled bool
	Mode          string // "personal" or "shared"
	Hostname      string

	LongPolling       string // long_polling
	LongPollingSecure string // long_pooling_secure (the portal really spells it "pooling")
	WebSocketEnabled  bool
	WebSocket         string
	WebSocketSecure   string
	PublishEnabled    bool
	Publish           string
	PublishSecure     string

	ConfigTimestamp int64
}

// API is the config's api object.
type API struct {
	RevisionWeb    int
	RevisionMobile int
}

// Channels holds the connection's channels. For server version 5 and later Private is nil (the JWT
// names the user instead).
type Channels struct {
	Private *Channel
	Shared  *Channel
}

// Channel is one signed channel from the config.
type Channel struct {
	// ID is the signed id as the URL needs it: "<priv>:<pub>.<sig>" or "<id>.<sig>". It is a secret.
	ID string
	// PublicID is "<publicId>.<sig>" for private channels; empty otherwise.
	PublicID string
	Start    time.Time
	End      time.Time
	// Type is "private", "shared", or for app channels sometimes the app's client id.
	Type string
}

// PublicChannel is one entry of publicChannels or of pull.channel.public.list.
type PublicChannel struct {
	UserID    int
	PublicID  string
	Signature string
	Start     time.Time
	End       time.Time
}
