package longpoll

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// cutter is an http.RoundTripper that cuts every n-th successful send
// answer, and every n-th recv answer that carries records, half way: it
// reads half the body, closes the connection under it and hands the
// client half a body that ends in io.ErrUnexpectedEOF, as when a
// connection breaks mid-response. The server has done its part: it applied
// the batch or wrote the frames.
type cutter struct {
	rt               http.RoundTripper
	every            int64
	n                atomic.Int64
	cutRecv, cutSend atomic.Int64
}

func (c *cutter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	recv := strings.HasSuffix(req.URL.Path, "/recv")
	send := strings.HasSuffix(req.URL.Path, "/send")
	if !recv && !send || recv && resp.ContentLength <= batchHeaderSize || c.n.Add(1)%c.every != 0 {
		return resp, nil
	}
	half := make([]byte, resp.ContentLength/2)
	if _, err := io.ReadFull(resp.Body, half); err != nil {
		return nil, err
	}
	resp.Body.Close() // unread bytes: the transport drops the connection
	if recv {
		c.cutRecv.Add(1)
	} else {
		c.cutSend.Add(1)
	}
	resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(half), failingReader{}))
	return resp, nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// checkStream reads from in until it has n reliable messages "<tag>r<i>"
// in order, each once, and checks that unreliable ones "<tag>u<i>" come
// each at most once, in order.
func checkStream(t *testing.T, in <-chan conntest.Msg, tag string, n int) {
	t.Helper()
	nextR, lastU := 0, -1
	for nextR < n {
		m := conntest.Recv(t, in, waitFor)
		require.NoError(t, m.Err)
		var i int
		switch m.Ch {
		case netcode.Reliable:
			_, err := fmt.Sscanf(string(m.Data), tag+"r%d", &i)
			require.NoError(t, err)
			require.Equal(t, nextR, i, "reliable frame lost or duplicated")
			nextR++
		case netcode.Unreliable:
			_, err := fmt.Sscanf(string(m.Data), tag+"u%d", &i)
			require.NoError(t, err)
			require.Greater(t, i, lastU, "unreliable frame duplicated or stale")
			lastU = i
		}
	}
}

// Responses cut mid-way in both directions lose no frame and duplicate
// none: the client asks again with its old ack and gets the same frames,
// and posts the same batch again, which the server applies once.
func TestLostResponsesLoseAndDuplicateNothing(t *testing.T) {
	cfg := Config{MaxBatchFrames: 8}
	s := startServer(t, netcode.Env{}, cfg)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cut := &cutter{rt: tr, every: 3}
	c, err := Dialer{URL: s.url, Token: "tok", Config: cfg, HTTPClient: &http.Client{Transport: cut}}.dial(ctxT(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
	sess := s.accept(t)
	cin, sin := conntest.Pump(t, c), conntest.Pump(t, sess)

	const n = 300
	var wg sync.WaitGroup
	write := func(conn netcode.Conn, tag string) {
		defer wg.Done()
		for i := range n {
			if err := conn.WriteMessage(netcode.Unreliable, fmt.Appendf(nil, "%su%d", tag, i)); err != nil {
				t.Errorf("write: %v", err)
				return
			}
			if err := conn.WriteMessage(netcode.Reliable, fmt.Appendf(nil, "%sr%d", tag, i)); err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
	}
	wg.Add(2)
	go write(sess, "s")
	go write(c, "c")
	checkStream(t, cin, "s", n)
	checkStream(t, sin, "c", n)
	wg.Wait()
	t.Logf("cut %d recv and %d send answers", cut.cutRecv.Load(), cut.cutSend.Load())
	assert.Positive(t, cut.cutRecv.Load(), "no recv answer was cut")
	assert.Positive(t, cut.cutSend.Load(), "no send answer was cut")
}
