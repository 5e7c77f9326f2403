package protocol

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The protobuf messages of Push server 2.0 (docs/protocol.md §6.3) and their codec, on protowire alone:
// generated code or the protobuf runtime would weigh on the wasm binary.
//
// Each message type describes its fields once, in a fields method calling one helper per field
// (bytesField, intField, boolField, optional, repeated, oneof) with the field number, a pointer to the
// value and whether a default value is written (as by the real server or the reference clients, so that
// recorded frames re-encode byte for byte). A coder runs that description to decode, size or encode.
//
// Decoding skips unknown fields of every wire type, keeps the last value of a scalar that appears twice,
// merges a singular message that appears twice, and returns an error (never panics) on truncation, a
// known field of the wrong wire type, or a length past the end. Decoded []byte fields share the input.

// Field numbers of docs/protocol.md §6.3 by message (ChannelId uses Receiver's): batchItems holds the
// requests or responses of a batch, listItem the items of a wrapper list, command* the oneof members.
const (
	batchItems, listItem                                                          protowire.Number = 1, 1
	commandMessages, commandChannelStats, commandServerStats                      protowire.Number = 1, 2, 3
	incomingReceivers, incomingSender, incomingBody, incomingExpiry, incomingType protowire.Number = 1, 2, 3, 4, 5
	outgoingID, outgoingBody, outgoingExpiry, outgoingCreated, outgoingSender     protowire.Number = 1, 2, 3, 4, 5
	senderType, senderID                                                          protowire.Number = 1, 2
	receiverID, receiverIsPrivate, receiverSignature                              protowire.Number = 1, 2, 3
	statsID, statsIsPrivate, statsIsOnline                                        protowire.Number = 1, 2, 3
	jsonResponseJSON                                                              protowire.Number = 1
)

// ResponseBatch is what the push server sends to a client in binary mode.
type ResponseBatch struct{ Responses []Response }

func (b *ResponseBatch) fields(c *coder) { repeated(c, batchItems, &b.Responses) }

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

func (r *Response) fields(c *coder) {
	oneof(c, func() { *r = Response{} },
		choice{commandMessages, &r.HasOutgoing, listOf(&r.OutgoingMessages)},
		choice{commandChannelStats, &r.HasChannelStats, listOf(&r.ChannelStats)},
		choice{commandServerStats, &r.HasServerStats, (*jsonResponse)(&r.ServerStatsJSON)})
}

// jsonResponse is the JsonResponse of a serverStats response; its json is always written.
type jsonResponse string

func (j *jsonResponse) fields(c *coder) { bytesField(c, jsonResponseJSON, j, always) }

// OutgoingMessage is one delivered message: ID is the 13-byte message id (docs/protocol.md §8.1), Body
// the message JSON, Expiry its storage lifetime in seconds (0 = not stored), Created its unix creation
// time. As by the real server, all fields are written always but Sender, which is written when set.
type OutgoingMessage struct {
	ID      []byte
	Body    []byte
	Expiry  uint32
	Created uint32
	Sender  *PBSender
}

func (m *OutgoingMessage) fields(c *coder) {
	bytesField(c, outgoingID, &m.ID, always)
	bytesField(c, outgoingBody, &m.Body, always)
	intField(c, outgoingExpiry, protowire.VarintType, &m.Expiry, always)
	intField(c, outgoingCreated, protowire.Fixed32Type, &m.Created, always)
	optional(c, outgoingSender, &m.Sender)
}

// PBSender is the protobuf Sender: Type is SenderUnknown, SenderClient or SenderBackend, always written
// (a zero type as 08 00); ID, the raw public id of a publishing client (none for the backend), when set.
type PBSender struct {
	Type int32
	ID   []byte
}

func (s *PBSender) fields(c *coder) {
	intField(c, senderType, protowire.VarintType, &s.Type, always)
	bytesField(c, senderID, &s.ID, ifSet)
}

// ChannelStats is one channel's online state in a channelStats response; all fields are always written.
type ChannelStats struct {
	ID        []byte
	IsPrivate bool
	IsOnline  bool
}

