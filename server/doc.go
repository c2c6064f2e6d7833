// Package server is tickwire's public assembly: it wires the engine, the
// built-in services (accounts, social, rooms) and the one HTTP server
// around a list of transports, and is what cmd/tickwire, tickbench and the
// tests run. An embedder imports it to run tickwire inside a Go program
// and register room types of its own:
//
//	srv, err := server.Start(ctx, server.Config{
//		Transports: []netcode.Transport{
//			&kcp.Transport{Addr: ":7777"},
//			&tcp.Transport{Addr: ":7778"},
//		},
//		RoomTypes: map[string]room.Factory{"arena": arena.New},
//	})
//
// A transport is a netcode.Transport: adding one means writing its package
// and one line in that list. Transports that speak HTTP mount their routes
// on the server's one HTTP server through netcode.Env.HTTP; other routes
// (the browser SDK and demo page of package web, an embedder's own pages)
// through Config.Routes, which Start refuses where they could capture the
// API's paths.
//
// Concurrency contract: Start returns a running Server whose goroutines
// (the engine's Run and the HTTP server) are owned by it; Shutdown stops
// everything and waits for them. Shutdown is idempotent; every accessor is
// safe from any goroutine.
package server
