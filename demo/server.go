// Package demo is the b24pull demo app: a page that keeps a Push & Pull connection alive with the
// b24pull browser package, shows its status, counters and events, sends events through the app's REST
// session, publishes as a client, shows the users' presence, runs the official client
// (@bitrix24/b24jssdk) beside b24pull on a switch, each with its own counters, and injects faults
// into the local stand-in. Locally the page can be opened as any of DemoUsers (/?user=N).
//
// The page runs in two modes. Locally (`make demo`) it is served by the portal listener of an
// in-process stand-in (package standin) and talks to it through a small BX24 stand-in,
// web/bx24-local.js. Opened by Bitrix24 as a local app (a POST to / carrying AUTH_ID, or a GET with the
// DOMAIN and APP_SID query parameters), it loads the real BX24 library instead, hides the fault
// buttons and uses the real portal.
//
// Start runs exactly what the b24pull-demo command runs; tests start it on a random port. The page
// assets are embedded; the browser package (js/, built by scripts/build-wasm.sh) is served from disk
// under /b24pull/, and the official client's browser build from e2e/web/node_modules (installed by
// scripts/ensure-npm.sh) at OfficialBundlePath.
package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/b24pull/b24pull/standin"
)

// DefaultAddr is the portal address of the demo when Options.Addr is empty.
const DefaultAddr = "127.0.0.1:8080"

// Options configures a demo server. The zero value serves a version 4 stand-in on DefaultAddr with
// 60 s channels, 400 ms coalescing, and user 1 as an administrator.
type Options struct {
	// Version is the push server generation of the stand-in: 3, 4 (default) or 5.
	Version int
	// ChannelLifetime is how long the stand-in's channels live; default 60 s, so that renewals
	// show within a minute.
	ChannelLifetime time.Duration
	// Coalesce is the stand-in's websocket coalescing window; default 400 ms, as Push server 2.0.
	// A negative value switches coalescing off.
	Coalesce time.Duration
	// Addr is the loopback address the page and the stand-in portal listen on; default DefaultAddr.
	// "0" and a ":0" port pick a free port.
	Addr string
	// UserID is the user the page's session belongs to; default 1.
	UserID int
	// NotAdmin makes that user an ordinary user instead of a portal administrator.
	NotAdmin bool
	// JSDir is the folder holding the built browser package (b24pull.mjs, b24pull.wasm). Empty
	// means the js/ folder of the repository containing the working directory.
	JSDir string
	// WebDir is the folder whose node_modules holds the official client, @bitrix24/b24jssdk, as
	// scripts/ensure-npm.sh installs it; the side-by-side switch of the page runs it beside b24pull.
	// Empty means the e2e/web folder of the repository. When the official client is missing there,
	// the demo runs all the same and the switch is disabled with a note saying how to install it.
	WebDir string
	// Logf, when set, receives the stand-in's log lines. It never receives secrets.
	Logf func(format string, args ...any)
}

// Defaults of Options.
const (
	DefaultChannelLifetime = 60 * time.Second
	DefaultCoalesce        = 400 * time.Millisecond
	DefaultUserID          = 1
)

// ErrNoJSDir is returned by Start when the browser package cannot be found or is not built.
var ErrNoJSDir = errors.New("demo: the browser package is not built")

// jsFiles are the files of the browser package that the demo serves under /b24pull/.
var jsFiles = []string{"b24pull.mjs", "b24pull.js", "b24pull.d.ts", "b24pull.wasm"}

// requiredJSFiles must exist for the page to work.
var requiredJSFiles = []string{"b24pull.mjs", "b24pull.wasm"}

// Server is a running demo: a stand-in whose portal listener also serves the page.
type Server struct {
	sa   *standin.Server
	h    *handler
	opts Options
}

// Start checks the browser package, starts the stand-in with the demo handler and returns once both
// listeners accept connections. It fails when the browser package is missing, an option is bad or
// an address cannot be bound.
func Start(opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &handler{jsDir: opts.JSDir, user: opts.UserID, admin: !opts.NotAdmin, version: opts.Version,
		lifetime: opts.ChannelLifetime, official: findOfficial(opts.WebDir)}
	coalesce := opts.Coalesce
	if coalesce < 0 {
		coalesce = 0
	}
	sa, err := standin.Start(standin.Options{
		Version:         opts.Version,
		ChannelLifetime: opts.ChannelLifetime,
		Coalesce:        coalesce,
		PortalAddr:      opts.Addr,
		Handler:         h,
		Logf:            opts.Logf,
		// As a real push server does: rotated-away ids are still accepted on their signature, so what
		// was sent to a channel renewed while a client was away is replayed to it.
		AcceptRetired: true,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to start the stand-in: %w", err)
	}
	h.portal.Store(sa)
	return &Server{sa: sa, h: h, opts: opts}, nil
}

// withDefaults fills the defaults and finds the browser package.
func (o Options) withDefaults() (Options, error) {
	if o.Version == 0 {
		o.Version = standin.DefaultVersion
	}
	if o.ChannelLifetime == 0 {
		o.ChannelLifetime = DefaultChannelLifetime
	}
	if o.Coalesce == 0 {
		o.Coalesce = DefaultCoalesce
	}
	switch {
	case o.Addr == "":
		o.Addr = DefaultAddr
	case o.Addr == "0":
		o.Addr = "127.0.0.1:0"
	case !strings.Contains(o.Addr, ":"):
		return o, fmt.Errorf("demo: address %q has no port", o.Addr)
	}
	if o.UserID == 0 {
		o.UserID = DefaultUserID
	}
	if o.UserID < 0 {
		return o, fmt.Errorf("demo: user id %d is not positive", o.UserID)
	}
	dir, err := findJSDir(o.JSDir)
	if err != nil {
		return o, err
	}
	o.JSDir = dir
	if o.WebDir == "" {
		if root, err := repoRoot(); err == nil {
			o.WebDir = filepath.Join(root, "e2e", "web")
		}
	}
	return o, nil
}

// findJSDir returns dir, or the js/ folder of the repository above the working directory, once it
// holds the built browser package.
func findJSDir(dir string) (string, error) {
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "js")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("failed to resolve %s: %w", dir, err)
	}
	for _, f := range requiredJSFiles {
		if _, err := os.Stat(filepath.Join(abs, f)); err != nil {
			return "", fmt.Errorf("%w: %s is missing (run scripts/build-wasm.sh)", ErrNoJSDir, filepath.Join(abs, f))
		}
	}
	return abs, nil
}

// repoRoot walks up from the working directory to the first folder holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("failed to get the working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory (set the js folder)", ErrNoJSDir)
		}
		dir = parent
	}
}

// URL returns the address of the page, http://127.0.0.1:<port>/.
func (s *Server) URL() string {
	return s.sa.PortalURL() + "/"
}

// Standin returns the stand-in behind the page, for tests that inject faults or read its counters.
func (s *Server) Standin() *standin.Server {
	return s.sa
}

// OfficialMissing says why the page cannot run the official client beside b24pull and how to
// install it; it is empty when the side-by-side switch works.
func (s *Server) OfficialMissing() string {
	return s.h.official.missing
}

// Version returns the push server generation the stand-in runs.
func (s *Server) Version() int {
	return s.opts.Version
}

// Close stops the stand-in and the page server and returns once every goroutine has ended. Calling
// it again does nothing.
func (s *Server) Close() error {
	return s.sa.Close()
}

// portalRef is the stand-in a handler serves sessions of; it is set right after the stand-in starts.
type portalRef = atomic.Pointer[standin.Server]
