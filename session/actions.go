package session

import "github.com/b24pull/b24pull/protocol"

// Action is something the machine asks its driver to do. The driver carries actions out in order.
type Action interface{ action() }

// LoadConfig asks for one pull.application.config.get call with CACHE=N; the driver answers with
// ConfigLoaded or ConfigFailed.
type LoadConfig struct{}

// Connect asks for a new connection. For websocket the driver dials URL and reports Opened, Frame and
// Closed for Gen. For long polling it issues one GET of URL and reports the answer with PollResult;
// the machine then asks for the next GET with Poll.
type Connect struct {
	Gen       int
	Transport protocol.Transport
	Wire      protocol.Wire
	URL       string
}

// Poll asks for the next long-polling GET of connection Gen.
type Poll struct {
	Gen int
	URL string
}

// Disconnect asks to close connection Gen with Code (1000 or 3000–4999, as browsers allow). Events
// the driver reports afterwards for Gen are ignored.
type Disconnect struct {
	Gen    int
	Code   int
	Reason string
}

// Send asks to write one frame on connection Gen.
type Send struct {
	Gen    int
	Data   []byte
	Binary bool
}

// Answers hands the driver the answers to its own requests that one frame of connection Gen carried:
// JSON-RPC responses (docs/protocol.md §6.4), or in protobuf mode the channelStats answers, in order
// (§17). The machine makes no requests of its own.
type Answers struct {
	Gen       int
	Responses []protocol.RPCResponse
	Stats     [][]protocol.ChannelStats
}

// Deliver hands a JSON array of events to the subscribers (one per input, so one per frame).
type Deliver struct {
	Events []byte
}

// StartDone settles a pending Start: Err is nil once online.
type StartDone struct {
	Err error
}

// Log is a debug line. It carries no secret: URLs are redacted and ids are never included.
type Log struct {
	Text string
}

func (LoadConfig) action() {}
func (Connect) action()    {}
func (Poll) action()       {}
func (Disconnect) action() {}
func (Send) action()       {}
func (Answers) action()    {}
func (Deliver) action()    {}
func (StartDone) action()  {}
func (Log) action()        {}
