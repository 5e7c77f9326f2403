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
//   - dispatch routing (client, system, online, server) and the revision event.
//
// Dispatch builds, per frame, one JSON array of events that the browser bridge hands to JavaScript in
// a single crossing.
//
// The machine reads no JSON itself; it works on the typed values of package protocol: the decoded
// messages, their system commands (protocol.ParseSystem, whose ChannelExpire also says which
// new_channel can be trusted) and the fields of extra it acts on (protocol.ParseExtra). The
// JavaScript timing option reaches it as a Timing, read by the bridge.
package session
