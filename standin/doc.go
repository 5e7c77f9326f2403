// Package standin is a local stand-in for a Bitrix24 portal (the pull REST methods) and its Push & Pull
// server, in the three generations a client meets: Push server 1.0 (version 3, legacy text), Push
// server 2.0 (version 4, legacy text or protobuf) and the JSON-RPC server (version 5).
//
// Start opens two loopback listeners. The portal listener answers REST at /rest/<method>.json, the
// fault-injection and statistics endpoints under /standin/, and hands any other path to
// Options.Handler. The push listener serves WebSocket and long-polling subscriptions at /bitrix/subws/
// and /bitrix/sub/, trusted backend publishing at /bitrix/pub/ and untrusted client publishing at
// /bitrix/rest/ (the same routes also answer without the /bitrix prefix, as a shared cloud server does).
//
// The portal listener also hosts an app the way a portal page does: GET /portal/app?url=<app URL>
// (an http(s) URL of a loopback host; optional user, default 7, admin=Y|N and lang) serves a page
// that opens the app in an iframe named "DOMAIN|PROTOCOL|APP_SID" with DOMAIN, PROTOCOL, LANG and
// APP_SID in its query, and answers the frame library's postMessage commands (getInitData with a
// fresh token of the user, refreshAuth with another, every other command harmlessly) through
// POST /portal/app/command. POST /portal/app/expire?sid= expires a page's tokens and
// GET /portal/app/stats counts what the pages were asked, so the real b24jssdk B24Frame can be run
// against the stand-in's REST end to end.
//
// Behaviour follows docs/protocol.md: channel ids are signed with HMAC-SHA1 and checked with the real
// grammar, message ids are 26 digits (server start time and a counter), stored messages replay from a
// mid, idle long polls end in 304 with the real headers, frames are coalesced like Push server 2.0 when
// Options.Coalesce is set, and the portal rotates channels and publishes the pull system commands as
// the PHP does. Every fault a client must survive can be injected by a method or over HTTP.
//
// The stand-in never listens beyond the loopback interface, never logs channel ids, signatures, tokens
// or the JWT, and every goroutine it starts ends with Close.
package standin