func (s *ChannelStats) fields(c *coder) {
	bytesField(c, statsID, &s.ID, always)
	c.boolField(statsIsPrivate, &s.IsPrivate, always)
	c.boolField(statsIsOnline, &s.IsOnline, always)
}

// RequestBatch is what the backend or a client (docs/protocol.md §17) publishes to the push server.
type RequestBatch struct{ Requests []Request }

func (b *RequestBatch) fields(c *coder) { repeated(c, batchItems, &b.Requests) }

// Request is one request of a batch; exactly one of its oneof members is set, as flagged by
// HasIncoming, HasChannelStats or ServerStats (the last member read wins when a frame carries more).
type Request struct {
	IncomingMessages []IncomingMessage
	HasIncoming      bool
	ChannelStats     []ChannelID
	HasChannelStats  bool
	ServerStats      bool
}

func (r *Request) fields(c *coder) {
	oneof(c, func() { *r = Request{} },
		choice{commandMessages, &r.HasIncoming, listOf(&r.IncomingMessages)},
		choice{commandChannelStats, &r.HasChannelStats, listOf(&r.ChannelStats)},
		choice{commandServerStats, &r.ServerStats, noFields{}})
}

// IncomingMessage is one message to publish: Body is the message JSON, Expiry its storage lifetime in
// seconds (both always written: a client writes expiry 0 as 20 00), Type a statistics label written
// when non-empty; Sender is written when set.
type IncomingMessage struct {
	Receivers []Receiver
	Sender    *PBSender
	Body      []byte
	Expiry    uint32
	Type      string
}

func (m *IncomingMessage) fields(c *coder) {
	repeated(c, incomingReceivers, &m.Receivers)
	optional(c, incomingSender, &m.Sender)
	bytesField(c, incomingBody, &m.Body, always)
	intField(c, incomingExpiry, protowire.VarintType, &m.Expiry, always)
	bytesField(c, incomingType, &m.Type, ifSet)
}

// Receiver names one channel to deliver to: ID, the raw 16-byte channel id, is always written; the
// backend adds IsPrivate: true, a client Signature, the raw HMAC of a public id (each written when set).
type Receiver struct {
	ID        []byte
	IsPrivate bool
	Signature []byte
}

func (r *Receiver) fields(c *coder) {
	bytesField(c, receiverID, &r.ID, always)
	c.boolField(receiverIsPrivate, &r.IsPrivate, ifSet)
	bytesField(c, receiverSignature, &r.Signature, ifSet)
}

// ChannelID names one channel in a channelStats request; it has the same fields as Receiver.
type ChannelID = Receiver

// UnmarshalResponseBatch decodes a binary frame sent by the push server.
func UnmarshalResponseBatch(data []byte) (*ResponseBatch, error) {
	return unmarshalMessage[ResponseBatch](data, "ResponseBatch")
}

// Marshal encodes the batch as the real Push server 2.0 does.
func (b *ResponseBatch) Marshal() []byte { return marshalMessage(b) }

// UnmarshalRequestBatch decodes the backend's binary publish or a client's (docs/protocol.md §17).
func UnmarshalRequestBatch(data []byte) (*RequestBatch, error) {
	return unmarshalMessage[RequestBatch](data, "RequestBatch")
}

// Marshal encodes the batch as the backend and the reference clients do.
func (b *RequestBatch) Marshal() []byte { return marshalMessage(b) }

// EncodePublish wraps messages as RequestBatch{requests: [{incomingMessages: {messages}}]}: the frame a
// client publishes and the body the backend posts in binary mode (docs/protocol.md §17, §21.2).
func EncodePublish(msgs []IncomingMessage) []byte {
	return (&RequestBatch{Requests: []Request{{IncomingMessages: msgs, HasIncoming: true}}}).Marshal()
}

