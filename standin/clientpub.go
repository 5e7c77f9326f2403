package standin

import (
	"crypto/hmac"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// clientRequest runs an untrusted protobuf request (docs/protocol.md §17, §21.3): from a connection with
// a "priv:pub" channel, only the first Request of the batch, incomingMessages to signed public
// receivers, or channelStats. Nothing is published unless the whole request is valid. With
// Options.PublishDisabled, incomingMessages is refused like any command clients may not send (4014).
// It returns the response frame to send back (channelStats) or the close code.
func (s *Server) clientRequest(sub *subscription, data []byte) ([]byte, *pushError) {
	resp, perr := s.runClientRequest(sub, data)
	if perr != nil {
		s.stats.clientErrors.Add(1)
		return nil, perr
	}
	s.stats.clientPublishes.Add(1)
	return resp, nil
}

func (s *Server) runClientRequest(sub *subscription, data []byte) ([]byte, *pushError) {
	if !sub.hasPrivPub {
		return nil, errPublicRequired
	}
	batch, err := protocol.UnmarshalRequestBatch(data)
	if err != nil || len(batch.Requests) == 0 {
		return nil, errWrongRequest
	}
	req := batch.Requests[0]
	switch {
	case req.HasIncoming && s.opts.PublishDisabled:
		return nil, errNotAllowed
	case req.HasIncoming:
		if perr := s.checkIncoming(req.IncomingMessages, false); perr != nil {
			return nil, perr
		}
		now := s.now()
		for _, in := range req.IncomingMessages {
			s.publishIncoming(in, protocol.PBSender{Type: protocol.SenderClient, ID: sub.senderID}, now)
		}
		return nil, nil
	case req.HasChannelStats:
		return s.channelStats(req.ChannelStats, false)
	case req.ServerStats:
		return nil, errNotAllowed
	default:
		return nil, errWrongRequest
	}
}

// backendBinary runs a trusted protobuf publish (POST /bitrix/pub/?binaryMode=true): every request
// of the batch; receivers need only be 16-byte ids.
func (s *Server) backendBinary(data []byte) ([]byte, *pushError) {
	batch, err := protocol.UnmarshalRequestBatch(data)
	if err != nil || len(batch.Requests) == 0 {
		return nil, errWrongRequest
	}
	for _, req := range batch.Requests {
		if req.HasIncoming {
			if perr := s.checkIncoming(req.IncomingMessages, true); perr != nil {
				return nil, perr
			}
		}
	}
	now := s.now()
	out := &protocol.ResponseBatch{}
	for _, req := range batch.Requests {
		switch {
		case req.HasIncoming:
			for _, in := range req.IncomingMessages {
				s.publishIncoming(in, protocol.PBSender{Type: protocol.SenderBackend}, now)
			}
		case req.HasChannelStats:
			out.Responses = append(out.Responses, s.statsResponse(req.ChannelStats))
		case req.ServerStats:
			out.Responses = append(out.Responses, protocol.Response{
				ServerStatsJSON: string(marshalJSON(s.Stats())), HasServerStats: true,
			})
		}
	}
	if len(out.Responses) == 0 {
		return nil, nil
	}
	return out.Marshal(), nil
}

// checkIncoming applies the message and receiver limits; untrusted receivers must be public and
// signed.
func (s *Server) checkIncoming(msgs []protocol.IncomingMessage, trusted bool) *pushError {
	if len(msgs) == 0 || len(msgs) > maxMessagesPerRequest {
		return errTooManyMessages
	}
	for _, in := range msgs {
		if len(in.Receivers) == 0 {
			return errNoChannels
		}
		if len(in.Receivers) > maxChannelsPerRequest {
			return errTooManyChannels
		}
		for _, rc := range in.Receivers {
			if perr := s.checkReceiver(rc, trusted); perr != nil {
				return perr
			}
		}
	}
	return nil
}

func (s *Server) checkReceiver(rc protocol.Receiver, trusted bool) *pushError {
	if len(rc.ID) != 16 {
		return errInvalidChannel
	}
	if trusted {
		return nil
	}
	if rc.IsPrivate {
		return errPrivateChannel
	}
	want := signRaw(s.opts.SignatureKey, "public:"+hexID(rc.ID))
	if !hmac.Equal(rc.Signature, want) {
		return errInvalidSignature
	}
	return nil
}

// publishIncoming publishes one protobuf message to its receivers.
func (s *Server) publishIncoming(in protocol.IncomingMessage, sender protocol.PBSender, now time.Time) {
	keys := make([]string, 0, len(in.Receivers))
	for _, rc := range in.Receivers {
		keys = append(keys, hexID(rc.ID))
	}
	m := &message{body: in.Body, expiry: in.Expiry, sender: sender, channel: keys[0]}
	s.publishMessage(keys, m, now)
}

// channelStats answers an untrusted channelStats request.
func (s *Server) channelStats(ids []protocol.ChannelID, trusted bool) ([]byte, *pushError) {
	if len(ids) == 0 {
		return nil, errNoChannels
	}
	if len(ids) > maxChannelsPerRequest {
		return nil, errTooManyChannels
	}
	for _, id := range ids {
		if perr := s.checkReceiver(id, trusted); perr != nil {
			return nil, perr
		}
	}
	out := &protocol.ResponseBatch{Responses: []protocol.Response{s.statsResponse(ids)}}
	return out.Marshal(), nil
}

func (s *Server) statsResponse(ids []protocol.ChannelID) protocol.Response {
	stats := make([]protocol.ChannelStats, 0, len(ids))
	for _, id := range ids {
		stats = append(stats, protocol.ChannelStats{
			ID: id.ID, IsPrivate: id.IsPrivate, IsOnline: s.hub.subscribers(hexID(id.ID)) > 0,
		})
	}
	return protocol.Response{ChannelStats: stats, HasChannelStats: true}
}
