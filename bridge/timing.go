package bridge

import (
	"fmt"
	"time"

	"github.com/b24pull/b24pull/session"
	"github.com/tidwall/gjson"
)

// applyTiming overrides the delays of t from a JSON object in milliseconds, as the JavaScript option
// `timing` carries them once JSON.stringify has written it: {"backoff": [500, 5000, 25000, 45000,
// 60000], "restartDelay": [10000, 120000], "wrongChannelDelay": [6000, 35000], "renewJitter": [1000,
// 5000], "renewRetry": [5000, 15000], "channelExpireReconnect": 1000, "offlineDebounce": 5000,
// "pingTimeout": 20000, "firstPingTimeout": 40000, "restoreWebSocket": 1800000, "longPollOpen":
// 5000, "startTimeout": 60000, "safetyTick": 60000}. Absent keys keep their value; a key of the wrong
// shape, a negative value or an unknown key is an error naming it. The JSON is read here, at the
// JavaScript boundary, so that package session works on a typed Timing only.
func applyTiming(t *session.Timing, data []byte) error {
	if !gjson.ValidBytes(data) {
		return fmt.Errorf("timing: not valid JSON")
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return fmt.Errorf("timing: not an object")
	}
	single := map[string]*time.Duration{
		"channelExpireReconnect": &t.ChannelExpireReconnect, "offlineDebounce": &t.OfflineDebounce,
		"pingTimeout": &t.PingTimeout, "firstPingTimeout": &t.FirstPingTimeout,
		"restoreWebSocket": &t.RestoreWebSocket, "longPollOpen": &t.LongPollOpen,
		"startTimeout": &t.StartTimeout, "safetyTick": &t.SafetyTick, "shortLived": &t.ShortLived,
	}
	pairs := map[string]*[2]time.Duration{
		"restartDelay": &t.RestartDelay, "wrongChannelDelay": &t.WrongChannelDelay, "renewJitter": &t.RenewJitter,
	}
	var err error
	root.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		switch {
		case single[key] != nil:
			var d time.Duration
			if d, err = millis(key, v); err == nil {
				if d == 0 && key != "channelExpireReconnect" && key != "offlineDebounce" {
					err = fmt.Errorf("timing: %s: must be positive", key)
				}
				*single[key] = d
			}
		case pairs[key] != nil:
			var ds []time.Duration
			if ds, err = millisList(key, v, 2, 2); err == nil {
				if ds[1] < ds[0] {
					err = fmt.Errorf("timing: %s: the maximum is below the minimum", key)
				}
				*pairs[key] = [2]time.Duration{ds[0], ds[1]}
			}
		case key == "backoff":
			var ds []time.Duration
			if ds, err = millisList(key, v, 5, 5); err == nil {
				copy(t.Backoff[:], ds)
			}
		case key == "renewRetry":
			t.RenewRetry, err = millisList(key, v, 1, 16)
		default:
			err = fmt.Errorf("timing: unknown key %q", key)
		}
		return err == nil
	})
	return err
}

func millis(key string, v gjson.Result) (time.Duration, error) {
	if v.Type != gjson.Number || v.Float() < 0 || v.Float() > 7*24*3600*1000 {
		return 0, fmt.Errorf("timing: %s: want milliseconds between 0 and one week", key)
	}
	return time.Duration(v.Float() * float64(time.Millisecond)), nil
}

func millisList(key string, v gjson.Result, minLen, maxLen int) ([]time.Duration, error) {
	if !v.IsArray() {
		return nil, fmt.Errorf("timing: %s: want an array of milliseconds", key)
	}
	items := v.Array()
	if len(items) < minLen || len(items) > maxLen {
		if minLen == maxLen {
			return nil, fmt.Errorf("timing: %s: want %d values", key, minLen)
		}
		return nil, fmt.Errorf("timing: %s: want %d to %d values", key, minLen, maxLen)
	}
	out := make([]time.Duration, len(items))
	for i, it := range items {
		d, err := millis(key, it)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}
