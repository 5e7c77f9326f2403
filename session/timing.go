package session

import "time"

// Timing holds every delay the machine uses. DefaultTiming gives the protocol's values; tests and demos
// may shorten them.
type Timing struct {
	// Backoff is the reconnect delay by attempt bucket: attempt 0, 1–2, 3–4, 5–9, 10 and more.
	Backoff [5]time.Duration
	// BackoffJitter is the largest extra delay, as a fraction of the base delay.
	BackoffJitter float64
	// ChannelExpireReconnect is the delay before reconnecting with a channel taken from channel_expire.
	ChannelExpireReconnect time.Duration
	// RestartDelay is the random delay range after config_expire and server_restart, so that a whole
	// portal's clients do not reload at the same instant.
	RestartDelay [2]time.Duration
	// WrongChannelDelay is the random delay range before reloading the config after close code 4010.
	WrongChannelDelay [2]time.Duration
	// RenewJitter is the random delay range after the config's earliest expiry before reloading it.
	RenewJitter [2]time.Duration
	// RenewRetry is the delay before asking again when a reloaded config still carries expired channels
	// or the load failed with a retryable error (by retry count; the last value repeats).
	RenewRetry []time.Duration
	// SafetyTick is the period of the backstop expiry check.
	SafetyTick time.Duration
	// PingTimeout is how long a JSON-RPC connection may stay without a server ping; FirstPingTimeout
	// applies from the open until the first ping.
	PingTimeout      time.Duration
	FirstPingTimeout time.Duration
	// OfflineDebounce delays reporting "offline" so that a quick reconnect does not flap the status.
	OfflineDebounce time.Duration
	// RestoreWebSocket is how long long polling is used before websocket is tried again.
	RestoreWebSocket time.Duration
	// ShortLived is the age under which a connection that closes without having received anything
	// counts as refused (a browser cannot see the close code a server sends right after accepting).
	ShortLived time.Duration
	// LongPollOpen is how long a pending long-polling request takes to count as an open connection.
	LongPollOpen time.Duration
	// StartTimeout bounds how long Start waits to be online before it gives up.
	StartTimeout time.Duration
}

// DefaultTiming returns the delays of docs/protocol.md §12–§15.
func DefaultTiming() Timing {
	return Timing{
		Backoff:                [5]time.Duration{500 * time.Millisecond, 5 * time.Second, 25 * time.Second, 45 * time.Second, 60 * time.Second},
		BackoffJitter:          0.2,
		ChannelExpireReconnect: time.Second,
		RestartDelay:           [2]time.Duration{10 * time.Second, 120 * time.Second},
		WrongChannelDelay:      [2]time.Duration{6 * time.Second, 35 * time.Second},
		RenewJitter:            [2]time.Duration{time.Second, 5 * time.Second},
		RenewRetry:             []time.Duration{5 * time.Second, 15 * time.Second, 30 * time.Second, 60 * time.Second},
		SafetyTick:             60 * time.Second,
		PingTimeout:            20 * time.Second,
		FirstPingTimeout:       40 * time.Second,
		OfflineDebounce:        5 * time.Second,
		RestoreWebSocket:       30 * time.Minute,
		ShortLived:             time.Second,
		LongPollOpen:           5 * time.Second,
		StartTimeout:           60 * time.Second,
	}
}

// backoffBase is the reconnect delay before jitter for a given connection attempt count.
func (t *Timing) backoffBase(attempt int) time.Duration {
	switch {
	case attempt <= 0:
		return t.Backoff[0]
	case attempt <= 2:
		return t.Backoff[1]
	case attempt <= 4:
		return t.Backoff[2]
	case attempt <= 9:
		return t.Backoff[3]
	default:
		return t.Backoff[4]
	}
}

// between returns a duration in [r[0], r[1]] picked by u in [0, 1).
func between(r [2]time.Duration, u float64) time.Duration {
	if r[1] <= r[0] {
		return r[0]
	}
	return r[0] + time.Duration(u*float64(r[1]-r[0]))
}
