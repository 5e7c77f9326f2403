package protocol

import "encoding/json"

// Revision is the client protocol revision sent as revision=19 in every connection URL; it must equal
// the portal's PULL_REVISION_WEB.
const Revision = 19

// Sender types carried by protobuf and JSON-RPC deliveries (extra.sender.type).
const (
	SenderUnknown = 0
	SenderClient  = 1
	SenderBackend = 2
)

// Message is one delivered pull message, normalised from any wire format.
//
// Params and Extra always hold the text of a JSON object: a missing value, JSON null and an empty PHP
// array ([]) all become {}. ModuleID is kept as sent; dispatch lower-cases it.
type Message struct {
	// MID is the resume id (26 decimal digits from Push server 1.0/2.0, opaque in JSON-RPC);
	// empty when the wire carried none.
	MID string
	// Tag and Time are the nginx (server versions 1–2) resume values; empty otherwise.
	Tag  string
	Time string

	ModuleID string
	Command  string
	Params   json.RawMessage
	Extra    json.RawMessage

	// Sender is who published the message (protobuf and JSON-RPC only); nil for legacy text.
	Sender *Sender
}

// Sender tells who published a message: Type is SenderUnknown, SenderClient or SenderBackend, ID the
// sender's public channel id in lowercase hex (empty when the server sent none).
type Sender struct {
	Type int
	ID   string
}

// Batch is what one frame (or one long-polling body) decodes to.
type Batch struct {
	Messages []Message
	// Garbage counts the pieces that were skipped because they could not be read: an unparsable
	// legacy envelope, an undecodable protobuf message or frame, a JSON-RPC packet of no known shape.
	Garbage int
	// StatsAnswers are the channelStats responses of a protobuf frame, in order: the push server's
	// answers to a client's channelStats requests, which tell the client that its earlier frames
	// arrived and which of the channels named are read by anyone now. An answer that does not decode
	// is an empty one.
	StatsAnswers [][]ChannelStats
}

// newSender stores s in the chunk *senders and returns its address: one allocation per chunk rather
// than per message. A full chunk is left to the messages pointing into it and a new one started.
func newSender(senders *[]Sender, s Sender) *Sender {
	if len(*senders) == cap(*senders) {
		*senders = make([]Sender, 0, max(8, 2*cap(*senders)))
	}
	*senders = append(*senders, s)
	return &(*senders)[len(*senders)-1]
}
