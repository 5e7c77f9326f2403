package standin

import "sync/atomic"

// Stats is a snapshot of what the stand-in has done since Start. Every field counts since Start,
// except ConnectionsOpen, LongPollsPending and PushDown, which tell the present.
type Stats struct {
	// Published counts messages accepted for delivery on any route (portal events, backend and client
	// publishes, system commands).
	Published int64 `json:"published"`
	// Stored counts messages that were stored for replay (expiry > 0), once per message.
	Stored int64 `json:"stored"`
	// Delivered counts messages written to clients (a duplicate counts again), Frames the data frames
	// and long-polling bodies that carried them, Replayed the messages sent as a replay.
	Delivered int64 `json:"delivered"`
	Frames    int64 `json:"frames"`
	Replayed  int64 `json:"replayed"`
	// Duplicated counts deliveries sent a second time by DuplicateNext.
	Duplicated int64 `json:"duplicated"`

	// ConnectionsOpen is the number of websockets open now; ConnectionsTotal counts every accepted one.
	ConnectionsOpen  int64 `json:"connectionsOpen"`
	ConnectionsTotal int64 `json:"connectionsTotal"`
	// LongPolls counts long-polling requests with valid channels; LongPollsPending is how many are held
	// now.
	LongPolls        int64 `json:"longPolls"`
	LongPollsPending int64 `json:"longPollsPending"`
	// HandshakesRefused counts subscriptions refused for bad channels, tokens or clientId (websocket
	// handshakes answered 400, 4010 closes and long polls answered 400).
	HandshakesRefused int64 `json:"handshakesRefused"`

	// Pings counts keep-alives sent (text ping frames in JSON-RPC mode, control pings otherwise),
	// Pongs the text pong frames received, Acks the mack:<mid> frames received.
	Pings int64 `json:"pings"`
	Pongs int64 `json:"pongs"`
	Acks  int64 `json:"acks"`
	// RPCCalls counts JSON-RPC requests received from clients.
	RPCCalls int64 `json:"rpcCalls"`
	// ClientPublishes counts accepted client publish requests (protobuf or the publish RPC);
	// ClientErrors the refused ones and unreadable client frames.
	ClientPublishes int64 `json:"clientPublishes"`
	ClientErrors    int64 `json:"clientErrors"`
	// StatusChanges counts userStatusChange messages sent to connections watching a user, one per
	// watching connection.
	StatusChanges int64 `json:"statusChanges"`

	// RESTCalls counts REST method calls, RESTErrors those answered with an error.
	RESTCalls  int64 `json:"restCalls"`
	RESTErrors int64 `json:"restErrors"`
	// PushNotifications counts accepted pull.application.push.add calls.
	PushNotifications int64 `json:"pushNotifications"`
	// Rotations counts channel rotations.
	Rotations int64 `json:"rotations"`

	// Restarts counts Restart calls; PushDown tells whether the push server is down right now.
	Restarts int64 `json:"restarts"`
	PushDown bool  `json:"pushDown"`
}

// counters holds the live values behind Stats.
type counters struct {
	published, stored, delivered, frames, replayed, duplicated     atomic.Int64
	connectionsOpen, connectionsTotal, longPolls, longPollsPending atomic.Int64
	handshakesRefused                                              atomic.Int64
	pings, pongs, acks, rpcCalls, clientPublishes, clientErrors    atomic.Int64
	statusChanges                                                  atomic.Int64
	restCalls, restErrors, pushNotifications, rotations, restarts  atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Published:         c.published.Load(),
		Stored:            c.stored.Load(),
		Delivered:         c.delivered.Load(),
		Frames:            c.frames.Load(),
		Replayed:          c.replayed.Load(),
		Duplicated:        c.duplicated.Load(),
		ConnectionsOpen:   c.connectionsOpen.Load(),
		ConnectionsTotal:  c.connectionsTotal.Load(),
		LongPolls:         c.longPolls.Load(),
		LongPollsPending:  c.longPollsPending.Load(),
		HandshakesRefused: c.handshakesRefused.Load(),
		Pings:             c.pings.Load(),
		Pongs:             c.pongs.Load(),
		Acks:              c.acks.Load(),
		RPCCalls:          c.rpcCalls.Load(),
		ClientPublishes:   c.clientPublishes.Load(),
		ClientErrors:      c.clientErrors.Load(),
		StatusChanges:     c.statusChanges.Load(),
		RESTCalls:         c.restCalls.Load(),
		RESTErrors:        c.restErrors.Load(),
		PushNotifications: c.pushNotifications.Load(),
		Rotations:         c.rotations.Load(),
		Restarts:          c.restarts.Load(),
	}
}
