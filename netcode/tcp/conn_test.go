package tcp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

const waitFor = 5 * time.Second

func listen(t testing.TB, cfg Config) *Listener {
	t.Helper()
	ln, err := Listen("127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// acceptAsync accepts one Conn in the background.
func acceptAsync(ln *Listener) <-chan *Conn {
	out := make(chan *Conn, 1)
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			close(out)
			return
		}
		out <- c
	}()
	return out
}

func recvConn(t testing.TB, in <-chan *Conn) *Conn {
	t.Helper()
	select {
	case c, ok := <-in:
		require.True(t, ok, "accept failed")
		t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
		return c
	case <-time.After(waitFor):
		require.FailNow(t, "accept timed out")
	}
	return nil
}

// pair returns a dialed client Conn and the server's accepted Conn.
func pair(t testing.TB, cfg Config) (client, server *Conn) {
	t.Helper()
	ln := listen(t, cfg)
	acc := acceptAsync(ln)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := Dial(ctx, ln.Addr().String(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
	return c, recvConn(t, acc)
}

// rawPair returns a raw client socket and the server's Conn.
func rawPair(t *testing.T, cfg Config) (net.Conn, *Conn) {
	t.Helper()
	ln := listen(t, cfg)
	acc := acceptAsync(ln)
	raw, err := net.DialTimeout("tcp", ln.Addr().String(), waitFor)
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	return raw, recvConn(t, acc)
}

type readResult struct {
	ch   netcode.Channel
	data []byte
	err  error
}

func readAsync(c *Conn) <-chan readResult {
	out := make(chan readResult, 1)
	go func() {
		ch, b, err := c.ReadMessage()
		out <- readResult{ch, append([]byte(nil), b...), err}
	}()
	return out
}

func waitRead(t *testing.T, in <-chan readResult, timeout time.Duration) readResult {
	t.Helper()
	select {
	case r := <-in:
		return r
	case <-time.After(timeout):
		require.FailNow(t, "ReadMessage did not return")
	}
	return readResult{}
}

// readCloseRecord reads raw records until a close record and returns its
// code and reason, skipping heartbeats.
func readCloseRecord(t *testing.T, raw net.Conn) (netcode.Code, string) {
	t.Helper()
	require.NoError(t, raw.SetReadDeadline(time.Now().Add(waitFor)))
	rr := recordReader{r: raw, max: netcode.DefaultMaxMessageSize}
	for {
		typ, body, err := rr.next()
		require.NoError(t, err)
		if typ == recHeartbeat {
			continue
		}
		require.Equal(t, recClose, typ)
		code, reason, err := decodeClose(body)
		require.NoError(t, err)
		return code, reason
	}
}

func TestConformance(t *testing.T) {
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		c, s := pair(t, Config{})
		return c, s
	}, conntest.Options{})
}

func TestConformanceSmallMax(t *testing.T) {
	cfg := Config{MaxMessageSize: 5000}
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		c, s := pair(t, cfg)
		return c, s
	}, conntest.Options{MaxMessageSize: 5000})
}

