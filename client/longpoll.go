package client

import "context"

// LongPollAnswer is what one long-polling GET returned.
type LongPollAnswer struct {
	Status        int
	Body          []byte
	Expires       string // the Expires header
	LastMessageID string // the Last-Message-Id header
}

// LongPoller performs one long-polling GET of url, reading at most limit bytes of body (a longer
// body is an error). It returns ctx.Err() when ctx ends first. Natively the client uses net/http; the
// browser bridge passes one built on fetch, which keeps Go's HTTP client out of the wasm (about 5 MB
// raw, 0.9 MB brotli).
type LongPoller interface {
	Get(ctx context.Context, url string, limit int64) (LongPollAnswer, error)
}
