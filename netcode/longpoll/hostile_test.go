package longpoll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// raw is a hand-written HTTP client of the protocol.
type raw struct {
	t      *testing.T
	url    string
	id     string
	secret string
}

// do sends one request; it returns the status and body.
func do(t *testing.T, method, url, auth string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// errOf decodes a JSON error body and checks its status and code.
func errOf(t *testing.T, status int, b []byte, wantStatus int, want netcode.Code) {
	t.Helper()
	require.Equal(t, wantStatus, status, "body %s", b)
	var e ErrorResponse
	require.NoError(t, json.Unmarshal(b, &e), "body %s", b)
	assert.Equal(t, want.String(), e.Error)
	assert.Equal(t, uint16(want), e.Code)
}

func openRaw(t *testing.T, s *server, token string) *raw {
	t.Helper()
	status, b := do(t, http.MethodPost, s.url+Prefix+"open", "Bearer "+token, nil)
	require.Equal(t, http.StatusOK, status, "%s", b)
	var o OpenResponse
	require.NoError(t, json.Unmarshal(b, &o))
	require.NotEmpty(t, o.ID)
	require.GreaterOrEqual(t, len(o.Secret), 40, "the secret carries 256 random bits")
	return &raw{t: t, url: s.url + Prefix + o.ID, id: o.ID, secret: o.Secret}
}

func (r *raw) send(body []byte) (int, []byte) {
	return do(r.t, http.MethodPost, r.url+"/send", "Bearer "+r.secret, body)
}

func (r *raw) recv(query string) (int, []byte) {
	return do(r.t, http.MethodGet, r.url+"/recv?"+query, "Bearer "+r.secret, nil)
}

// batch builds a send batch of reliable records seq first.. with bodies.
func batch(ack, first uint32, bodies ...string) []byte {
	b := appendBatchHeader(nil, ack)
	for i, body := range bodies {
		b = appendRecord(b, first+uint32(i), recReliable, []byte(body))
	}
	return b
}

// readN reads n messages from c within waitFor.
func readN(t *testing.T, in <-chan conntest.Msg, n int) []string {
	t.Helper()
	var out []string
	for range n {
		m := conntest.Recv(t, in, waitFor)
		require.NoError(t, m.Err)
		out = append(out, string(m.Data))
	}
	return out
}

// noMore checks that nothing else arrives: a marker written after the
// messages is the next one.
func noMore(t *testing.T, r *raw, in <-chan conntest.Msg, next uint32) {
	t.Helper()
	status, _ := r.send(batch(0, next, "marker"))
	require.Equal(t, http.StatusOK, status)
	m := conntest.Recv(t, in, waitFor)
	require.NoError(t, m.Err)
	require.Equal(t, "marker", string(m.Data), "a frame was applied twice")
}

// tokens accepts "good" only, as the engine's VerifyToken would.
func tokens(admitted *atomic.Int32) netcode.Env {
	return netcode.Env{
		VerifyToken: func(_ context.Context, tok string) error {
			if tok != "good" {
				return netcode.Errorf(netcode.CodeBadToken, "bad token")
			}
			return nil
		},
		Admit: func(net.Addr) error {
			admitted.Add(1)
			return nil
		},
	}
}

func TestOpenWithoutGoodTokenCreatesNothing(t *testing.T) {
	var admitted atomic.Int32
	s := startServer(t, tokens(&admitted), Config{})
	for name, tc := range map[string]struct {
		auth string
		code netcode.Code
	}{
		"missing":    {"", netcode.CodeNotAuthenticated},
		"bad":        {"Bearer nope", netcode.CodeBadToken},
		"not bearer": {"Basic Z29vZA==", netcode.CodeNotAuthenticated},
		"empty":      {"Bearer ", netcode.CodeNotAuthenticated},
	} {
		t.Run(name, func(t *testing.T) {
			status, b := do(t, http.MethodPost, s.url+Prefix+"open", tc.auth, nil)
			errOf(t, status, b, http.StatusUnauthorized, tc.code)
		})
	}
	st := s.ln.ListenerStats()
	assert.Zero(t, st.Sessions, "no state for a stranger")
	assert.Equal(t, uint64(1), st.Refused["bad_token"])
	assert.Equal(t, uint64(3), st.Refused["not_authenticated"])
	assert.Zero(t, admitted.Load(), "the token is checked before the caps")
	assert.Empty(t, s.ln.backlog)

	// The Go client gets the code.
	_, err := Dialer{URL: s.url, Token: "nope"}.Dial(ctxT(t))
	require.ErrorIs(t, err, netcode.CodeBadToken)

	// The server is healthy.
	openRaw(t, s, "good")
	assert.Equal(t, 1, s.ln.ListenerStats().Sessions)
}

func TestOpenCaps(t *testing.T) {
	t.Run("engine refuses", func(t *testing.T) {
		s := startServer(t, netcode.Env{Admit: func(net.Addr) error {
			return netcode.Errorf(netcode.CodeTooManySessions, "too many sessions from your address")
		}}, Config{})
		status, b := do(t, http.MethodPost, s.url+Prefix+"open", "Bearer x", nil)
		errOf(t, status, b, http.StatusServiceUnavailable, netcode.CodeTooManySessions)
		st := s.ln.ListenerStats()
		assert.Zero(t, st.Sessions)
		assert.Equal(t, uint64(1), st.Refused["too_many_sessions"])
	})
	t.Run("pending per address", func(t *testing.T) {
		s := startServer(t, netcode.Env{}, Config{MaxPendingPerIP: 2})
		openRaw(t, s, "a")
		openRaw(t, s, "a")
		status, b := do(t, http.MethodPost, s.url+Prefix+"open", "Bearer a", nil)
		errOf(t, status, b, http.StatusServiceUnavailable, netcode.CodeTooManySessions)
		assert.Equal(t, uint64(1), s.ln.ListenerStats().Refused["per_ip"])
		s.accept(t) // an accepted session no longer counts as pending
		openRaw(t, s, "a")
	})
	t.Run("global", func(t *testing.T) {
		s := startServer(t, netcode.Env{}, Config{MaxSessions: 2})
		openRaw(t, s, "a")
		openRaw(t, s, "a")
		status, b := do(t, http.MethodPost, s.url+Prefix+"open", "Bearer a", nil)
		errOf(t, status, b, http.StatusServiceUnavailable, netcode.CodeTooManySessions)
		assert.Equal(t, uint64(1), s.ln.ListenerStats().Refused["max_sessions"])
		assert.Equal(t, 2, s.ln.ListenerStats().Sessions)
	})
	t.Run("backlog", func(t *testing.T) {
		s := startServer(t, netcode.Env{}, Config{Backlog: 1})
		openRaw(t, s, "a")
		status, b := do(t, http.MethodPost, s.url+Prefix+"open", "Bearer a", nil)
		errOf(t, status, b, http.StatusServiceUnavailable, netcode.CodeServerBusy)
		assert.Equal(t, uint64(1), s.ln.ListenerStats().Refused["backlog"])
	})
	t.Run("closed", func(t *testing.T) {
		s := startServer(t, netcode.Env{}, Config{})
		r := openRaw(t, s, "a")
		require.NoError(t, s.ln.Close())
		status, b := do(t, http.MethodPost, s.url+Prefix+"open", "Bearer a", nil)
		errOf(t, status, b, http.StatusServiceUnavailable, netcode.CodeServerShutdown)
		// The session never accepted was closed with server_shutdown.
		status, b = r.recv("wait=0")
		require.Equal(t, http.StatusOK, status)
		_, recs, err := decodeBatch(b, batchLimits{maxFrames: 8, maxMessage: 64}, nil)
		require.NoError(t, err)
		require.Len(t, recs, 1)
		code, _, err := decodeClose(recs[0].body)
		require.NoError(t, err)
		assert.Equal(t, netcode.CodeServerShutdown, code)
	})
}

func TestStrangerCanDoNothing(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	r := openRaw(t, s, "a")
	sess := s.accept(t)
	in := conntest.Pump(t, sess)
	wrong := []struct{ method, url, auth string }{
		{http.MethodPost, r.url + "/send", "Bearer " + strings.Repeat("A", len(r.secret))},
		{http.MethodPost, r.url + "/send", ""},
		{http.MethodGet, r.url + "/recv", "Bearer " + r.secret[:len(r.secret)-1]},
		{http.MethodDelete, r.url, "Bearer x"},
		{http.MethodGet, s.url + Prefix + "nosuchid/recv", "Bearer " + r.secret},
	}
	for _, w := range wrong {
		status, b := do(t, w.method, w.url, w.auth, batch(0, 1, "evil"))
		errOf(t, status, b, http.StatusNotFound, netcode.CodeNotFound)
	}
	assert.Equal(t, uint64(len(wrong)), s.ln.ListenerStats().Drops["unauthenticated"])
	// The session is untouched: its first frame is the owner's.
	status, _ := r.send(batch(0, 1, "mine"))
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"mine"}, readN(t, in, 1))
}

