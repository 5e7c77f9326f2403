// Command b24pull-demo serves the b24pull demo app on an in-process stand-in of a Bitrix24 portal and
// its Push & Pull server, prints the address to open, and runs until SIGINT or SIGTERM.
//
//	b24pull-demo -version 4 -lifetime 60s -coalesce 400ms -addr 127.0.0.1:8080 -user 1
//
// It needs the built browser package (scripts/build-wasm.sh, which `make demo` runs first) in the js/
// folder of the repository it runs in, or in the folder given by -js. The page's side-by-side switch
// runs the official client from e2e/web/node_modules (scripts/ensure-npm.sh, which `make demo` runs
// too), or from the folder given by -web; without it the demo runs and the switch says what is
// missing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/b24pull/b24pull/demo"
	"github.com/b24pull/b24pull/standin"
)

// stopTimeout bounds the clean shutdown after a signal.
const stopTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "b24pull-demo:", err)
		os.Exit(1)
	}
}

// run starts the demo with the flags in args, prints the page address to out, and stops it when ctx
// is done. Flag errors and verbose logs go to errOut.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("b24pull-demo", flag.ContinueOnError)
	fs.SetOutput(errOut)
	version := fs.Int("version", standin.DefaultVersion, "push server version: 3, 4 or 5")
	lifetime := fs.Duration("lifetime", demo.DefaultChannelLifetime, "channel lifetime")
	coalesce := fs.Duration("coalesce", demo.DefaultCoalesce, "websocket coalescing window (0: a frame per message)")
	addr := fs.String("addr", demo.DefaultAddr, "loopback address of the page and the portal (0: a free port)")
	user := fs.Int("user", demo.DefaultUserID, "user id of the page's session")
	admin := fs.Bool("admin", true, "whether that user is a portal administrator")
	jsDir := fs.String("js", "", "folder of the built browser package (default: js/ of the repository)")
	webDir := fs.String("web", "", "folder whose node_modules holds the official client for the side-by-side switch (default: e2e/web of the repository)")
	verbose := fs.Bool("v", false, "log the stand-in's events to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	opts := demo.Options{
		Version:         *version,
		ChannelLifetime: *lifetime,
		Coalesce:        *coalesce,
		Addr:            *addr,
		UserID:          *user,
		NotAdmin:        !*admin,
		JSDir:           *jsDir,
		WebDir:          *webDir,
	}
	if *coalesce == 0 {
		opts.Coalesce = -1
	}
	if *verbose {
		opts.Logf = log.New(errOut, "", log.LstdFlags).Printf
	}
	srv, err := demo.Start(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "b24pull demo (push server v%d): open %s   (Ctrl-C to stop)\n", srv.Version(), srv.URL())
	if missing := srv.OfficialMissing(); missing != "" {
		fmt.Fprintf(errOut, "b24pull-demo: the side-by-side switch is off: %s\n", missing)
	}

	<-ctx.Done()
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("failed to stop: %w", err)
		}
		fmt.Fprintln(out, "b24pull demo stopped")
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("failed to stop within %v", stopTimeout)
	}
}
