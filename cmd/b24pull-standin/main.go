// Command b24pull-standin runs the local Bitrix24 portal and Push & Pull server stand-in on its own, for
// manual testing and demos. It prints the portal URL, the push URL and an app access token, and runs
// until SIGINT or SIGTERM.
//
//	b24pull-standin -version 4 -mode personal -portal 127.0.0.1:8080 -push 127.0.0.1:8081 -user 1
//
// Unlike standin.Options, whose coalescing window defaults to 0 for tests, the command coalesces
// frames within 400 ms by default, as Push server 2.0 does.
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

	"github.com/b24pull/b24pull/standin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "b24pull-standin:", err)
		os.Exit(1)
	}
}

// run starts the stand-in with the flags in args, prints where it listens to out, and stops it when ctx
// is done.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("b24pull-standin", flag.ContinueOnError)
	version := fs.Int("version", standin.DefaultVersion, "push server version: 3, 4 or 5")
	mode := fs.String("mode", standin.ModePersonal, "server mode: personal or shared")
	lifetime := fs.Duration("lifetime", standin.DefaultChannelLifetime, "channel lifetime")
	coalesce := fs.Duration("coalesce", 400*time.Millisecond, "websocket coalescing window (0: a frame per message)")
	hold := fs.Duration("hold", standin.DefaultLongPollHold, "long-polling hold")
	portal := fs.String("portal", "127.0.0.1:8080", "portal listen address (loopback only)")
	push := fs.String("push", "127.0.0.1:8081", "push server listen address (loopback only)")
	key := fs.String("key", standin.DefaultSignatureKey, "channel signature key")
	clientID := fs.String("client-id", standin.DefaultAppClientID, "the app's client_id")
	user := fs.Int("user", 1, "user id of the printed access token")
	admin := fs.Bool("admin", true, "whether the printed token's user is an administrator")
	verbose := fs.Bool("v", false, "log events to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	opts := standin.Options{
		Version:         *version,
		Mode:            *mode,
		ChannelLifetime: *lifetime,
		Coalesce:        *coalesce,
		LongPollHold:    *hold,
		SignatureKey:    *key,
		AppClientID:     *clientID,
		PortalAddr:      *portal,
		PushAddr:        *push,
	}
	if *verbose {
		opts.Logf = log.New(os.Stderr, "", log.LstdFlags).Printf
	}
	srv, err := standin.Start(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "portal: %s\n", srv.PortalURL())
	fmt.Fprintf(out, "push:   %s\n", srv.PushURL())
	fmt.Fprintf(out, "token:  %s (user %d)\n", srv.NewToken(*user, *admin), *user)
	fmt.Fprintf(out, "config: %s/rest/pull.application.config.get.json?auth=<token>\n", srv.PortalURL())

	<-ctx.Done()
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("failed to stop within 10 s")
	}
}
