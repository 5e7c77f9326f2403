//go:build !js

package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/b24pull/b24pull/standin"
)

// Event shape: every bench event is module "application", command "bench", params
// {"n":<index>,"t":<publish time, ms since the epoch>,"pad":"…"}. The pad makes the message body the
// stand-in sends (params plus its extra) about messageBytes long.
const (
	benchModule  = "application"
	benchCommand = "bench"
	benchUser    = 1
	// padBytes sizes the pad so that a message body is about 300 bytes.
	padBytes = 50
)

// messageBytes is the size of one message body as the stand-in publishes it (measured by the tests).
const messageBytes = 300

// pollEvery is how often a waiting publisher or a connection check looks at the stand-in's counters.
const pollEvery = 200 * time.Microsecond

// publisher publishes bench events to the bench user's app channel.
type publisher struct {
	s   *standin.Server
	pad string
	buf []byte
}

func newPublisher(s *standin.Server) *publisher {
	return &publisher{s: s, pad: strings.Repeat("x", padBytes)}
}

// nowMs is the machine's wall clock in milliseconds, as the page's performance.timeOrigin +
// performance.now() reads it.
func nowMs() float64 { return float64(time.Now().UnixMicro()) / 1000 }

// publish sends event n stamped with the current time.
func (p *publisher) publish(n int) error {
	b := append(p.buf[:0], `{"n":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"t":`...)
	b = strconv.AppendFloat(b, nowMs(), 'f', 3, 64)
	b = append(b, `,"pad":"`...)
	b = append(b, p.pad...)
	b = append(b, `"}`...)
	p.buf = b
	if err := p.s.Publish([]int{benchUser}, benchModule, benchCommand, b); err != nil {
		return fmt.Errorf("failed to publish event %d: %w", n, err)
	}
	return nil
}

// burst publishes events 0…n-1 as fast as the stand-in sends them: no more than window messages are
// ever published and not yet written to the socket, which keeps the stand-in's per-connection queue
// (10,000 frames) from overflowing and dropping a slow client.
func (p *publisher) burst(ctx context.Context, n, window int) error {
	base := p.s.Stats().Delivered
	for i := 0; i < n; i++ {
		if i%32 == 0 {
			for i-int(p.s.Stats().Delivered-base) >= window {
				if err := pause(ctx, pollEvery); err != nil {
					return fmt.Errorf("failed to publish the burst: %w", err)
				}
			}
		}
		if err := p.publish(i); err != nil {
			return err
		}
	}
	return nil
}

// steady publishes events 0…n-1 at rate per second, each stamped when it is published.
func (p *publisher) steady(ctx context.Context, n, rate int) error {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; i < n; i++ {
		if err := p.publish(i); err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("failed to publish the steady stream: %w", ctx.Err())
		}
	}
	return nil
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitConnections waits until exactly want websockets are open on s (a client counts once the push
// server subscribed it, so events published after that reach it).
func waitConnections(ctx context.Context, s *standin.Server, want int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got := s.Stats().ConnectionsOpen
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("failed to see %d open connections within %s: %d open", want, timeout, got)
		}
		if err := pause(ctx, time.Millisecond); err != nil {
			return err
		}
	}
}