// DecodeProtobuf decodes one binary frame (or long-polling body) from the push server into a Batch.
//
// A channelStats response goes to StatsAnswers; other responses than outgoingMessages are ignored. Each message becomes a Message with MID = lowercase
// hex of its id and the body fields of docs/protocol.md §7; Sender is always set (a message without
// sender gets {Type: SenderUnknown}), Sender.ID being the hex of the sender id when present. A message
// that does not decode, or whose body is not a valid message object, is skipped and counted in Garbage
// while the rest of the frame is delivered. A structural error in the frame itself counts once in
// Garbage and keeps the messages decoded before it (a frame that does not decode gives Garbage 1).
//
// Params and Extra of the result share one private copy of the frame; treat them as read-only.
func DecodeProtobuf(frame []byte) Batch {
	var out Batch
	if len(frame) == 0 {
		return out
	}
	a := newArena(frame)
	var senders []Sender
	// One allocation for the coder and the OutgoingMessage that each message is decoded into in turn.
	r := &struct {
		c      coder
		msg    OutgoingMessage
		sender PBSender
	}{c: coder{mode: decoding}}
	c := &r.c
	// The levels above OutgoingMessage are walked here, not by their fields methods: only outgoingMessages
	// are read, and each message is decoded on its own (a bad one is counted, not fatal).
	err := c.each(a.b, func() { // ResponseBatch
		if !c.match(batchItems, protowire.BytesType) {
			return
		}
		// Of the oneof, the member read last counts: outgoingMessages followed by another are taken back.
		start, startGarbage := len(out.Messages), out.Garbage
		var stats []ChannelStats
		isStats := false
		c.err = c.each(c.f.data, func() { // Response
			if c.match(commandChannelStats, protowire.BytesType) || c.match(commandServerStats, protowire.BytesType) {
				out.Messages, out.Garbage = out.Messages[:start], startGarbage
				isStats, stats = c.match(commandChannelStats, protowire.BytesType), nil
				if isStats {
					sub := coder{mode: decoding}
					if sub.decode(c.f.data, listOf(&stats)) != nil {
						stats = nil
					}
				}
			}
			if !c.match(commandMessages, protowire.BytesType) {
				return
			}
			isStats = false
			c.err = c.each(c.f.data, func() { // OutgoingMessagesResponse
				if !c.match(listItem, protowire.BytesType) {
					return
				}
				// A message without sender decodes exactly as one with sender {type: 0}.
				r.sender, r.msg = PBSender{}, OutgoingMessage{Sender: &r.sender}
				var m Message
				if c.decode(c.f.data, &r.msg) != nil || !readBody(&a, a.str(r.msg.Body), &m) {
					out.Garbage++
					return
				}
				m.MID = hex.EncodeToString(r.msg.ID)
				s := Sender{Type: int(r.sender.Type), ID: hex.EncodeToString(r.sender.ID)}
				m.Sender = newSender(&senders, s)
				out.Messages = append(out.Messages, m)
			})
		})
		if isStats {
			if stats == nil {
				stats = []ChannelStats{}
			}
			out.StatsAnswers = append(out.StatsAnswers, stats)
		}
	})
	if err != nil {
		out.Garbage++
	}
	return out
}

// message is a protobuf message type: fields describes its fields to c.
type message interface{ fields(c *coder) }

// msgPtr is the pointer type P of a message type T, so that generic helpers can make new elements.
type msgPtr[T any] interface {
	*T
	message
}

type codecMode uint8 // what a coder does with a field description

const decoding, sizing, appending codecMode = 0, 1, 2

type emit bool // whether an encoder writes a field that holds its default value (zero, false, empty)

const always, ifSet emit = true, false

// errWireType reports a known field carried with a wire type that does not fit it.
var errWireType = errors.New("unexpected wire type")

// pbField is one field read: data is a length-delimited payload, scalar a varint or fixed32 value.
type pbField struct {
	num    protowire.Number
	typ    protowire.Type
	data   []byte
	scalar uint64
}

// coder runs field descriptions; one coder serves a whole message tree.
type coder struct {
	mode codecMode
	f    pbField // decoding: the field just read
	err  error   // decoding: set by a helper that cannot use f; each returns it
	n    int     // sizing: the bytes counted so far
	b    []byte  // appending: the output
}

