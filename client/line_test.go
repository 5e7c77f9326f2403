package client

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A place whose caller gave up, or that finished before its turn, never holds the places after it.
func TestLineKeepsOrderAndSkipsGivenUpPlaces(t *testing.T) {
	var l line
	p0, p1, p2, p3 := l.take(), l.take(), l.take(), l.take()
	require.NoError(t, l.wait(context.Background(), p0))

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- l.wait(ctx, p1) }()
	third := make(chan error, 1)
	go func() { third <- l.wait(context.Background(), p2) }()
	cancel()
	assert.ErrorIs(t, <-gaveUp, context.Canceled)
	l.finish(p3) // finished early, before its turn
	select {
	case <-third:
		t.Fatal("place 2 went before place 0 finished")
	case <-time.After(20 * time.Millisecond):
	}
	l.finish(p0)
	require.NoError(t, <-third, "place 1 gave up, so place 2 goes once 0 finished")
	l.finish(p2)
	p4 := l.take()
	require.NoError(t, l.wait(context.Background(), p4), "3 had finished: 4 goes at once")
}
