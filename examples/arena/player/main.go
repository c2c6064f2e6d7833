// Command player is a Go client that plays the arena example: it gets a
// guest token, joins an arena room, walks in a square, and prints the
// server-authoritative positions it receives.
//
//	go run ./examples/arena/player -http http://127.0.0.1:7780 -addr 127.0.0.1:7777 -ticks 150
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/examples/arena"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
)

func main() {
	httpBase := flag.String("http", "http://127.0.0.1:7780", "server HTTP API base URL")
	addr := flag.String("addr", "127.0.0.1:7777", "server realtime address")
	transport := flag.String("transport", "kcp", "kcp or tcp")
	name := flag.String("name", "player", "display name")
	label := flag.String("label", "demo", "matchmaking label")
	ticks := flag.Int("ticks", 150, "snapshots to play for")
	flag.Parse()
	if err := play(*httpBase, *addr, *transport, *name, *label, *ticks); err != nil {
		fmt.Fprintln(os.Stderr, "player:", err)
		os.Exit(1)
	}
}

func play(httpBase, addr, transport, name, label string, ticks int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(ticks)*time.Second/10+30*time.Second)
	defer cancel()
	tok, err := client.GuestToken(ctx, httpBase, name)
	if err != nil {
		return err
	}
	// The transports this player speaks: one line each. KCP is sealed
	// with the server's key, pinned from its HTTP API (GET /v1/kcp).
	kd, err := kcp.DialerFromHTTP(ctx, nil, httpBase, addr, kcp.Config{})
	if err != nil {
		return err
	}
	dialers := map[string]client.DialFunc{
		"kcp": kd.Dial,
		"tcp": tcp.Dialer{Addr: addr}.Dial,
	}
	dial, ok := dialers[transport]
	if !ok {
		return fmt.Errorf("unknown transport %q (kcp or tcp)", transport)
	}
	c, err := client.Dial(ctx, client.Options{Dial: dial, Token: tok, Name: "arena-player"})
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }() // leaving: the game's result is what matters
	p, err := arena.Join(ctx, c, label)
	if err != nil {
		return err
	}
	fmt.Printf("joined room %d as member %d (%d members)\n", p.Room().ID(), p.Room().Me(), len(p.Room().Joined().Members))
	dirs := [][2]int8{{1, 0}, {0, 1}, {-1, 0}, {0, -1}}
	for i := 0; i < ticks; i++ {
		if i%30 == 0 {
			d := dirs[(i/30)%len(dirs)]
			if err := p.Steer(d[0], d[1]); err != nil {
				return err
			}
		}
		tick, ps, err := p.Next(ctx)
		if err != nil {
			return err
		}
		if me, ok := p.Me(ps); ok && i%10 == 0 {
			fmt.Printf("tick %d: me at (%d,%d), %d players\n", tick, me.X, me.Y, len(ps))
		}
	}
	return p.Room().Leave(ctx)
}