func TestReplayedSendIsAppliedOnce(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	r := openRaw(t, s, "a")
	in := conntest.Pump(t, s.accept(t))
	for range 3 { // the same POST three times, as after lost answers
		status, b := r.send(batch(0, 1, "a", "b", "c"))
		require.Equal(t, http.StatusOK, status)
		ack, recs, err := decodeBatch(b, batchLimits{}, nil)
		require.NoError(t, err)
		assert.Equal(t, uint32(3), ack)
		assert.Empty(t, recs)
	}
	// A retry that overlaps and adds one.
	status, _ := r.send(batch(0, 2, "b", "c", "d"))
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"a", "b", "c", "d"}, readN(t, in, 4))
	noMore(t, r, in, 5)
}

func TestBadSequenceNumbersCloseTheSession(t *testing.T) {
	tests := map[string]struct {
		body   func() []byte
		status int
		code   netcode.Code
	}{
		"gap":           {func() []byte { return batch(0, 3, "x") }, http.StatusConflict, netcode.CodeBadRequest},
		"far future":    {func() []byte { return batch(0, 1<<31, "x") }, http.StatusConflict, netcode.CodeBadRequest},
		"zero":          {func() []byte { return batch(0, 0, "x") }, http.StatusBadRequest, netcode.CodeBadFrame},
		"not in a row":  {func() []byte { return appendRecord(batch(0, 1, "x"), 3, recReliable, nil) }, http.StatusBadRequest, netcode.CodeBadFrame},
		"ack ahead":     {func() []byte { return batch(9, 1, "x") }, http.StatusConflict, netcode.CodeBadRequest},
		"garbage":       {func() []byte { return []byte("GET / HTTP/1.1") }, http.StatusBadRequest, netcode.CodeBadFrame},
		"unknown type":  {func() []byte { return appendRecord(appendBatchHeader(nil, 0), 1, 9, nil) }, http.StatusBadRequest, netcode.CodeBadFrame},
		"short":         {func() []byte { return []byte{0} }, http.StatusBadRequest, netcode.CodeBadFrame},
		"frame too big": {func() []byte { return batch(0, 1, strings.Repeat("x", 1025)) }, http.StatusRequestEntityTooLarge, netcode.CodeFrameTooLarge},
		"too many":      {func() []byte { return batch(0, 1, "1", "2", "3", "4", "5") }, http.StatusRequestEntityTooLarge, netcode.CodeFrameTooLarge},
		"batch too big": {func() []byte { return append(batch(0, 1, "x"), make([]byte, 8000)...) }, http.StatusRequestEntityTooLarge, netcode.CodeFrameTooLarge},
	}
	cfg := Config{MaxMessageSize: 1024, MaxBatchFrames: 4, MaxBatchBytes: 4096}
	s := startServer(t, netcode.Env{}, cfg)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := openRaw(t, s, "a")
			in := conntest.Pump(t, s.accept(t))
			status, b := r.send(tc.body())
			errOf(t, status, b, tc.status, tc.code)
			m := conntest.Recv(t, in, waitFor)
			require.Error(t, m.Err)
			assert.Equal(t, tc.code, netcode.CodeOf(m.Err), "the engine learns why: %v", m.Err)
			status, b = r.recv("wait=0")
			errOf(t, status, b, http.StatusNotFound, netcode.CodeNotFound)
		})
	}
	st := s.ln.ListenerStats()
	assert.Zero(t, st.Sessions, "no state left")
	assert.Equal(t, uint64(8), st.Drops["malformed"])
	assert.Equal(t, uint64(3), st.Drops["too_large"])
	// The server is healthy.
	c, sess := s.dial(t, cfg), s.accept(t)
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("ok")))
	assert.Equal(t, []string{"ok"}, readN(t, conntest.Pump(t, sess), 1))
}

