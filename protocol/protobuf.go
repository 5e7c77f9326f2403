package protocol

import (
	"encoding/hex"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The protobuf messages of Push server 2.0 (§6.3), written and read with protowire only: no generated
// code and no reflection, so the wasm binary stays small.
//
// Decoders accept default values present or absent, skip unknown fields of every wire type, keep the
// last value of a scalar that appears twice, merge a singular message field that appears twice, and
// return an error (never panic) on truncation, a known field of the wrong wire type, or a length that
// runs past the end. Decoded []byte fields share memory with the input.
//
// Encoders write fields in field-number order and reproduce the bytes of the real server and of the
// reference clients: see each Marshal method for which default values are written.

// ResponseBatch is what the push server sends to a client in binary mode.
type ResponseBatch struct {
	Responses []Response
}

// Response is one response of a batch; exactly one of its oneof members is set, as flagged by
// HasOutgoing, HasChannelStats or HasServerStats (the last member read wins when a frame carries more).
type Response struct {
	OutgoingMessages []OutgoingMessage
	HasOutgoing      bool
	ChannelStats     []ChannelStats
	HasChannelStats  bool
	ServerStatsJSON  string
	HasServerStats   bool
}

// OutgoingMessage is one delivered message: ID is the 13-byte message id (§8.1), Body the message JSON,
// Expiry its storage lifetime in seconds (0 = not stored), Created its unix creation time.
type OutgoingMessage struct {
	ID      []byte
	Body    []byte
	Expiry  uint32
	Created uint32
	Sender  *PBSender
}

// PBSender is the protobuf Sender: Type is SenderUnknown, SenderClient or SenderBackend, ID the raw
// public channel id of a publishing client (empty for the backend).
type PBSender struct {
	Type int32
	ID   []byte
}

// ChannelStats is one channel's online state in a channelStats response.
type ChannelStats struct {
	ID        []byte
	IsPrivate bool
	IsOnline  bool
}

// RequestBatch is what a publisher (the backend or a client, §17) sends to the push server.
type RequestBatch struct {
	Requests []Request
}

// Request is one request of a batch; exactly one of its oneof members is set, as flagged by
// HasIncoming, HasChannelStats or ServerStats (the last member read wins when a frame carries more).
type Request struct {
	IncomingMessages []IncomingMessage
	HasIncoming      bool
	ChannelStats     []ChannelID
	HasChannelStats  bool
	ServerStats      bool
}

// IncomingMessage is one message to publish: Body is the message JSON, Expiry its storage lifetime in
// seconds, Type a statistics label.
type IncomingMessage struct {
	Receivers []Receiver
	Sender    *PBSender
	Body      []byte
	Expiry    uint32
	Type      string
}

// Receiver names one channel to deliver to: ID is the raw 16-byte channel id, Signature the raw HMAC of
// a public id (client publishing) or empty (backend publishing to private ids).
type Receiver struct {
	ID        []byte
	IsPrivate bool
	Signature []byte
}

// ChannelID names one channel in a channelStats request; it has the same fields as Receiver.
type ChannelID = Receiver

// errWireType reports a known field carried with a wire type that does not fit it.
var errWireType = errors.New("unexpected wire type")

// Field numbers of §6.3.
const (
	fieldFirst  protowire.Number = 1
	fieldSecond protowire.Number = 2
	fieldThird  protowire.Number = 3
	fieldFourth protowire.Number = 4
	fieldFifth  protowire.Number = 5
)

// pbField is one decoded field: data holds the payload of a length-delimited field, scalar the value of
// a varint or fixed field.
type pbField struct {
	num    protowire.Number
	typ    protowire.Type
	data   []byte
	scalar uint64
}

// nextField decodes the field at the start of b and returns it with the number of bytes it took.
func nextField(b []byte) (pbField, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return pbField{}, 0, protowire.ParseError(n)
	}
	f := pbField{num: num, typ: typ}
	var m int
	switch typ {
	case protowire.VarintType:
		f.scalar, m = protowire.ConsumeVarint(b[n:])
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(b[n:])
		f.scalar = uint64(v)
	case protowire.Fixed64Type:
		f.scalar, m = protowire.ConsumeFixed64(b[n:])
	case protowire.BytesType:
		f.data, m = protowire.ConsumeBytes(b[n:])
	default:
		m = protowire.ConsumeFieldValue(num, typ, b[n:])
	}
	if m < 0 {
		return pbField{}, 0, protowire.ParseError(m)
	}
	return f, n + m, nil
}

