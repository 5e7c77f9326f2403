package standin

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/b24pull/b24pull/protocol"
)

// Push server limits (docs/protocol.md §21.3).
const (
	maxPayload            = 1 << 20
	maxMessagesPerRequest = 100
	maxChannelsPerRequest = 100
)

// pushError is a push-server close code with its reason (docs/protocol.md §12.2).
type pushError struct {
	code   int
	reason string
	// bare: the HTTP body is the reason alone (Push server 1.0 wording), not "<code>: <reason>".
	bare bool
}

// Close codes of the push server (docs/protocol.md §12.2) and the cloud server's clientId checks.
var (
	errWrongChannel     = &pushError{code: 4010, reason: "Wrong Channel Id."}
	errPublicRequired   = &pushError{code: 4012, reason: "Public Channel Id is Required."}
	errWrongRequest     = &pushError{code: 4013, reason: "Wrong Request Data."}
	errNotAllowed       = &pushError{code: 4014, reason: "Request command is not allowed."}
	errTooManyMessages  = &pushError{code: 4016, reason: "Request exceeded the maximum number of messages."}
	errNoChannels       = &pushError{code: 4017, reason: "No channels found."}
	errTooManyChannels  = &pushError{code: 4018, reason: "Request exceeded the maximum number of channels."}
	errInvalidChannel   = &pushError{code: 4019, reason: "Request has an invalid channel id."}
	errPrivateChannel   = &pushError{code: 4020, reason: "Private channel is not allowed."}
	errInvalidSignature = &pushError{code: 4021, reason: "Channel has an invalid signature."}
	errClientIDRequired = &pushError{code: 4025, reason: "Client Id is required."}
	errWrongClientID    = &pushError{code: 4036, reason: "Wrong Client Id."}
	errV3NoChannel      = &pushError{code: 4010, reason: "No channel id provided.", bare: true}
	errV3BadChannel     = &pushError{code: 4010, reason: "Channel id is not correct.", bare: true}
)

// body is the HTTP body of the error: "<code>: <reason>".
func (e *pushError) body() string {
	if e.bare {
		return e.reason
	}
	return fmt.Sprintf("%d: %s", e.code, e.reason)
}

// httpStatus maps a close code to the HTTP status of long polling and REST (Connection.getHttpStatus).
func httpStatus(code int) int {
	switch {
	case code < 1000:
		return code
	case code == 4000:
		return http.StatusOK
	case code == 4029:
		return http.StatusTooManyRequests
	default:
		return http.StatusBadRequest
	}
}

// writePushError answers an HTTP request with a close code.
func writePushError(w http.ResponseWriter, e *pushError) {
	h := w.Header()
	setCORS(h)
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(httpStatus(e.code))
	_, _ = io.WriteString(w, e.body())
}

// pushRoutes is the push listener's handler. The /bitrix/ paths are the self-hosted ones; the bare
// ones are the cloud server's.
func (s *Server) pushRoutes() http.Handler {
	mux := http.NewServeMux()
	for _, prefix := range []string{"/bitrix", ""} {
		mux.HandleFunc(prefix+"/subws/", s.serveSubscribe)
		mux.HandleFunc(prefix+"/sub/", s.serveSubscribe)
		mux.HandleFunc(prefix+"/pub/", s.servePublish)
		mux.HandleFunc(prefix+"/rest/", s.serveClientPublish)
	}
	mux.HandleFunc("/server-stat/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(marshalJSON(s.Stats()))
	})
	return mux
}