// nextField decodes the field at the start of b and returns it with the number of bytes it took.
func nextField(b []byte) (pbField, int, error) {
	num, typ, n := protowire.ConsumeField(b) // checks the whole field, groups included
	if n < 0 {
		return pbField{}, 0, protowire.ParseError(n)
	}
	f := pbField{num: num, typ: typ}
	_, _, tagLen := protowire.ConsumeTag(b)
	switch typ {
	case protowire.VarintType:
		f.scalar, _ = protowire.ConsumeVarint(b[tagLen:])
	case protowire.Fixed32Type:
		v, _ := protowire.ConsumeFixed32(b[tagLen:])
		f.scalar = uint64(v)
	case protowire.BytesType:
		f.data, _ = protowire.ConsumeBytes(b[tagLen:])
	}
	return f, n, nil
}

// each reads the fields of the message data into c.f one by one and calls fn for each, stopping at the
// first error of the input or of fn (c.err, cleared). It restores c.f for the enclosing description.
func (c *coder) each(data []byte, fn func()) (err error) {
	outer := c.f
	for n := 0; len(data) > 0 && err == nil; data = data[n:] {
		if c.f, n, err = nextField(data); err == nil {
			fn()
			err, c.err = c.err, nil
		}
	}
	c.f = outer
	return err
}

// decode reads the message data into m, merging into what m already holds.
func (c *coder) decode(data []byte, m message) error {
	return c.each(data, func() { m.fields(c) })
}

// match reports whether c is decoding and the field just read is number num; a field of that number
// with another wire type sets c.err instead.
func (c *coder) match(num protowire.Number, typ protowire.Type) bool {
	ours := c.mode == decoding && c.f.num == num
	if ours && c.f.typ != typ {
		c.err = fmt.Errorf("field %d: %w %d", num, errWireType, c.f.typ)
	}
	return ours && c.f.typ == typ
}

// unmarshalMessage decodes data as a message of type T; name (the protobuf name) goes into the error.
func unmarshalMessage[T any, P msgPtr[T]](data []byte, name string) (*T, error) {
	v := new(T)
	if err := (&coder{mode: decoding}).decode(data, P(v)); err != nil {
		return nil, fmt.Errorf("failed to decode %s: %w", name, err)
	}
	return v, nil
}

// marshalMessage encodes m into a buffer of exactly its size.
func marshalMessage(m message) []byte {
	c := &coder{mode: appending}
	c.b = make([]byte, 0, c.size(m))
	m.fields(c)
	return c.b
}

// size returns the encoded length of m, leaving the state of c as it was.
func (c *coder) size(m message) (size int) {
	mode, n := c.mode, c.n
	c.mode, c.n = sizing, 0
	m.fields(c)
	size, c.mode, c.n = c.n, mode, n
	return size
}

// tag is the tag of field n of wire type t. Encoders append varints with binary.AppendUvarint: the bytes
// of protowire.AppendVarint (and AppendTag), without its unrolled code (5 KB of wasm).
func tag(n protowire.Number, t protowire.Type) uint64 { return uint64(protowire.EncodeTag(n, t)) }

// scalar handles a varint or fixed32 field holding v. When decoding this field it returns the value
// read and true; otherwise it counts or writes v (unless v is zero and e is ifSet) and returns false.
func (c *coder) scalar(num protowire.Number, typ protowire.Type, v uint64, e emit) (uint64, bool) {
	switch {
	case c.mode == decoding:
		return c.f.scalar, c.match(num, typ)
	case v == 0 && e == ifSet:
	case c.mode == sizing && typ == protowire.Fixed32Type:
		c.n += protowire.SizeTag(num) + protowire.SizeFixed32()
	case c.mode == sizing:
		c.n += protowire.SizeTag(num) + protowire.SizeVarint(v)
	case typ == protowire.Fixed32Type:
		c.b = protowire.AppendFixed32(binary.AppendUvarint(c.b, tag(num, typ)), uint32(v))
	default:
		c.b = binary.AppendUvarint(binary.AppendUvarint(c.b, tag(num, typ)), v)
	}
	return 0, false
}

