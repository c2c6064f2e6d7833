package webrtc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// cutProxy forwards one client's UDP datagrams to a server and back, and
// drops everything the client sends while cut is set.
type cutProxy struct {
	front, back *net.UDPConn
	cut         atomic.Bool
	client      atomic.Pointer[net.UDPAddr]
	wg          sync.WaitGroup
}

func newCutProxy(t *testing.T, server string) *cutProxy {
	t.Helper()
	sa, err := net.ResolveUDPAddr("udp", server)
	require.NoError(t, err)
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	back, err := net.DialUDP("udp", nil, sa)
	require.NoError(t, err)
	p := &cutProxy{front: front, back: back}
	p.wg.Add(2)
	go func() { // client → server
		defer p.wg.Done()
		buf := make([]byte, 1<<16)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			p.client.Store(from)
			if !p.cut.Load() {
				_, _ = back.Write(buf[:n]) // a failed forward is a lost datagram
			}
		}
	}()
	go func() { // server → client
		defer p.wg.Done()
		buf := make([]byte, 1<<16)
		for {
			n, err := back.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if c := p.client.Load(); err == nil && c != nil {
				_, _ = front.WriteToUDP(buf[:n], c) // a failed forward is a lost datagram
			}
		}
	}()
	t.Cleanup(func() {
		_ = front.Close() // test teardown: the goroutines end on the close
		_ = back.Close()
		p.wg.Wait()
	})
	return p
}

// answerThrough rewrites the answer's candidates on the server's UDP port
// to the proxy's address, so that every datagram crosses the proxy.
type answerThrough struct{ server, proxy string }

func (a answerThrough) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // fully read
	if err != nil {
		return nil, err
	}
	_, sport, _ := net.SplitHostPort(a.server)
	ph, pp, _ := net.SplitHostPort(a.proxy)
	lines := strings.Split(string(b), "\r\n")
	out := lines[:0]
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "a=candidate:"); ok {
			f := strings.Fields(rest)
			if len(f) < 8 || f[5] != sport {
				continue
			}
			f[4], f[5] = ph, pp
			l = "a=candidate:" + strings.Join(f, " ")
		}
		out = append(out, l)
	}
	resp.Body = io.NopCloser(strings.NewReader(strings.Join(out, "\r\n")))
	return resp, nil
}

// The unreliable channel is maxRetransmits=0 on the wire: a message whose
// only transmission was lost never arrives, while reliable messages sent
// during the same outage do. (pion/datachannel before v1.6.4 never applied
// a negotiated channel's reliability parameters, which made the
// "unreliable" channel reliable and ordered.)
func TestUnreliableNotRetransmitted(t *testing.T) {
	s := listenT(t, Config{}, netcode.Env{}, nil)
	px := newCutProxy(t, s.l.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := Dial(ctx, Dialer{URL: s.url, Token: "tok", Config: Config{Logger: testLogger(t)},
		HTTPClient: answerThrough{server: s.l.Addr().String(), proxy: px.front.LocalAddr().String()}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
	require.Equal(t, px.front.LocalAddr().String(), c.RemoteAddr().String(), "the session crosses the proxy")
	srv := acceptT(t, s.l)

	msg := func(i uint32) []byte { return binary.BigEndian.AppendUint32(nil, i) }
	const lost = 20
	px.cut.Store(true)
	for i := range uint32(lost) {
		require.NoError(t, c.WriteMessage(netcode.Unreliable, msg(i)))
	}
	require.NoError(t, c.WriteMessage(netcode.Reliable, msg(lost))) // retransmitted once the path is back
	time.Sleep(20 * time.Millisecond)                               // the outage: every transmission above is dropped
	px.cut.Store(false)

	// Keep sending fresh unreliable messages until one arrives after the
	// reliable one: by then a retransmitting channel would have delivered
	// the lost ones (retransmissions go before new data).
	got := make(chan uint32, 1024)
	go func() {
		defer close(got)
		for {
			ch, b, err := srv.ReadMessage()
			if err != nil {
				return
			}
			if ch == netcode.Reliable {
				got <- 1 << 31
				continue
			}
			got <- binary.BigEndian.Uint32(b)
		}
	}()
	reliableSeen := false
	next := uint32(lost + 1)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitFor)
	for {
		select {
		case v := <-got:
			if v == 1<<31 {
				reliableSeen = true
				continue
			}
			require.GreaterOrEqual(t, v, uint32(lost), "unreliable message %d, sent during the outage, was retransmitted", v)
			if reliableSeen && v > lost {
				return
			}
		case <-tick.C:
			require.NoError(t, c.WriteMessage(netcode.Unreliable, msg(next)))
			next++
		case <-deadline:
			require.FailNow(t, "no unreliable message after the reliable one", "reliable seen %v", reliableSeen)
		}
	}
}

// A session runs no media interceptors (NACK, RTCP reports, TWCC): each
// would be a goroutine and buffers per PeerConnection for nothing.
func TestNoMediaInterceptors(t *testing.T) {
	c, srv, _ := pair(t, Config{})
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("x")))
	_, _, err := srv.ReadMessage()
	require.NoError(t, err)
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	require.NotContains(t, stacks, "github.com/pion/interceptor/")
}
