package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Client publishing (docs/protocol.md §17): the message a client sends, the public channels it names,
// and the two encodings, a protobuf RequestBatch (version 4) and the params of the publish call
// (JSON-RPC, version 5).

// ClientMessage is one message a client publishes.
type ClientMessage struct {
	ModuleID string
	Command  string
	// Params is a JSON object; nil (or JSON null) is sent as {}.
	Params json.RawMessage
	// Expiry is how many seconds the push server keeps the message to replay it to a receiver that
	// reconnects; 0 delivers it live only (as the reference clients do by default).
	Expiry int
}

// Check tells whether m can be published: a module id and a command, params that are a JSON object,
// a non-negative expiry.
func (m ClientMessage) Check() error {
	switch {
	case strings.TrimSpace(m.ModuleID) == "":
		return errors.New("moduleId must be a non-empty string")
	case strings.TrimSpace(m.Command) == "":
		return errors.New("command must be a non-empty string")
	case m.Expiry < 0:
		return errors.New("expiry must be 0 or more seconds")
	}
	if p := bytes.TrimSpace(m.Params); len(p) > 0 && string(p) != "null" {
		if !gjson.ValidBytes(p) || !gjson.ParseBytes(p).IsObject() {
			return errors.New("params must be an object")
		}
	}
	return nil
}

// Body returns the message body as both wire formats carry it: {"module_id":…,"command":…,"params":…}.
func (m ClientMessage) Body() []byte {
	b := make([]byte, 0, 48+len(m.ModuleID)+len(m.Command)+len(m.Params))
	b = append(b, `{"module_id":`...)
	b = AppendJSONString(b, m.ModuleID)
	b = append(b, `,"command":`...)
	b = AppendJSONString(b, m.Command)
	b = append(b, `,"params":`...)
	if p := bytes.TrimSpace(m.Params); len(p) > 0 && string(p) != "null" {
		b = append(b, p...)
	} else {
		b = append(b, "{}"...)
	}
	return append(b, '}')
}

// PublicRef names a public channel to publish to: its public id and the signature that proves the
// client was given it (hmac("public:" + id), docs/protocol.md §3.2), both as hex.
type PublicRef struct {
	PublicID  string
	Signature string
}

// String returns the "<publicId>.<signature>" form the publishing calls accept.
func (r PublicRef) String() string { return r.PublicID + "." + r.Signature }

// ParsePublicRef reads "<publicId>.<signature>": a 32-digit hex id and a hex signature. The error
// never quotes the value (a signature is a secret).
func ParsePublicRef(s string) (PublicRef, error) {
	id, sig, ok := strings.Cut(s, ".")
	if !ok {
		return PublicRef{}, errors.New(`a public channel must read "<publicId>.<signature>"`)
	}
	r := PublicRef{PublicID: id, Signature: sig}
	return r, r.check()
}

func (r PublicRef) check() error {
	if len(r.PublicID) != 32 || !isHex(r.PublicID) {
		return errors.New("a public channel id must be 32 hex digits")
	}
	if r.Signature == "" || len(r.Signature)%2 != 0 || !isHex(r.Signature) {
		return errors.New("a public channel signature must be hex digits")
	}
	return nil
}

// Receiver returns the protobuf receiver for r: raw id and raw signature, not private.
func (r PublicRef) Receiver() (Receiver, error) {
	if err := r.check(); err != nil {
		return Receiver{}, err
	}
	id, _ := hex.DecodeString(r.PublicID)
	sig, _ := hex.DecodeString(r.Signature)
	return Receiver{ID: id, Signature: sig}, nil
}

// PublicRefOf returns the reference to a user's public channel as pull.channel.public.list or a
// config's publicChannels describe it.
func PublicRefOf(p PublicChannel) PublicRef {
	return PublicRef{PublicID: p.PublicID, Signature: p.Signature}
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// EncodeClientPublish returns the binary websocket frame that publishes m to the public channels to
// (version 4): RequestBatch{requests: [{incomingMessages: {messages: [m]}}]}, the push server reading
// only the first request of a batch.
func EncodeClientPublish(to []PublicRef, m ClientMessage) ([]byte, error) {
	if len(to) == 0 {
		return nil, errors.New("a message needs at least one receiver")
	}
	receivers := make([]Receiver, 0, len(to))
	for _, r := range to {
		rc, err := r.Receiver()
		if err != nil {
			return nil, err
		}
		receivers = append(receivers, rc)
	}
	return EncodePublish([]IncomingMessage{{Receivers: receivers, Body: m.Body(), Expiry: uint32(m.Expiry)}}), nil
}

// EncodeStatsRequest returns the binary frame that asks the push server for the state of the public
// channels of (RequestBatch{requests: [{channelStats: {channels}}]}). A version 4 client sends one
// after its publish frames: the server answers requests of a connection in order, so the answer
// tells that the frames before it arrived.
func EncodeStatsRequest(of []PublicRef) ([]byte, error) {
	if len(of) == 0 {
		return nil, errors.New("a stats request needs at least one channel")
	}
	ids := make([]ChannelID, 0, len(of))
	for _, r := range of {
		rc, err := r.Receiver()
		if err != nil {
			return nil, err
		}
		ids = append(ids, rc)
	}
	return (&RequestBatch{Requests: []Request{{ChannelStats: ids, HasChannelStats: true}}}).Marshal(), nil
}

// RPCPublishParams returns the params of the publish call (JSON-RPC, version 5): userList, channelList
// ("<publicId>.<signature>" strings), body and expiry. The server resolves the user ids itself.
func RPCPublishParams(users []int, channels []PublicRef, m ClientMessage) json.RawMessage {
	b := make([]byte, 0, 64+len(m.Params)+40*len(channels)+8*len(users))
	b = append(b, '{')
	if len(users) > 0 {
		b = append(b, `"userList":[`...)
		for i, u := range users {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(u), 10)
		}
		b = append(b, "],"...)
	}
	if len(channels) > 0 {
		b = append(b, `"channelList":[`...)
		for i, c := range channels {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, c.String())
		}
		b = append(b, "],"...)
	}
	b = append(b, `"body":`...)
	b = append(b, m.Body()...)
	b = append(b, `,"expiry":`...)
	b = strconv.AppendInt(b, int64(m.Expiry), 10)
	return append(b, '}')
}

// UserIDs checks a list of user ids as the publishing and presence calls take them: positive
// integers, at least one.
func UserIDs(ids []int) error {
	if len(ids) == 0 {
		return errors.New("the user list is empty")
	}
	for _, id := range ids {
		if id <= 0 {
			return fmt.Errorf("user id %d is not a positive integer", id)
		}
	}
	return nil
}