// writePreflight answers a CORS preflight the way Push server 2.0 does.
func writePreflight(w http.ResponseWriter) {
	h := w.Header()
	setCORS(h)
	h.Set("Access-Control-Allow-Methods", "POST, GET, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "If-Modified-Since, If-None-Match")
	w.WriteHeader(http.StatusOK)
}

// serveSubscribe serves a websocket upgrade or, without one, a long poll.
func (s *Server) serveSubscribe(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		writePreflight(w)
		return
	}
	sub, perr := s.parseSubscription(r)
	if isUpgrade(r) {
		s.serveWebSocket(w, r, sub, perr)
		return
	}
	if r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	s.serveLongPoll(w, r, sub, perr)
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// servePublish is the trusted backend route: text publish to CHANNEL_ID, protobuf with binaryMode,
// channel statistics with GET.
func (s *Server) servePublish(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodOptions:
		writePreflight(w)
		return
	case http.MethodGet:
		s.serveChannelStats(w, q.Get("CHANNEL_ID"))
		return
	case http.MethodPost:
	default:
		http.NotFound(w, r)
		return
	}
	body, ok := readPayload(w, r)
	if !ok {
		return
	}
	setCORS(w.Header())
	if q.Get("binaryMode") == "true" && s.opts.Version >= 4 {
		resp, perr := s.backendBinary(body)
		if perr != nil {
			writePushError(w, perr)
			return
		}
		if len(resp) > 0 {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(resp)
		}
		return
	}
	refs, ok := parseChannelIDs(q.Get("CHANNEL_ID"), s.opts.Version, s.opts.SignatureKey, true)
	if !ok {
		writePushError(w, errWrongChannel)
		return
	}
	if len(body) == 0 {
		return
	}
	expiry := uint32(0)
	if s.opts.Version <= 3 {
		expiry = messageTTL // Push server 1.0 stores every message
	}
	if h := r.Header.Get("Message-Expiry"); h != "" {
		if n, err := strconv.ParseUint(strings.TrimSpace(h), 10, 32); err == nil {
			expiry = uint32(n)
		}
	}
	keys := make([]string, 0, len(refs))
	for _, ref := range refs {
		keys = append(keys, ref.priv)
	}
	m := &message{body: body, expiry: expiry, channel: refs[0].priv,
		sender: protocol.PBSender{Type: protocol.SenderBackend}}
	s.publishMessage(keys, m, s.now())
}

// readPayload reads a request body of at most maxPayload bytes; a larger one is answered 413.
func readPayload(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil {
		setCORS(w.Header())
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return nil, false
	}
	if len(body) > maxPayload {
		setCORS(w.Header())
		http.Error(w, "Payload Too Large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return body, true
}

// channelInfo is one entry of the text channel statistics.
type channelInfo struct {
	Channel     string `json:"channel"`
	Subscribers int    `json:"subscribers"`
}

// serveChannelStats answers GET /bitrix/pub/?CHANNEL_ID=a/b: the online ones among the channels.
func (s *Server) serveChannelStats(w http.ResponseWriter, value string) {
	refs, ok := parseChannelIDs(value, s.opts.Version, s.opts.SignatureKey, true)
	if !ok {
		writePushError(w, errWrongChannel)
		return
	}
	infos := []channelInfo{}
	for _, ref := range refs {
		if n := s.hub.subscribers(ref.priv); n > 0 {
			infos = append(infos, channelInfo{Channel: ref.priv, Subscribers: n})
		}
	}
	setCORS(w.Header())
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(marshalJSON(struct {
		Infos []channelInfo `json:"infos"`
	}{infos}))
}

// serveClientPublish is the untrusted route a long-polling client publishes through (version 4).
func (s *Server) serveClientPublish(w http.ResponseWriter, r *http.Request) {
	if s.opts.Version != 4 {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		writePreflight(w)
		return
	case http.MethodPost:
	default:
		http.NotFound(w, r)
		return
	}
	sub, perr := s.parseSubscription(r)
	if perr != nil {
		s.stats.clientErrors.Add(1)
		writePushError(w, perr)
		return
	}
	body, ok := readPayload(w, r)
	if !ok {
		return
	}
	resp, perr := s.clientRequest(sub, body)
	if perr != nil {
		writePushError(w, perr)
		return
	}
	setCORS(w.Header())
	if len(resp) > 0 {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(resp)
	}
}

// hexID returns the push-server key of a raw protobuf channel id.
func hexID(id []byte) string { return hex.EncodeToString(id) }