// intField describes a uint32, int32 or enum field of wire type typ (varint or fixed32); an int32 is
// sign-extended to 64 bits, as protobuf requires, and a value read is truncated to 32 bits.
func intField[T ~uint32 | ~int32](c *coder, num protowire.Number, typ protowire.Type, v *T, e emit) {
	if u, ok := c.scalar(num, typ, uint64(int64(*v)), e); ok {
		*v = T(u)
	}
}

// boolField describes a bool field: any non-zero varint reads as true, true is written as 1.
func (c *coder) boolField(num protowire.Number, v *bool, e emit) {
	var u uint64
	if *v {
		u = 1
	}
	if u, ok := c.scalar(num, protowire.VarintType, u, e); ok {
		*v = u != 0
	}
}

// bytesField describes a bytes or string field.
func bytesField[T ~[]byte | ~string](c *coder, num protowire.Number, v *T, e emit) {
	switch {
	case c.mode == decoding:
		if c.match(num, protowire.BytesType) {
			*v = T(c.f.data)
		}
	case len(*v) == 0 && e == ifSet:
	case c.mode == sizing:
		c.n += protowire.SizeTag(num) + protowire.SizeBytes(len(*v))
	default:
		c.b = binary.AppendUvarint(binary.AppendUvarint(c.b, tag(num, protowire.BytesType)), uint64(len(*v)))
		c.b = append(c.b, *v...)
	}
}

// message describes a field holding the message m, always written (an empty m as its tag and a zero
// length). Decoding merges the field into m.
func (c *coder) message(num protowire.Number, m message) {
	switch c.mode {
	case decoding:
		if c.match(num, protowire.BytesType) {
			c.err = c.decode(c.f.data, m)
		}
	case sizing:
		start := c.n
		m.fields(c)
		c.n += protowire.SizeTag(num) + protowire.SizeVarint(uint64(c.n-start))
	default:
		c.b = binary.AppendUvarint(binary.AppendUvarint(c.b, tag(num, protowire.BytesType)), uint64(c.size(m)))
		m.fields(c)
	}
}

// optional describes a singular message field held by pointer, written when set. Decoding allocates
// *v at the first occurrence and merges later ones into it.
func optional[T any, P msgPtr[T]](c *coder, num protowire.Number, v **T) {
	if *v == nil && c.mode == decoding && c.f.num == num {
		*v = new(T)
	}
	if *v != nil {
		c.message(num, P(*v))
	}
}

// repeated describes a repeated message field: decoding appends one element per occurrence, encoding
// writes every element.
func repeated[T any, P msgPtr[T]](c *coder, num protowire.Number, list *[]T) {
	if c.mode != decoding {
		for i := range *list {
			c.message(num, P(&(*list)[i]))
		}
	} else if c.f.num == num {
		*list = append(*list, *new(T))
		c.message(num, P(&(*list)[len(*list)-1]))
	}
}

// list is the message the protocol wraps around a repeated field (IncomingMessagesRequest,
// OutgoingMessagesResponse, ChannelStatsRequest, ChannelStatsResponse): its only field is listItem.
type list[T any, P msgPtr[T]] []T

func (l *list[T, P]) fields(c *coder) { repeated[T, P](c, listItem, (*[]T)(l)) }

// listOf views a slice as its wrapper message.
func listOf[T any, P msgPtr[T]](l *[]T) message { return (*list[T, P])(l) }

// noFields is a message without fields (ServerStatsRequest); decoding still checks it is well-formed.
type noFields struct{}

func (noFields) fields(*coder) {}

// choice is one member of a oneof: its field number, the flag that says it is set, and its message.
type choice struct {
	num  protowire.Number
	set  *bool
	body message
}

// oneof describes the members of a oneof. Decoding a member other than the one set first resets the
// whole message, so the member read last wins; encoding writes only the first member set.
func oneof(c *coder, reset func(), members ...choice) {
	for _, m := range members {
		if c.mode == decoding && c.f.num == m.num && !*m.set {
			reset()
			*m.set = true
		}
		if *m.set && (c.mode != decoding || c.f.num == m.num) {
			c.message(m.num, m.body)
			return
		}
	}
}
