package impair

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// maxDatagram is the read buffer of every proxy socket.
const maxDatagram = 64 << 10

// UDPProxy forwards datagrams between clients and one server, impairing
// each direction. Each client source address gets its own upstream socket,
// so the server sees distinct clients.
type UDPProxy struct {
	cfg    Config
	log    *slog.Logger
	front  *net.UDPConn // client-facing
	target *net.UDPAddr
	up     *scheduler // client -> server
	down   *scheduler // server -> client
	epoch  time.Time

	mu       sync.Mutex // guards the fields below
	clients  map[netip.AddrPort]*udpClient
	accepted uint64
	closed   bool

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// udpClient is one client source address and its upstream socket.
type udpClient struct {
	addr     netip.AddrPort
	conn     *net.UDPConn // connected to the target
	lastSeen atomic.Int64 // nanoseconds since the proxy's epoch
	gone     atomic.Bool  // expired or closed: pending packets count as DropClosed
}

// NewUDPProxy listens on listenAddr and forwards to targetAddr.
func NewUDPProxy(listenAddr, targetAddr string, cfg Config) (*UDPProxy, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	target, err := net.ResolveUDPAddr("udp", targetAddr)
	if err != nil {
		return nil, fmt.Errorf("impair: target %q: %w", targetAddr, err)
	}
	laddr, err := net.ResolveUDPAddr("udp", listenAddr)
	if err != nil {
		return nil, fmt.Errorf("impair: listen %q: %w", listenAddr, err)
	}
	front, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("impair: listen %q: %w", listenAddr, err)
	}
	p := &UDPProxy{
		cfg:     cfg,
		log:     cfg.Logger,
		front:   front,
		target:  target,
		epoch:   time.Now(),
		clients: make(map[netip.AddrPort]*udpClient),
		done:    make(chan struct{}),
	}
	p.up = newScheduler(NewLink(LinkConfig{Direction: cfg.Up, Seed: cfg.Seed, Stream: 1, MaxQueue: cfg.MaxQueue}), func(it *item) error {
		_, err := it.dst.conn.Write(it.data)
		return err
	})
	p.down = newScheduler(NewLink(LinkConfig{Direction: cfg.Down, Seed: cfg.Seed, Stream: 2, MaxQueue: cfg.MaxQueue}), func(it *item) error {
		_, err := p.front.WriteToUDPAddrPort(it.data, it.dst.addr)
		return err
	})
	p.wg.Add(4)
	go func() { defer p.wg.Done(); p.up.run(p.done) }()
	go func() { defer p.wg.Done(); p.down.run(p.done) }()
	go p.frontLoop()
	go p.janitor()
	return p, nil
}

// Addr is the client-facing address.
func (p *UDPProxy) Addr() net.Addr { return p.front.LocalAddr() }

func (p *UDPProxy) now() int64 { return int64(time.Since(p.epoch)) }

// frontLoop reads datagrams from clients.
func (p *UDPProxy) frontLoop() {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, addr, err := p.front.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Debug("impair: udp front read", "err", err)
			continue
		}
		cl, err := p.client(addr)
		if err != nil {
			p.up.drop(DropTooManyClients, n)
			p.log.Debug("impair: udp client refused", "client", addr, "err", err)
			continue
		}
		if cl == nil { // closing
			return
		}
		cl.lastSeen.Store(p.now())
		p.up.push(time.Now(), append([]byte(nil), buf[:n]...), cl)
	}
}

// client finds or creates the client for addr; nil, nil after Close.
func (p *UDPProxy) client(addr netip.AddrPort) (*udpClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil
	}
	if cl, ok := p.clients[addr]; ok {
		return cl, nil
	}
	if len(p.clients) >= p.cfg.MaxClients {
		return nil, fmt.Errorf("impair: %d clients already", len(p.clients))
	}
	conn, err := net.DialUDP("udp", nil, p.target)
	if err != nil {
		return nil, fmt.Errorf("impair: upstream socket: %w", err)
	}
	cl := &udpClient{addr: addr, conn: conn}
	p.clients[addr] = cl
	p.accepted++
	p.wg.Add(1)
	go p.upstreamLoop(cl)
	return cl, nil
}

// upstreamLoop reads the server's datagrams for one client.
func (p *UDPProxy) upstreamLoop(cl *udpClient) {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, err := cl.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// e.g. ECONNREFUSED from an ICMP error while the server is down.
			p.log.Debug("impair: udp upstream read", "client", cl.addr, "err", err)
			continue
		}
		cl.lastSeen.Store(p.now())
		p.down.push(time.Now(), append([]byte(nil), buf[:n]...), cl)
	}
}

// janitor expires idle clients.
func (p *UDPProxy) janitor() {
	defer p.wg.Done()
	every := min(max(p.cfg.ClientIdle/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		cutoff := p.now() - int64(p.cfg.ClientIdle)
		var expired []*udpClient
		p.mu.Lock()
		for addr, cl := range p.clients {
			if cl.lastSeen.Load() < cutoff {
				delete(p.clients, addr)
				expired = append(expired, cl)
			}
		}
		p.mu.Unlock()
		for _, cl := range expired {
			p.log.Debug("impair: udp client expired", "client", cl.addr)
			cl.gone.Store(true)
			logErr(p.log, "impair: udp close expired client", cl.conn.Close()) // ends its upstreamLoop
		}
	}
}

// Stats returns a snapshot of the counters.
func (p *UDPProxy) Stats() Stats {
	p.mu.Lock()
	s := Stats{Clients: len(p.clients), Accepted: p.accepted}
	p.mu.Unlock()
	s.Up, s.Down = p.up.snapshot(), p.down.snapshot()
	return s
}

// Close stops the proxy, closes every socket and waits for its
// goroutines. Packets still queued are counted as DropClosed. Idempotent.
func (p *UDPProxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		clients := p.clients
		p.clients = map[netip.AddrPort]*udpClient{}
		p.mu.Unlock()
		close(p.done)
		err = p.front.Close()
		for _, cl := range clients {
			cl.gone.Store(true)
			logErr(p.log, "impair: udp close client", cl.conn.Close())
		}
		p.wg.Wait()
	})
	return err
}