func TestRecvAckAheadAndBadQuery(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	r := openRaw(t, s, "a")
	sess := s.accept(t)
	status, b := r.recv("ack=x")
	errOf(t, status, b, http.StatusBadRequest, netcode.CodeBadRequest)
	status, b = r.recv("wait=-1")
	errOf(t, status, b, http.StatusBadRequest, netcode.CodeBadRequest)
	require.NoError(t, sess.WriteMessage(netcode.Reliable, []byte("one")))
	status, b = r.recv("ack=2")
	errOf(t, status, b, http.StatusConflict, netcode.CodeBadRequest)
	_, _, err := sess.ReadMessage()
	assert.ErrorIs(t, err, netcode.CodeBadRequest)
}

// A client that opens and never polls is closed after the idle timeout;
// nothing of it stays (TestMain checks goroutines).
func TestOpenedAndNeverPolled(t *testing.T) {
	cfg := Config{HeartbeatInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}
	s := startServer(t, netcode.Env{}, cfg)
	start := time.Now()
	r := openRaw(t, s, "a")
	sess := s.accept(t)
	in := conntest.Pump(t, sess)
	m := conntest.Recv(t, in, waitFor)
	require.ErrorIs(t, m.Err, netcode.ErrIdleTimeout)
	assert.Equal(t, netcode.CodeIdleTimeout, netcode.CodeOf(m.Err))
	assert.GreaterOrEqual(t, time.Since(start), cfg.IdleTimeout)
	st := s.ln.ListenerStats()
	assert.Zero(t, st.Sessions)
	assert.Equal(t, uint64(1), st.Refused["idle_timeout"])
	status, b := r.recv("wait=0")
	errOf(t, status, b, http.StatusNotFound, netcode.CodeNotFound)
}