func TestBadInputClosesWithCode(t *testing.T) {
	const maxSize = 4096
	hdr := func(length uint32, typ byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, length), typ)
	}
	tests := []struct {
		name     string
		input    []byte
		halfOpen bool // close the write side after sending
		code     netcode.Code
	}{
		{name: "Garbage", input: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), code: netcode.CodeFrameTooLarge},
		{name: "HugeLength", input: hdr(0xFFFFFFFF, recReliable), code: netcode.CodeFrameTooLarge},
		{name: "JustAboveLimit", input: hdr(maxSize+2, recReliable), code: netcode.CodeFrameTooLarge},
		{name: "ZeroLength", input: hdr(0, recReliable), code: netcode.CodeBadFrame},
		{name: "UnknownType", input: hdr(1, 9), code: netcode.CodeBadFrame},
		{name: "HeartbeatWithBody", input: append(hdr(3, recHeartbeat), 1, 2), code: netcode.CodeBadFrame},
		{name: "ShortClose", input: append(hdr(2, recClose), 1), code: netcode.CodeBadFrame},
		{name: "LongCloseReason", input: append(hdr(1+2+MaxCloseReason+1, recClose), make([]byte, 2+MaxCloseReason+1)...), code: netcode.CodeBadFrame},
		{name: "TruncatedBody", input: append(hdr(100, recReliable), "only a few bytes"...), halfOpen: true, code: netcode.CodeBadFrame},
		{name: "TruncatedHeader", input: []byte{0, 0, 0}, halfOpen: true, code: netcode.CodeBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, srv := rawPair(t, Config{MaxMessageSize: maxSize})
			// A valid message first: the Conn works until the bad record.
			_, err := raw.Write(appendRecord(nil, recReliable, []byte("hello")))
			require.NoError(t, err)
			_, err = raw.Write(tt.input)
			require.NoError(t, err)
			if tt.halfOpen {
				require.NoError(t, raw.(*net.TCPConn).CloseWrite())
			}

			r := waitRead(t, readAsync(srv), waitFor)
			require.NoError(t, r.err)
			assert.Equal(t, "hello", string(r.data))

			r = waitRead(t, readAsync(srv), waitFor)
			require.Error(t, r.err)
			var ce *netcode.CodedError
			require.ErrorAs(t, r.err, &ce)
			assert.Equal(t, tt.code, ce.Code, "error: %v", r.err)
			assert.Equal(t, tt.code, netcode.CodeOf(r.err))
			// Nothing was allocated for the bogus length.
			assert.LessOrEqual(t, cap(srv.rr.buf), maxSize)

			// The peer is told why, then the stream ends.
			code, _ := readCloseRecord(t, raw)
			assert.Equal(t, tt.code, code)
			_, err = raw.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF)

			// The error sticks; writes are refused.
			_, _, err = srv.ReadMessage()
			assert.Equal(t, r.err, err)
			assert.ErrorIs(t, srv.WriteMessage(netcode.Reliable, []byte("x")), netcode.ErrClosed)
			assert.Equal(t, uint64(1), srv.Stats().Drops[netcode.DropMalformed])
			assert.NoError(t, srv.Close(netcode.CodeOK, "idempotent"))
		})
	}
}

func TestPeerEndsStreamWithoutClose(t *testing.T) {
	raw, srv := rawPair(t, Config{})
	require.NoError(t, raw.Close())
	r := waitRead(t, readAsync(srv), waitFor)
	require.ErrorIs(t, r.err, netcode.ErrClosed)
	var ce *netcode.CloseError
	assert.False(t, errors.As(r.err, &ce), "no close record was sent")
}

func TestIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	raw, srv := rawPair(t, Config{IdleTimeout: idle, HeartbeatInterval: 50 * time.Millisecond})
	start := time.Now()
	r := waitRead(t, readAsync(srv), idle+waitFor)
	elapsed := time.Since(start)
	require.ErrorIs(t, r.err, netcode.ErrIdleTimeout)
	assert.Equal(t, netcode.CodeIdleTimeout, netcode.CodeOf(r.err))
	assert.GreaterOrEqual(t, elapsed, idle-10*time.Millisecond)
	assert.Less(t, elapsed, idle+2*time.Second)

	// The silent peer got heartbeats meanwhile, then a close record.
	code, _ := readCloseRecord(t, raw)
	assert.Equal(t, netcode.CodeIdleTimeout, code)
	assert.ErrorIs(t, srv.WriteMessage(netcode.Reliable, []byte("x")), netcode.ErrClosed)
}

