// Command server runs a tickwire server with the arena example room type
// registered (besides the built-in relay type).
//
//	go run ./examples/arena/server -kcp 127.0.0.1:7777 -tcp 127.0.0.1:7778 -http 127.0.0.1:7780
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tickwire/tickwire/examples/arena"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
)

func main() {
	kcpAddr := flag.String("kcp", "127.0.0.1:7777", "KCP (UDP) listen address")
	tcpAddr := flag.String("tcp", "127.0.0.1:7778", "TCP listen address")
	httpAddr := flag.String("http", "127.0.0.1:7780", "HTTP API listen address")
	dataDir := flag.String("data", os.TempDir()+"/tickwire-arena", "data directory")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Start(ctx, server.Config{
		Transports: []netcode.Transport{
			&kcp.Transport{Addr: *kcpAddr},
			&tcp.Transport{Addr: *tcpAddr},
		},
		HTTPAddr: *httpAddr, DataDir: *dataDir, Logger: log,
		RoomTypes: map[string]room.Factory{arena.Type: arena.New},
	})
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		os.Exit(1)
	}
}
