// Package session is the Push & Pull client's brain with no I/O in it: a state machine that is told
// what happened (config loaded, connection opened, frame received, connection closed, time passed) and
// answers with what to do (load the config, connect to a URL, send a frame, deliver events, disconnect).
//
// Time is always passed in, and timers are deadlines the machine keeps; the driver (package client)
// sleeps until NextDeadline and calls Tick. Tests therefore run whole hours of renewals, backoffs and
// watchdogs in microseconds, and every rule below is checked without sleeping:
//
//   - de-duplication by message id over a window that survives reconnects and channel rotations;
//   - the resume position (mid, or tag/time for old servers), never reset by an empty frame;
//   - system commands: channel_expire (apply a valid new_channel, otherwise reload the config),
//     config_expire, server_restart, each with the delays the protocol asks for;
//   - close codes: 4010 reloads the config after 6–35 s, other closes back off
//     0.5 / 5 / 25 / 45 / 60 s plus 0–20 % jitter, reset after a successful open;
//   - handshakes that keep failing (which is how a browser sees a rejected channel id) reload the
//     config, and four of them in a row fall back to long polling, retrying websocket after 30 min;
//   - the JSON-RPC ping watchdog (20 s, 40 s before the first ping);
//   - renewal: the config is reloaded as soon as the earliest channel end or exp has passed in server
//     time, with a small jitter, instead of on a 60 s tick (kept only as a backstop);
//   - dispatch routing (client, system, online, server) and the revision event;
//   - channel switching, by the one rule below.
//
// # Channel switching: the ledger
//
// Message ids are global across channels, and a connection replays, from its mid, only the channels it
// subscribes. So when the portal rotates a channel, what was sent to the old one and not yet received
// is reachable only by a connection that subscribes the old id; and a position reached on some
// channels says nothing of the others. The machine therefore keeps a ledger (ledger.go) of every
// channel it is responsible for, each with its own position (every message before it has arrived):
//
//   - the channels of the config in use, and each rotated channel whose last word (its
//     channel_expire) has not arrived and that has not been given up;
//   - a channel enters from the position before its start (the server times of the messages
//     remembered tell which), so that what was sent to it before the client learnt of it is replayed;
//   - each message advances the position of every channel the connection subscribes;
//   - a channel's last word retires it; a rotated channel is also given up after rotatedLife of being
//     read without it, after maxRotatedOpens connections ended before it, after a refusal by close
//     code 4010, or after maxRotatedRefusals dials carrying it did not open;
//   - every dial subscribes every channel of the ledger that can share its connection (CHANNEL_ID is
//     a list), from the oldest of their positions; the overlap is skipped by the de-duplication
//     window. Channels of another server or, in version 5, of another token (a JWT names its
//     channels) cannot: they get a connection of their own first (sameServer, plan);
//   - keep-open: an open connection is not replaced while it carries a channel that has rotated away,
//     or is about to (its end is near), before that channel's last word, for at most rotatedWait:
//     a server that refuses rotated ids never replays what such a channel still held;
//   - a dial carrying rotated channels that does not open is made again at once without them; they
//     are tried once more when a connection opens (the server may have been down rather than
//     refusing them).
//
// Dispatch builds, per frame, one JSON array of events that the browser bridge hands to JavaScript in
// a single crossing.
//
// The machine reads no JSON itself; it works on the typed values of package protocol: the decoded
// messages, their system commands (protocol.ParseSystem, whose ChannelExpire also says which
// new_channel can be trusted) and the fields of extra it acts on (protocol.ParseExtra). The
// JavaScript timing option reaches it as a Timing, read by the bridge.
package session
