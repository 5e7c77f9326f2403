package client

import (
	"context"
	"sync"
)

// line keeps publishes in the order the app made them, through the waits before each is handed to
// the loop (a config still loading, a public id lookup): a place is taken when the app calls, and a
// publish goes ahead once every earlier one was handed over or gave up.
type line struct {
	mu       sync.Mutex
	next     uint64 // the next place to hand out
	serving  uint64 // the place whose turn it is
	finished map[uint64]bool
	wake     chan struct{} // closed when serving moves
}

// take returns the next place in the line.
func (l *line) take() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.next
	l.next++
	return n
}

// wait returns once it is place n's turn, or with ctx's error (n is then given up, and must not be
// finished again).
func (l *line) wait(ctx context.Context, n uint64) error {
	for {
		l.mu.Lock()
		if l.serving == n {
			l.mu.Unlock()
			return nil
		}
		if l.wake == nil {
			l.wake = make(chan struct{})
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			l.finish(n)
			return ctx.Err()
		}
	}
}

// finish ends place n: the turn passes to the first place after it not yet finished.
func (l *line) finish(n uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished == nil {
		l.finished = make(map[uint64]bool)
	}
	l.finished[n] = true
	moved := false
	for l.finished[l.serving] {
		delete(l.finished, l.serving)
		l.serving++
		moved = true
	}
	if moved && l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
}

type placeKey struct{}

// InLine returns ctx holding the next place in c's line of publishes. The bridge takes it while the
// app's call runs, before the goroutine that carries the publish out starts (goroutines do not start
// in the order they were made): SendMessage or SendMessageToChannels given that ctx keeps the place.
// Every place taken must be used by exactly one of them.
func (c *Client) InLine(ctx context.Context) context.Context {
	return context.WithValue(ctx, placeKey{}, c.publishes.take())
}

// place returns the place ctx holds, or takes one.
func (c *Client) place(ctx context.Context) uint64 {
	if n, ok := ctx.Value(placeKey{}).(uint64); ok {
		return n
	}
	return c.publishes.take()
}