// A held recv keeps the session alive past the idle timeout.
func TestPollingKeepsTheSession(t *testing.T) {
	cfg := Config{HeartbeatInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}
	c, sess := pair(t, cfg)
	in := conntest.Pump(t, sess)
	time.Sleep(3 * cfg.IdleTimeout) // the client polls with waits of IdleTimeout/2 meanwhile
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("still here")))
	assert.Equal(t, []string{"still here"}, readN(t, in, 1))
}

func TestSecondRecvReplacesTheFirst(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	r := openRaw(t, s, "a")
	sess := s.accept(t)
	first := make(chan []byte, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, r.url+"/recv?wait=5000", nil)
		req.Header.Set("Authorization", "Bearer "+r.secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- nil
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		first <- b
	}()
	// Wait until the first one is held.
	require.Eventually(t, func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.recvGen == 1
	}, waitFor, time.Millisecond)
	start := time.Now()
	second := make(chan []byte, 1)
	go func() {
		_, b := r.recv("wait=5000")
		second <- b
	}()
	select {
	case b := <-first:
		ack, recs, err := decodeBatch(b, batchLimits{maxFrames: 8, maxMessage: 64}, nil)
		require.NoError(t, err)
		assert.Zero(t, ack)
		assert.Empty(t, recs, "the replaced recv is answered at once, empty")
		assert.Less(t, time.Since(start), 4*time.Second)
	case <-time.After(waitFor):
		t.Fatal("the first recv was not released")
	}
	require.NoError(t, sess.WriteMessage(netcode.Reliable, []byte("to the second")))
	b := <-second
	_, recs, err := decodeBatch(b, batchLimits{maxFrames: 8, maxMessage: 64}, nil)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, "to the second", string(recs[0].body))
}