// walk calls fn for every field of the message b, stopping at the first error.
func walk(b []byte, msg string, fn func(f pbField) error) error {
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return fmt.Errorf("failed to decode %s: %w", msg, err)
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// want checks the wire type of a known field.
func want(f pbField, msg string, typ protowire.Type) error {
	if f.typ != typ {
		return fmt.Errorf("failed to decode %s field %d: %w %d", msg, f.num, errWireType, f.typ)
	}
	return nil
}

// UnmarshalResponseBatch decodes a binary frame sent by the push server.
func UnmarshalResponseBatch(data []byte) (*ResponseBatch, error) {
	b := &ResponseBatch{}
	err := walk(data, "ResponseBatch", func(f pbField) error {
		if f.num != fieldFirst {
			return nil
		}
		if err := want(f, "ResponseBatch", protowire.BytesType); err != nil {
			return err
		}
		r, err := unmarshalResponse(f.data)
		if err != nil {
			return err
		}
		b.Responses = append(b.Responses, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

func unmarshalResponse(data []byte) (Response, error) {
	var r Response
	err := walk(data, "Response", func(f pbField) error {
		if f.num < fieldFirst || f.num > fieldThird {
			return nil
		}
		if err := want(f, "Response", protowire.BytesType); err != nil {
			return err
		}
		switch f.num {
		case fieldFirst:
			if !r.HasOutgoing {
				r = Response{HasOutgoing: true}
			}
			return walk(f.data, "OutgoingMessagesResponse", func(g pbField) error {
				if g.num != fieldFirst {
					return nil
				}
				if err := want(g, "OutgoingMessagesResponse", protowire.BytesType); err != nil {
					return err
				}
				m, err := unmarshalOutgoing(g.data)
				if err != nil {
					return err
				}
				r.OutgoingMessages = append(r.OutgoingMessages, m)
				return nil
			})
		case fieldSecond:
			if !r.HasChannelStats {
				r = Response{HasChannelStats: true}
			}
			return walk(f.data, "ChannelStatsResponse", func(g pbField) error {
				if g.num != fieldFirst {
					return nil
				}
				if err := want(g, "ChannelStatsResponse", protowire.BytesType); err != nil {
					return err
				}
				s, err := unmarshalChannelStats(g.data)
				if err != nil {
					return err
				}
				r.ChannelStats = append(r.ChannelStats, s)
				return nil
			})
		default:
			if !r.HasServerStats {
				r = Response{HasServerStats: true}
			}
			return walk(f.data, "JsonResponse", func(g pbField) error {
				if g.num != fieldFirst {
					return nil
				}
				if err := want(g, "JsonResponse", protowire.BytesType); err != nil {
					return err
				}
				r.ServerStatsJSON = string(g.data)
				return nil
			})
		}
	})
	return r, err
}

// unmarshalOutgoing decodes one OutgoingMessage for UnmarshalResponseBatch.
func unmarshalOutgoing(data []byte) (OutgoingMessage, error) {
	v, err := decodeOutgoing(data)
	if err != nil {
		return OutgoingMessage{}, err
	}
	m := OutgoingMessage{ID: v.id, Body: v.body, Expiry: v.expiry, Created: v.created}
	if v.hasSender {
		m.Sender = &PBSender{Type: v.sender.Type, ID: v.sender.ID}
	}
	return m, nil
}

// outgoingValue is an OutgoingMessage with its sender held by value, so that DecodeProtobuf does not
// allocate one per message.
type outgoingValue struct {
	id, body        []byte
	expiry, created uint32
	sender          PBSender
	hasSender       bool
}

// decodeOutgoing is a plain loop rather than walk: this is the per-message hot path of DecodeProtobuf.
func decodeOutgoing(data []byte) (outgoingValue, error) {
	var m outgoingValue
	for len(data) > 0 {
		f, n, err := nextField(data)
		if err != nil {
			return m, fmt.Errorf("failed to decode OutgoingMessage: %w", err)
		}
		data = data[n:]
		switch f.num {
		case fieldFirst, fieldSecond, fieldFifth:
			err = want(f, "OutgoingMessage", protowire.BytesType)
		case fieldThird:
			err = want(f, "OutgoingMessage", protowire.VarintType)
		case fieldFourth:
			err = want(f, "OutgoingMessage", protowire.Fixed32Type)
		}
		if err != nil {
			return m, err
		}
		switch f.num {
		case fieldFirst:
			m.id = f.data
		case fieldSecond:
			m.body = f.data
		case fieldThird:
			m.expiry = uint32(f.scalar)
		case fieldFourth:
			m.created = uint32(f.scalar)
		case fieldFifth:
			m.hasSender = true
			if err := unmarshalSender(f.data, &m.sender); err != nil {
				return m, err
			}
		}
	}
	return m, nil
}

// unmarshalSender decodes into s, so that a repeated sender field merges as protobuf requires.
func unmarshalSender(data []byte, s *PBSender) error {
	for len(data) > 0 {
		f, n, err := nextField(data)
		if err != nil {
			return fmt.Errorf("failed to decode Sender: %w", err)
		}
		data = data[n:]
		switch f.num {
		case fieldFirst:
			if err := want(f, "Sender", protowire.VarintType); err != nil {
				return err
			}
			s.Type = int32(f.scalar)
		case fieldSecond:
			if err := want(f, "Sender", protowire.BytesType); err != nil {
				return err
			}
			s.ID = f.data
		}
	}
	return nil
}

func unmarshalChannelStats(data []byte) (ChannelStats, error) {
	var s ChannelStats
	err := walk(data, "ChannelStats", func(f pbField) error {
		switch f.num {
		case fieldFirst:
			if err := want(f, "ChannelStats", protowire.BytesType); err != nil {
				return err
			}
			s.ID = f.data
		case fieldSecond, fieldThird:
			if err := want(f, "ChannelStats", protowire.VarintType); err != nil {
				return err
			}
			if f.num == fieldSecond {
				s.IsPrivate = f.scalar != 0
			} else {
				s.IsOnline = f.scalar != 0
			}
		}
		return nil
	})
	return s, err
}

// UnmarshalRequestBatch decodes a publication: the backend's binary publish or a client's §17 request.
func UnmarshalRequestBatch(data []byte) (*RequestBatch, error) {
	b := &RequestBatch{}
	err := walk(data, "RequestBatch", func(f pbField) error {
		if f.num != fieldFirst {
			return nil
		}
		if err := want(f, "RequestBatch", protowire.BytesType); err != nil {
			return err
		}
		r, err := unmarshalRequest(f.data)
		if err != nil {
			return err
		}
		b.Requests = append(b.Requests, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

func unmarshalRequest(data []byte) (Request, error) {
	var r Request
	err := walk(data, "Request", func(f pbField) error {
		if f.num < fieldFirst || f.num > fieldThird {
			return nil
		}
		if err := want(f, "Request", protowire.BytesType); err != nil {
			return err
		}
		switch f.num {
		case fieldFirst:
			if !r.HasIncoming {
				r = Request{HasIncoming: true}
			}
			return walk(f.data, "IncomingMessagesRequest", func(g pbField) error {
				if g.num != fieldFirst {
					return nil
				}
				if err := want(g, "IncomingMessagesRequest", protowire.BytesType); err != nil {
					return err
				}
				m, err := unmarshalIncoming(g.data)
				if err != nil {
					return err
				}
				r.IncomingMessages = append(r.IncomingMessages, m)
				return nil
			})
		case fieldSecond:
			if !r.HasChannelStats {
				r = Request{HasChannelStats: true}
			}
			return walk(f.data, "ChannelStatsRequest", func(g pbField) error {
				if g.num != fieldFirst {
					return nil
				}
				if err := want(g, "ChannelStatsRequest", protowire.BytesType); err != nil {
					return err
				}
				c, err := unmarshalReceiver(g.data, "ChannelId")
				if err != nil {
					return err
				}
				r.ChannelStats = append(r.ChannelStats, c)
				return nil
			})
		default:
			r = Request{ServerStats: true}
			// ServerStatsRequest has no fields; its content is only checked for well-formedness.
			return walk(f.data, "ServerStatsRequest", func(pbField) error { return nil })
		}
	})
	return r, err
}

func unmarshalIncoming(data []byte) (IncomingMessage, error) {
	var m IncomingMessage
	err := walk(data, "IncomingMessage", func(f pbField) error {
		switch f.num {
		case fieldFirst, fieldSecond, fieldThird, fieldFifth:
			if err := want(f, "IncomingMessage", protowire.BytesType); err != nil {
				return err
			}
		case fieldFourth:
			if err := want(f, "IncomingMessage", protowire.VarintType); err != nil {
				return err
			}
		}
		switch f.num {
		case fieldFirst:
			rc, err := unmarshalReceiver(f.data, "Receiver")
			if err != nil {
				return err
			}
			m.Receivers = append(m.Receivers, rc)
		case fieldSecond:
			if m.Sender == nil {
				m.Sender = &PBSender{}
			}
			return unmarshalSender(f.data, m.Sender)
		case fieldThird:
			m.Body = f.data
		case fieldFourth:
			m.Expiry = uint32(f.scalar)
		case fieldFifth:
			m.Type = string(f.data)
		}
		return nil
	})
	return m, err
}

func unmarshalReceiver(data []byte, msg string) (Receiver, error) {
	var r Receiver
	err := walk(data, msg, func(f pbField) error {
		switch f.num {
		case fieldFirst, fieldThird:
			if err := want(f, msg, protowire.BytesType); err != nil {
				return err
			}
			if f.num == fieldFirst {
				r.ID = f.data
			} else {
				r.Signature = f.data
			}
		case fieldSecond:
			if err := want(f, msg, protowire.VarintType); err != nil {
				return err
			}
			r.IsPrivate = f.scalar != 0
		}
		return nil
	})
	return r, err
}

// Sizes and appenders. Every message has a size function so that nested lengths are known before
// writing and Marshal allocates once.

func sizeBytesField(n int) int { return 1 + protowire.SizeBytes(n) }

func sizeVarintField(v uint64) int { return 1 + protowire.SizeVarint(v) }

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendMessageHeader(b []byte, num protowire.Number, size int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(size))
}

func boolValue(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// size is the encoded length of a Sender: type is always written (the real server writes {type: 2} as
// 08 02, and a zero type as 08 00), id when non-empty.
func (s *PBSender) size() int {
	n := sizeVarintField(uint64(int64(s.Type)))
	if len(s.ID) > 0 {
		n += sizeBytesField(len(s.ID))
	}
	return n
}

func (s *PBSender) appendTo(b []byte) []byte {
	b = appendVarintField(b, fieldFirst, uint64(int64(s.Type)))
	if len(s.ID) > 0 {
		b = appendBytesField(b, fieldSecond, s.ID)
	}
	return b
}

// size is the encoded length of an OutgoingMessage: id, body, expiry and created are always written, as
// the real server does; sender when set.
func (m *OutgoingMessage) size() int {
	n := sizeBytesField(len(m.ID)) + sizeBytesField(len(m.Body)) + sizeVarintField(uint64(m.Expiry)) +
		1 + protowire.SizeFixed32()
	if m.Sender != nil {
		n += sizeBytesField(m.Sender.size())
	}
	return n
}

func (m *OutgoingMessage) appendTo(b []byte) []byte {
	b = appendBytesField(b, fieldFirst, m.ID)
	b = appendBytesField(b, fieldSecond, m.Body)
	b = appendVarintField(b, fieldThird, uint64(m.Expiry))
	b = protowire.AppendTag(b, fieldFourth, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, m.Created)
	if m.Sender != nil {
		b = appendMessageHeader(b, fieldFifth, m.Sender.size())
		b = m.Sender.appendTo(b)
	}
	return b
}

// size is the encoded length of a ChannelStats: all three fields are always written.
func (s *ChannelStats) size() int {
	return sizeBytesField(len(s.ID)) + 2*sizeVarintField(0)
}

func (s *ChannelStats) appendTo(b []byte) []byte {
	b = appendBytesField(b, fieldFirst, s.ID)
	b = appendVarintField(b, fieldSecond, boolValue(s.IsPrivate))
	return appendVarintField(b, fieldThird, boolValue(s.IsOnline))
}

// inner returns the field number and payload length of the oneof member that is set (0, 0 when none).
func (r *Response) inner() (protowire.Number, int) {
	n := 0
	switch {
	case r.HasOutgoing:
		for i := range r.OutgoingMessages {
			n += sizeBytesField(r.OutgoingMessages[i].size())
		}
		return fieldFirst, n
	case r.HasChannelStats:
		for i := range r.ChannelStats {
			n += sizeBytesField(r.ChannelStats[i].size())
		}
		return fieldSecond, n
	case r.HasServerStats:
		return fieldThird, sizeBytesField(len(r.ServerStatsJSON))
	}
	return 0, 0
}

func (r *Response) size() int {
	num, n := r.inner()
	if num == 0 {
		return 0
	}
	return sizeBytesField(n)
}

func (r *Response) appendTo(b []byte) []byte {
	num, n := r.inner()
	if num == 0 {
		return b
	}
	b = appendMessageHeader(b, num, n)
	switch num {
	case fieldFirst:
		for i := range r.OutgoingMessages {
			b = appendMessageHeader(b, fieldFirst, r.OutgoingMessages[i].size())
			b = r.OutgoingMessages[i].appendTo(b)
		}
	case fieldSecond:
		for i := range r.ChannelStats {
			b = appendMessageHeader(b, fieldFirst, r.ChannelStats[i].size())
			b = r.ChannelStats[i].appendTo(b)
		}
	default:
		b = protowire.AppendTag(b, fieldFirst, protowire.BytesType)
		b = protowire.AppendString(b, r.ServerStatsJSON)
	}
	return b
}

// Marshal encodes the batch as the real Push server 2.0 does: a response with no oneof member set is
// written as an empty Response; OutgoingMessage writes id, body, expiry and created (fixed32) always
// and sender when set; Sender writes its type always and its id when non-empty; ChannelStats writes all
// three fields.
func (b *ResponseBatch) Marshal() []byte {
	n := 0
	for i := range b.Responses {
		n += sizeBytesField(b.Responses[i].size())
	}
	out := make([]byte, 0, n)
	for i := range b.Responses {
		out = appendMessageHeader(out, fieldFirst, b.Responses[i].size())
		out = b.Responses[i].appendTo(out)
	}
	return out
}

// size is the encoded length of a Receiver: id always, isPrivate when true, signature when non-empty
// (the backend writes {id, isPrivate: true}, a client {id, signature}).
func (r *Receiver) size() int {
	n := sizeBytesField(len(r.ID))
	if r.IsPrivate {
		n += sizeVarintField(1)
	}
	if len(r.Signature) > 0 {
		n += sizeBytesField(len(r.Signature))
	}
	return n
}

func (r *Receiver) appendTo(b []byte) []byte {
	b = appendBytesField(b, fieldFirst, r.ID)
	if r.IsPrivate {
		b = appendVarintField(b, fieldSecond, 1)
	}
	if len(r.Signature) > 0 {
		b = appendBytesField(b, fieldThird, r.Signature)
	}
	return b
}

// size is the encoded length of an IncomingMessage: receivers, sender when set, body and expiry always
// (a client writes expiry 0 as 20 00), type when non-empty.
func (m *IncomingMessage) size() int {
	n := 0
	for i := range m.Receivers {
		n += sizeBytesField(m.Receivers[i].size())
	}
	if m.Sender != nil {
		n += sizeBytesField(m.Sender.size())
	}
	n += sizeBytesField(len(m.Body)) + sizeVarintField(uint64(m.Expiry))
	if m.Type != "" {
		n += sizeBytesField(len(m.Type))
	}
	return n
}

func (m *IncomingMessage) appendTo(b []byte) []byte {
	for i := range m.Receivers {
		b = appendMessageHeader(b, fieldFirst, m.Receivers[i].size())
		b = m.Receivers[i].appendTo(b)
	}
	if m.Sender != nil {
		b = appendMessageHeader(b, fieldSecond, m.Sender.size())
		b = m.Sender.appendTo(b)
	}
	b = appendBytesField(b, fieldThird, m.Body)
	b = appendVarintField(b, fieldFourth, uint64(m.Expiry))
	if m.Type != "" {
		b = protowire.AppendTag(b, fieldFifth, protowire.BytesType)
		b = protowire.AppendString(b, m.Type)
	}
	return b
}

// inner returns the field number and payload length of the oneof member that is set (0, 0 when none).
func (r *Request) inner() (protowire.Number, int) {
	n := 0
	switch {
	case r.HasIncoming:
		for i := range r.IncomingMessages {
			n += sizeBytesField(r.IncomingMessages[i].size())
		}
		return fieldFirst, n
	case r.HasChannelStats:
		for i := range r.ChannelStats {
			n += sizeBytesField(r.ChannelStats[i].size())
		}
		return fieldSecond, n
	case r.ServerStats:
		return fieldThird, 0
	}
	return 0, 0
}

func (r *Request) size() int {
	num, n := r.inner()
	if num == 0 {
		return 0
	}
	return sizeBytesField(n)
}

func (r *Request) appendTo(b []byte) []byte {
	num, n := r.inner()
	if num == 0 {
		return b
	}
	b = appendMessageHeader(b, num, n)
	switch num {
	case fieldFirst:
		for i := range r.IncomingMessages {
			b = appendMessageHeader(b, fieldFirst, r.IncomingMessages[i].size())
			b = r.IncomingMessages[i].appendTo(b)
		}
	case fieldSecond:
		for i := range r.ChannelStats {
			b = appendMessageHeader(b, fieldFirst, r.ChannelStats[i].size())
			b = r.ChannelStats[i].appendTo(b)
		}
	}
	return b
}

// Marshal encodes the batch as the backend and the reference clients do: Receiver writes id always,
// isPrivate when true and signature when non-empty; IncomingMessage writes body and expiry always (a
// client writes expiry 0 as 20 00), sender when set and type when non-empty; a serverStats request is
// an empty message and a request with no oneof member set is written as an empty Request.
func (b *RequestBatch) Marshal() []byte {
	n := 0
	for i := range b.Requests {
		n += sizeBytesField(b.Requests[i].size())
	}
	out := make([]byte, 0, n)
	for i := range b.Requests {
		out = appendMessageHeader(out, fieldFirst, b.Requests[i].size())
		out = b.Requests[i].appendTo(out)
	}
	return out
}

// EncodePublish wraps messages as RequestBatch{requests: [{incomingMessages: {messages}}]}, the frame a
// client sends to publish (§17) and the body the backend posts in binary mode (§21.2).
func EncodePublish(msgs []IncomingMessage) []byte {
	b := RequestBatch{Requests: []Request{{IncomingMessages: msgs, HasIncoming: true}}}
	return b.Marshal()
}

// DecodeProtobuf decodes one binary frame (or long-polling body) from the push server into a Batch.
//
// Responses other than outgoingMessages are ignored. Each message becomes a Message with MID = lowercase
// hex of its id and the body fields of §7; Sender is always set (a message without sender gets
// {Type: SenderUnknown}) and Sender.ID is the hex of the sender id when present. A message that cannot
// be decoded, or whose body is not a valid message object, is skipped and counted in Garbage while the
// rest of the frame is still delivered. A structural error in the frame itself counts once in Garbage
// and keeps the messages decoded before it; a frame that does not decode at all gives Batch{Garbage: 1}.
//
// Params and Extra of the result share one private copy of the frame; treat them as read-only.
func DecodeProtobuf(frame []byte) Batch {
	var out Batch
	if len(frame) == 0 {
		return out
	}
	a := newArena(frame)
	var senders []Sender
	err := walk(a.b, "ResponseBatch", func(f pbField) error {
		if f.num != fieldFirst {
			return nil
		}
		if err := want(f, "ResponseBatch", protowire.BytesType); err != nil {
			return err
		}
		// The oneof is resolved per Response: only the member read last counts, so messages of an
		// outgoingMessages member followed by another member are taken back.
		start, startGarbage := len(out.Messages), out.Garbage
		return walk(f.data, "Response", func(g pbField) error {
			if g.num < fieldFirst || g.num > fieldThird {
				return nil
			}
			if err := want(g, "Response", protowire.BytesType); err != nil {
				return err
			}
			if g.num != fieldFirst {
				out.Messages, out.Garbage = out.Messages[:start], startGarbage
				return nil
			}
			return walk(g.data, "OutgoingMessagesResponse", func(h pbField) error {
				if h.num != fieldFirst {
					return nil
				}
				if err := want(h, "OutgoingMessagesResponse", protowire.BytesType); err != nil {
					return err
				}
				om, err := decodeOutgoing(h.data)
				if err != nil {
					out.Garbage++
					return nil
				}
				m, ok := outgoingMessage(&a, &om, &senders)
				if !ok {
					out.Garbage++
					return nil
				}
				out.Messages = append(out.Messages, m)
				return nil
			})
		})
	})
	if err != nil {
		out.Garbage++
	}
	return out
}

// outgoingMessage turns one decoded OutgoingMessage into a Message, its Sender taken from the chunk
// *senders.
func outgoingMessage(a *arena, om *outgoingValue, senders *[]Sender) (Message, bool) {
	var m Message
	if !readBody(a, a.str(om.body), &m) {
		return Message{}, false
	}
	m.MID = hex.EncodeToString(om.id)
	var s Sender
	if om.hasSender {
		s.Type = int(om.sender.Type)
		if len(om.sender.ID) > 0 {
			s.ID = hex.EncodeToString(om.sender.ID)
		}
	}
	m.Sender = newSender(senders, s)
	return m, true
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
