package impair

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// TCP chunking: a pump reads at most this much at a time, less when a
// bandwidth cap is set so that throttling stays smooth (about 10 ms of
// traffic per chunk).
const (
	maxChunk      = 32 << 10
	minChunk      = 512
	maxTCPQueue   = 1024 // chunks per direction, whatever MaxQueue says
	dialTimeout   = 5 * time.Second
	tcpStreamBase = 16 // random streams of TCP links: 16 + 2*conn (+1 for Down)
)

// TCPProxy forwards TCP connections to one server, delaying and
// throttling each direction. Chunks keep their order: jitter only spreads
// the gaps between them. Loss, reordering and duplication cannot be shown
// over TCP (the stack would retransmit, reorder back and deduplicate) and
// are refused.
type TCPProxy struct {
	cfg    Config
	log    *slog.Logger
	ln     net.Listener
	target string
	ctx    context.Context // cancelled by Close; bounds upstream dials
	cancel context.CancelFunc

	mu       sync.Mutex // guards the fields below
	conns    map[*tcpPair]struct{}
	accepted uint64
	up, down DirStats

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// tcpPair is one proxied connection.
type tcpPair struct {
	client, server net.Conn
	log            *slog.Logger
	once           sync.Once
}

func (t *tcpPair) close() {
	t.once.Do(func() {
		logErr(t.log, "impair: tcp close client side", t.client.Close())
		logErr(t.log, "impair: tcp close server side", t.server.Close())
	})
}

// NewTCPProxy listens on listenAddr and forwards every connection to
// targetAddr. A Config with loss, reordering or duplication returns an
// error matching ErrUnsupported: strip them with Config.ForTCP.
func NewTCPProxy(listenAddr, targetAddr string, cfg Config) (*TCPProxy, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	if err := cfg.checkTCP(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return nil, fmt.Errorf("impair: listen %q: %w", listenAddr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &TCPProxy{
		cfg: cfg, log: cfg.Logger, ln: ln, target: targetAddr,
		ctx: ctx, cancel: cancel,
		conns: make(map[*tcpPair]struct{}),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the client-facing address.
func (p *TCPProxy) Addr() net.Addr { return p.ln.Addr() }

func (p *TCPProxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Warn("impair: tcp accept", "err", err)
			select { // back off on errors such as EMFILE
			case <-p.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		p.mu.Lock()
		if p.ctx.Err() != nil {
			p.mu.Unlock()
			logErr(p.log, "impair: tcp close late connection", c.Close())
			return
		}
		n := p.accepted
		p.accepted++
		p.wg.Add(1)
		p.mu.Unlock()
		go p.handle(c, n)
	}
}

// handle dials the target and runs the two pumps of one connection.
func (p *TCPProxy) handle(client net.Conn, n uint64) {
	defer p.wg.Done()
	var d net.Dialer
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	server, err := d.DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		p.log.Debug("impair: tcp dial target", "target", p.target, "err", err)
		// The client sees the refusal as a closed stream.
		logErr(p.log, "impair: tcp close client", client.Close())
		return
	}
	for _, c := range []net.Conn{client, server} {
		if tc, ok := c.(*net.TCPConn); ok {
			logErr(p.log, "impair: tcp nodelay", tc.SetNoDelay(true))
		}
	}
	pair := &tcpPair{client: client, server: server, log: p.log}
	p.mu.Lock()
	if p.ctx.Err() != nil {
		p.mu.Unlock()
		pair.close()
		return
	}
	p.conns[pair] = struct{}{}
	p.mu.Unlock()

	seed := p.cfg.Seed
	upLink := NewLink(LinkConfig{Direction: p.cfg.Up, Seed: seed, Stream: tcpStreamBase + 2*n, InOrder: true})
	downLink := NewLink(LinkConfig{Direction: p.cfg.Down, Seed: seed, Stream: tcpStreamBase + 2*n + 1, InOrder: true})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(pair, client, server, upLink, &p.up) }()
	go func() { defer wg.Done(); p.pump(pair, server, client, downLink, &p.down) }()
	wg.Wait()
	pair.close()
	p.mu.Lock()
	delete(p.conns, pair)
	p.mu.Unlock()
}

// logErr logs a teardown error that changes nothing but may explain a
// test failure; closed sockets are expected and not logged.
func logErr(log *slog.Logger, msg string, err error) {
	if err != nil && !errors.Is(err, net.ErrClosed) {
		log.Debug(msg, "err", err)
	}
}

type chunk struct {
	data []byte
	due  time.Time
}

// pump copies src to dst through a Link: a reader stamps each chunk with
// its delivery time and queues it (blocking when the queue is full, which
// is TCP back-pressure); a writer waits for each chunk's time and writes
// it. When src ends cleanly dst is half-closed after the last chunk.
func (p *TCPProxy) pump(pair *tcpPair, src, dst net.Conn, link *Link, st *DirStats) {
	size := maxChunk
	if bps := link.d.BandwidthBps; bps > 0 {
		size = min(max(bps/100, minChunk), maxChunk)
	}
	queue := make(chan chunk, min(p.cfg.MaxQueue, maxTCPQueue))
	stop := make(chan struct{}) // closed by the writer when it gives up
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		defer close(stop)
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for c := range queue {
			if wait := time.Until(c.due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-p.ctx.Done():
					pair.close()
					return
				}
			}
			if _, err := dst.Write(c.data); err != nil {
				p.count(st, func(s *DirStats) { s.Dropped[DropWriteError]++; s.DroppedBytes += uint64(len(c.data)) })
				pair.close()
				return
			}
			p.count(st, func(s *DirStats) { s.Forwarded++; s.Bytes += uint64(len(c.data)) })
		}
		// src ended cleanly and everything was written: pass the EOF on.
		if tc, ok := dst.(*net.TCPConn); ok {
			logErr(p.log, "impair: tcp half-close", tc.CloseWrite())
		}
	}()

	for {
		buf := make([]byte, size)
		n, err := src.Read(buf)
		if n > 0 {
			v := link.Decide(time.Now(), n, len(queue))
			p.count(st, func(s *DirStats) { s.Packets++ })
			select {
			case queue <- chunk{data: buf[:n], due: v.At[0]}:
			case <-stop:
				wg.Wait()
				return
			}
		}
		if err != nil {
			close(queue)
			wg.Wait()
			return
		}
	}
}

func (p *TCPProxy) count(st *DirStats, f func(*DirStats)) {
	p.mu.Lock()
	f(st)
	p.mu.Unlock()
}

// Stats returns a snapshot of the counters (Packets counts chunks read).
func (p *TCPProxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Up: p.up, Down: p.down, Clients: len(p.conns), Accepted: p.accepted}
}

// Close stops accepting, closes every proxied connection and waits for
// all goroutines. Idempotent.
func (p *TCPProxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.cancel()
		pairs := make([]*tcpPair, 0, len(p.conns))
		for t := range p.conns {
			pairs = append(pairs, t)
		}
		p.mu.Unlock()
		err = p.ln.Close()
		for _, t := range pairs {
			t.close()
		}
		p.wg.Wait()
	})
	return err
}