func TestHeartbeatsKeepAnIdleConnOpen(t *testing.T) {
	cfg := Config{IdleTimeout: 250 * time.Millisecond, HeartbeatInterval: 40 * time.Millisecond}
	c, s := pair(t, cfg)
	cin, sin := readAsync(c), readAsync(s)
	// Wait until well past the idle timeout, measured by heartbeats received.
	// real sockets: synctest cannot see network I/O
	require.Eventually(t, func() bool {
		return c.Stats().BytesRecv >= 20*HeaderSize && s.Stats().BytesRecv >= 20*HeaderSize
	}, waitFor, 10*time.Millisecond)
	select {
	case r := <-cin:
		require.FailNow(t, "client read ended", "%v", r.err)
	case r := <-sin:
		require.FailNow(t, "server read ended", "%v", r.err)
	default:
	}
	// Data still flows, and heartbeats are not counted as messages.
	require.NoError(t, c.WriteMessage(netcode.Unreliable, []byte("still here")))
	r := waitRead(t, sin, waitFor)
	require.NoError(t, r.err)
	assert.Equal(t, netcode.Unreliable, r.ch)
	assert.Equal(t, "still here", string(r.data))
	assert.Equal(t, uint64(1), s.Stats().MessagesRecv)
	assert.Equal(t, uint64(1), c.Stats().MessagesSent)
	require.NoError(t, c.Close(netcode.CodeOK, "done"))
	r = waitRead(t, cin, waitFor)
	assert.ErrorIs(t, r.err, netcode.ErrClosed)
}

func TestWriteTimeoutWhenPeerDoesNotRead(t *testing.T) {
	raw, srv := rawPair(t, Config{WriteTimeout: 200 * time.Millisecond})
	_ = raw // never reads
	msg := make([]byte, 60<<10)
	var err error
	for i := 0; i < 5000 && err == nil; i++ { // socket buffers fill long before this
		err = srv.WriteMessage(netcode.Reliable, msg)
	}
	require.ErrorIs(t, err, netcode.ErrWriteTimeout)
	// The stream is unusable now: later writes fail the same way, the
	// reader unblocks with the cause, and Close does not hang.
	require.ErrorIs(t, srv.WriteMessage(netcode.Reliable, []byte("x")), netcode.ErrWriteTimeout)
	r := waitRead(t, readAsync(srv), waitFor)
	require.ErrorIs(t, r.err, netcode.ErrWriteTimeout)
	done := make(chan struct{})
	go func() { _ = srv.Close(netcode.CodeOK, ""); close(done) }()
	select {
	case <-done:
	case <-time.After(waitFor):
		require.FailNow(t, "Close hung")
	}
}

func TestCloseIsBoundedWhileAWriterIsBlocked(t *testing.T) {
	raw, srv := rawPair(t, Config{WriteTimeout: time.Minute})
	_ = raw // never reads
	writeErr := make(chan error, 1)
	go func() {
		msg := make([]byte, 60<<10)
		for {
			if err := srv.WriteMessage(netcode.Reliable, msg); err != nil {
				writeErr <- err
				return
			}
		}
	}()
	// Wait until the writer is stuck on full socket buffers.
	// real sockets: synctest cannot see network I/O
	require.Eventually(t, func() bool { return srv.Stats().BytesSent > 256<<10 }, waitFor, 5*time.Millisecond)
	start := time.Now()
	require.NoError(t, srv.Close(netcode.CodeServerShutdown, "bye"))
	assert.Less(t, time.Since(start), 3*time.Second)
	select {
	case err := <-writeErr:
		assert.ErrorIs(t, err, netcode.ErrClosed)
	case <-time.After(waitFor):
		require.FailNow(t, "blocked writer not released")
	}
}

func TestCloseReasonTruncated(t *testing.T) {
	c, s := pair(t, Config{})
	long := string(bytes.Repeat([]byte("é"), 100)) // 200 bytes
	require.NoError(t, c.Close(netcode.CodeBadRequest, long))
	r := waitRead(t, readAsync(s), waitFor)
	var ce *netcode.CloseError
	require.ErrorAs(t, r.err, &ce)
	assert.Equal(t, netcode.CodeBadRequest, ce.Code)
	assert.LessOrEqual(t, len(ce.Reason), MaxCloseReason)
	assert.Equal(t, long[:len(ce.Reason)], ce.Reason)
	assert.Equal(t, 0, len(ce.Reason)%2, "cut inside a rune")
}

func TestListenerCloseStopsAccept(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", Config{})
	require.NoError(t, err)
	errs := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		assert.Nil(t, c)
		errs <- err
	}()
	require.NoError(t, ln.Close())
	require.NoError(t, ln.Close())
	select {
	case err := <-errs:
		assert.ErrorIs(t, err, netcode.ErrClosed)
	case <-time.After(waitFor):
		require.FailNow(t, "Accept did not return")
	}
}

func TestDialFailsAndHonoursContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = Dial(context.Background(), addr, Config{})
	require.Error(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Dial(ctx, addr, Config{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"Zero", Config{}, true},
		{"Custom", Config{MaxMessageSize: 100, HeartbeatInterval: time.Millisecond, IdleTimeout: time.Second, WriteTimeout: time.Second}, true},
		{"LongHeartbeatStretchesDefaultIdle", Config{HeartbeatInterval: time.Minute}, true},
		{"NegativeMax", Config{MaxMessageSize: -1}, false},
		{"HugeMax", Config{MaxMessageSize: MaxMessageSizeLimit + 1}, false},
		{"NegativeHeartbeat", Config{HeartbeatInterval: -1}, false},
		{"NegativeIdle", Config{IdleTimeout: -1}, false},
		{"NegativeWrite", Config{WriteTimeout: -1}, false},
		{"IdleBelowHeartbeat", Config{HeartbeatInterval: time.Second, IdleTimeout: time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBadConfig)
			_, err = Listen("127.0.0.1:0", tt.cfg)
			require.ErrorIs(t, err, ErrBadConfig)
			_, err = Dial(context.Background(), "127.0.0.1:1", tt.cfg)
			require.ErrorIs(t, err, ErrBadConfig)
		})
	}
	p, err := Config{}.populate()
	require.NoError(t, err)
	assert.Equal(t, netcode.DefaultMaxMessageSize, p.MaxMessageSize)
	assert.Equal(t, DefaultHeartbeatInterval, p.HeartbeatInterval)
	assert.Equal(t, DefaultIdleTimeout, p.IdleTimeout)
	assert.Equal(t, DefaultWriteTimeout, p.WriteTimeout)
	assert.NotNil(t, p.Logger)
}

func TestNewConnWrapsAStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			acc <- nc
		}
		close(acc)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	var snc net.Conn
	select {
	case snc = <-acc:
		require.NotNil(t, snc)
	case <-time.After(waitFor):
		require.FailNow(t, "accept timed out")
	}
	// An invalid config falls back to defaults rather than failing.
	c := NewConn(nc, Config{MaxMessageSize: -5})
	s := NewConn(snc, Config{})
	defer c.Close(netcode.CodeOK, "")
	defer s.Close(netcode.CodeOK, "")
	assert.Equal(t, netcode.DefaultMaxMessageSize, c.cfg.MaxMessageSize)
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("wrapped")))
	r := waitRead(t, readAsync(s), waitFor)
	require.NoError(t, r.err)
	assert.Equal(t, "wrapped", string(r.data))
	assert.Equal(t, "tcp", s.Transport())
	assert.Equal(t, c.LocalAddr().String(), s.RemoteAddr().String())
}

// Every Close returns with the Conn fully closed, also a Close that runs
// while another one is still under way: none returns before the heartbeat
// goroutine has ended (goleak in TestMain would see it otherwise).
func TestConcurrentCloseWaitsForTheFirst(t *testing.T) {
	for range 20 {
		c, s := pair(t, Config{HeartbeatInterval: time.Millisecond, IdleTimeout: time.Second})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, c.Close(netcode.CodeOK, "racing closes"))
				select {
				case <-c.done:
				default:
					t.Error("Close returned before the Conn was closed")
				}
				select {
				case <-c.shutDone:
				default:
					t.Error("Close returned before the first Close had finished")
				}
			}()
		}
		wg.Wait()
		require.NoError(t, s.Close(netcode.CodeOK, ""))
	}
}

// Both ends read the kernel's RTT of their socket through RTT, not Stats
// (a scrape of every session's Stats makes no system call).
func TestRTTNotInStats(t *testing.T) {
	c, s := pair(t, Config{})
	conntest.Exchange(t, c, s, waitFor)
	conntest.CheckRTTer(t, c, waitFor)
	conntest.CheckRTTer(t, s, waitFor)
}
