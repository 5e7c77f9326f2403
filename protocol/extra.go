package protocol

import (
	"math"

	"github.com/tidwall/gjson"
)

// Extra holds the fields of a message's extra that a client acts on (docs/protocol.md §7); the rest
// of extra is handed to subscribers as it came.
type Extra struct {
	// RevisionWeb is extra.revision_web when it is a JSON number (a fraction is cut off), 0
	// otherwise. A value above 0 that differs from Revision means the portal runs another revision
	// (docs/protocol.md §16).
	RevisionWeb int64
	// ServerTimeUnix is extra.server_time_unix, the portal's clock when it published the message, in
	// unix seconds, written as a number or a numeric string; 0 when it is absent or not a positive
	// finite number.
	ServerTimeUnix float64
}

// ParseExtra reads the fields of Extra from extra, the text of a JSON object (Message.Extra). A key
// that appears twice counts with its first value.
func ParseExtra(extra []byte) Extra {
	var e Extra
	if rev := gjson.GetBytes(extra, "revision_web"); rev.Type == gjson.Number {
		e.RevisionWeb = rev.Int()
	}
	v := gjson.GetBytes(extra, "server_time_unix")
	if v.Type == gjson.Number || v.Type == gjson.String {
		if stu := v.Float(); stu > 0 && !math.IsNaN(stu) && !math.IsInf(stu, 0) {
			e.ServerTimeUnix = stu
		}
	}
	return e
}