func TestSlowConsumerIsClosed(t *testing.T) {
	cfg := Config{MaxMessageSize: 1000, MaxBatchBytes: 2000, MaxUnackedFrames: 8, MaxBatchFrames: 8, MaxUnackedBytes: 4000, WriteTimeout: 100 * time.Millisecond}
	s := startServer(t, netcode.Env{}, cfg)
	r := openRaw(t, s, "a")
	sess := s.accept(t)
	var err error
	for i := 0; err == nil && i < 100; i++ {
		err = sess.WriteMessage(netcode.Reliable, make([]byte, 100))
	}
	require.ErrorIs(t, err, netcode.ErrWriteTimeout)
	assert.Equal(t, netcode.CodeSlowConsumer, netcode.CodeOf(err))
	assert.Equal(t, uint64(1), s.ln.ListenerStats().Refused["slow_consumer"])
	// Unreliable frames in a full window are dropped, not waited for.
	// The client, polling at last, gets the frames, then the close record.
	var got []record
	ack := uint32(0)
	for len(got) == 0 || got[len(got)-1].typ != recClose {
		status, b := r.recv("wait=0&ack=" + strconv.FormatUint(uint64(ack), 10))
		require.Equal(t, http.StatusOK, status)
		_, recs, err := decodeBatch(b, batchLimits{maxFrames: 8, maxMessage: 1000}, nil)
		require.NoError(t, err)
		require.NotEmpty(t, recs)
		got = append(got, recs...)
		ack = recs[len(recs)-1].seq
	}
	assert.Len(t, got, 9)
	code, _, err := decodeClose(got[8].body)
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeSlowConsumer, code)
	// Delivered: the session goes without lingering.
	require.Eventually(t, func() bool { return s.ln.ListenerStats().Sessions == 0 }, time.Second, time.Millisecond)
}

func TestUnreliableDropsOldestQueued(t *testing.T) {
	cfg := Config{MaxMessageSize: 100, MaxBatchBytes: 2000, MaxUnackedFrames: 4, MaxBatchFrames: 4, MaxUnackedBytes: 4000}
	s := startServer(t, netcode.Env{}, cfg)
	r := openRaw(t, s, "a")
	sess := s.accept(t)
	for i := range 10 {
		require.NoError(t, sess.WriteMessage(netcode.Unreliable, []byte{byte(i)}))
	}
	assert.Equal(t, uint64(6), sess.Stats().Drops[netcode.DropQueueFull])
	status, b := r.recv("wait=0")
	require.Equal(t, http.StatusOK, status)
	_, recs, err := decodeBatch(b, batchLimits{maxFrames: 8, maxMessage: 100}, nil)
	require.NoError(t, err)
	var got []byte
	for i, rec := range recs {
		assert.Equal(t, uint32(i+1), rec.seq, "numbers have no gap")
		got = append(got, rec.body...)
	}
	assert.Equal(t, []byte{6, 7, 8, 9}, got, "the newest survive")
}

func TestServerCloseReachesClient(t *testing.T) {
	c, sess := pair(t, Config{})
	in := conntest.Pump(t, c)
	require.NoError(t, sess.WriteMessage(netcode.Reliable, []byte("last words")))
	require.NoError(t, sess.Close(netcode.CodeRoomClosed, "bye"))
	assert.Equal(t, []string{"last words"}, readN(t, in, 1))
	m := conntest.Recv(t, in, waitFor)
	var ce *netcode.CloseError
	require.True(t, errors.As(m.Err, &ce), "%v", m.Err)
	assert.Equal(t, netcode.CodeRoomClosed, ce.Code)
	assert.Equal(t, "bye", ce.Reason)
	require.Eventually(t, func() bool { return sess.l.ListenerStats().Sessions == 0 }, waitFor, time.Millisecond,
		"the session goes once its close record is fetched")
}

