package bridge

import (
	"testing"
	"time"

	"github.com/b24pull/b24pull/session"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApplyTiming(t *testing.T) {
	tm := session.DefaultTiming()
	require.NoError(t, applyTiming(&tm, []byte(`{"backoff":[50,100,200,400,800],"restartDelay":[100,300],"renewRetry":[100],
		"offlineDebounce":0,"startTimeout":5000,"pingTimeout":1500.5}`)))
	assert.Equal(t, [5]time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}, tm.Backoff)
	assert.Equal(t, [2]time.Duration{100 * time.Millisecond, 300 * time.Millisecond}, tm.RestartDelay)
	assert.Equal(t, []time.Duration{100 * time.Millisecond}, tm.RenewRetry)
	assert.Equal(t, time.Duration(0), tm.OfflineDebounce)
	assert.Equal(t, 5*time.Second, tm.StartTimeout)
	assert.Equal(t, 1500500*time.Microsecond, tm.PingTimeout)
	assert.Equal(t, session.DefaultTiming().WrongChannelDelay, tm.WrongChannelDelay, "absent keys keep their value")

	for _, bad := range []struct{ in, want string }{
		{`[]`, "not an object"},
		{`{`, "not valid JSON"},
		{`{"bogus":1}`, `unknown key "bogus"`},
		{`{"backoff":[1,2]}`, "backoff: want 5 values"},
		{`{"restartDelay":[300,100]}`, "maximum is below the minimum"},
		{`{"startTimeout":-1}`, "startTimeout: want milliseconds"},
		{`{"startTimeout":0}`, "startTimeout: must be positive"},
		{`{"pingTimeout":"20s"}`, "pingTimeout: want milliseconds"},
		{`{"renewRetry":[]}`, "renewRetry: want 1 to 16 values"},
		{`{"renewJitter":5}`, "renewJitter: want an array"},
	} {
		tm := session.DefaultTiming()
		err := applyTiming(&tm, []byte(bad.in))
		require.Error(t, err, bad.in)
		assert.Contains(t, err.Error(), bad.want)
	}
}
