package standin

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// wireMode is the framing of one subscription.
type wireMode int

const (
	// wireText is the legacy #!NGINXNMS!# framing (version 3; version 4 without binaryMode).
	wireText wireMode = iota
	// wireBinary is protobuf ResponseBatch framing (version 4 with binaryMode=true).
	wireBinary
	// wireRPC is JSON-RPC 2.0 (version 5, jsonRpc=true).
	wireRPC
)

func (m wireMode) String() string {
	switch m {
	case wireBinary:
		return "protobuf"
	case wireRPC:
		return "json-rpc"
	default:
		return "text"
	}
}

// contentType is the long-polling Content-Type of a mode.
func (m wireMode) contentType() string {
	if m == wireBinary {
		return "application/octet-stream"
	}
	return "text/plain"
}

// framer builds the frames of one server generation.
type framer struct {
	version int
}

// frame encodes msgs as one frame (or long-polling body) sent at time now.
//
// Text: the envelopes back to back; version 4 writes channel "-" and the send time as tag and time,
// version 3 the first channel of the publish and the creation time (Push server 1.0). Protobuf: one
// ResponseBatch; live messages get one Response each, a replay one Response holding them all, as Push
// server 2.0 writes them. JSON-RPC: one incoming.message request, or a JSON array of them.
func (f framer) frame(mode wireMode, msgs []*message, replay bool, now time.Time) []byte {
	switch mode {
	case wireBinary:
		batch := &protocol.ResponseBatch{}
		if replay {
			out := make([]protocol.OutgoingMessage, 0, len(msgs))
			for _, m := range msgs {
				out = append(out, outgoing(m))
			}
			batch.Responses = []protocol.Response{{OutgoingMessages: out, HasOutgoing: true}}
		} else {
			for _, m := range msgs {
				batch.Responses = append(batch.Responses, protocol.Response{
					OutgoingMessages: []protocol.OutgoingMessage{outgoing(m)}, HasOutgoing: true,
				})
			}
		}
		return batch.Marshal()
	case wireRPC:
		if len(msgs) == 1 {
			return rpcDelivery(msgs[0])
		}
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i, m := range msgs {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(rpcDelivery(m))
		}
		buf.WriteByte(']')
		return buf.Bytes()
	default:
		var buf bytes.Buffer
		for _, m := range msgs {
			buf.Write(f.textEnvelope(m, now))
		}
		return buf.Bytes()
	}
}

// textEnvelope writes one legacy envelope.
func (f framer) textEnvelope(m *message, now time.Time) []byte {
	env := protocol.TextEnvelope{ID: int64(m.seq), MID: m.mid, Channel: "-", Text: m.body}
	stamp := now
	if f.version <= 3 {
		env.Channel = m.channel
		stamp = m.created
	}
	env.Tag = fmt.Sprintf("%03d", stamp.UnixMilli()%1000)
	env.Time = stamp.UTC().Format(http.TimeFormat)
	return protocol.EncodeText(env)
}

func outgoing(m *message) protocol.OutgoingMessage {
	sender := m.sender
	return protocol.OutgoingMessage{
		ID:      m.midBytes(),
		Body:    m.body,
		Expiry:  m.expiry,
		Created: uint32(m.created.Unix()),
		Sender:  &sender,
	}
}

// rpcDelivery writes one incoming.message request. A body that is not JSON (a raw text publish) is
// sent as a JSON string so the frame stays valid.
func rpcDelivery(m *message) []byte {
	body := json.RawMessage(m.body)
	if !json.Valid(body) {
		body = marshalJSON(string(m.body))
	}
	sender := protocol.Sender{Type: int(m.sender.Type)}
	if len(m.sender.ID) > 0 {
		sender.ID = hex.EncodeToString(m.sender.ID)
	}
	return protocol.EncodeIncomingMessage(m.mid, body, sender, m.userParams, m.dictionary)
}

// garbageFrame is a frame a client cannot read, in the framing of mode.
func garbageFrame(mode wireMode) []byte {
	switch mode {
	case wireBinary:
		// A ResponseBatch whose first field claims 5 bytes and carries 1.
		return []byte{0x0a, 0x05, 0x01}
	case wireRPC:
		return []byte(`{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":`)
	default:
		return []byte(protocol.TextStart + `{"id":1,"mid":` + protocol.TextEnd)
	}
}

// paddedMessage builds a message whose frame in mode is n bytes long when n is large enough to hold
// one; the body is {"module_id":"standin","command":"oversized","params":{"pad":"xxx…"}}. Otherwise
// it returns nil and the caller sends n filler bytes.
func (f framer) paddedFrame(mode wireMode, m *message, n int, now time.Time) []byte {
	build := func(pad int) []byte {
		m.body = []byte(`{"module_id":"standin","command":"oversized","params":{"pad":"` +
			string(bytes.Repeat([]byte{'x'}, pad)) + `"}}`)
		return f.frame(mode, []*message{m}, false, now)
	}
	base := len(build(0))
	if n < base {
		return nil
	}
	pad := n - base
	for i := 0; i < 4; i++ { // protobuf length prefixes may grow by a byte or two
		got := len(build(pad))
		if got == n {
			return build(pad)
		}
		pad -= got - n
		if pad < 0 {
			return nil
		}
	}
	return nil
}