// A request on a session the server closed is answered 410 with the
// close code, whatever that code's status in the API's table.
func TestSendOnClosedSessionIsGone(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	r := openRaw(t, s, "a")
	sess := s.accept(t)
	require.NoError(t, sess.Close(netcode.CodeServerShutdown, "bye"))
	status, b := r.send(batch(0, 1, "x"))
	errOf(t, status, b, http.StatusGone, netcode.CodeServerShutdown)
}

func TestLingeringCloseRecordExpires(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{CloseLinger: 50 * time.Millisecond})
	openRaw(t, s, "a")
	sess := s.accept(t)
	require.NoError(t, sess.Close(netcode.CodeOK, ""))
	assert.Equal(t, 1, s.ln.ListenerStats().Sessions)
	require.Eventually(t, func() bool { return s.ln.ListenerStats().Sessions == 0 }, waitFor, 5*time.Millisecond)
}

func TestDeleteCloses(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	r := openRaw(t, s, "a")
	in := conntest.Pump(t, s.accept(t))
	status, _ := do(t, http.MethodDelete, r.url+"?code=10&reason=leaving", "Bearer "+r.secret, nil)
	require.Equal(t, http.StatusNoContent, status)
	m := conntest.Recv(t, in, waitFor)
	var ce *netcode.CloseError
	require.True(t, errors.As(m.Err, &ce), "%v", m.Err)
	assert.Equal(t, netcode.CodeServerShutdown, ce.Code)
	assert.Equal(t, "leaving", ce.Reason)
	assert.Zero(t, s.ln.ListenerStats().Sessions)
}

// A client whose server vanished gives up after its idle timeout.
func TestClientIdleWhenServerGone(t *testing.T) {
	cfg := Config{HeartbeatInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}
	s := startServer(t, netcode.Env{}, cfg)
	c := s.dial(t, cfg)
	in := conntest.Pump(t, c)
	s.accept(t)
	// Refuse new connections first, then cut the open ones: the other way
	// round a poll may reconnect in between and keep the session alive.
	s.srv.Listener.Close()
	s.srv.CloseClientConnections()
	m := conntest.Recv(t, in, waitFor)
	require.ErrorIs(t, m.Err, netcode.ErrIdleTimeout)
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, Config{}.Validate())
	for name, c := range map[string]Config{
		"wait above half idle": {IdleTimeout: time.Second, MaxWait: 600 * time.Millisecond},
		"batch below message":  {MaxMessageSize: 10000, MaxBatchBytes: 5000},
		"window below batch":   {MaxBatchFrames: 10, MaxUnackedFrames: 5},
		"negative":             {WriteTimeout: -1},
		"message too big":      {MaxMessageSize: MaxMessageSizeLimit + 1},
	} {
		assert.ErrorIs(t, c.Validate(), ErrBadConfig, name)
	}
	var tr Transport
	_, err := tr.Listen(netcode.Env{})
	assert.ErrorIs(t, err, netcode.ErrNoHTTP)
}

// A batch that does not fit in the frames the engine has not read yet is
// refused with server_busy and nothing of it is applied; the same batch
// goes through once the engine has read.
func TestSendBusyWhenUnread(t *testing.T) {
	cfg := Config{MaxMessageSize: 100, MaxBatchFrames: 4, MaxUnackedFrames: 4, MaxBatchBytes: 1000, MaxUnackedBytes: 1000}
	s := startServer(t, netcode.Env{}, cfg)
	r := openRaw(t, s, "a")
	sess := s.accept(t)
	status, _ := r.send(batch(0, 1, "1", "2", "3", "4"))
	require.Equal(t, http.StatusOK, status)
	status, b := r.send(batch(0, 5, "5"))
	errOf(t, status, b, http.StatusServiceUnavailable, netcode.CodeServerBusy)
	assert.Equal(t, uint64(1), s.ln.ListenerStats().Refused["server_busy"])
	in := conntest.Pump(t, sess)
	assert.Equal(t, []string{"1", "2", "3", "4"}, readN(t, in, 4))
	status, _ = r.send(batch(0, 5, "5"))
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"5"}, readN(t, in, 1))
}
