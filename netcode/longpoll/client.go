package longpoll

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// closeTimeout bounds the close record a client's Close sends.
const closeTimeout = 500 * time.Millisecond

// Retry backoff of a client request that failed on the network or was
// refused with server_busy; the client gives up after IdleTimeout without
// an answer.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = 250 * time.Millisecond
)

// maxErrorBody bounds the JSON error body a client reads.
const maxErrorBody = 4 << 10

// Dialer opens long-poll sessions: its Dial is what a client SDK takes as
// its dial function (client.Options.Dial).
type Dialer struct {
	// URL is the server's HTTP base URL ("http://127.0.0.1:7780").
	URL string
	// Token is the bearer token the open request presents (the session's
	// Hello presents it again).
	Token string
	// Config tunes the client end; the server's advertised limits cap it.
	Config Config
	// HTTPClient sends the requests (default: one of the Conn's own,
	// whose idle connections Close releases).
	HTTPClient *http.Client
	// TLSConfig verifies an https:// server when the Dialer brings no
	// HTTPClient (nil: the system roots).
	TLSConfig *tls.Config
}

var _ netcode.Conn = (*clientConn)(nil)

// clientConn is the client's end of a session. It owns two goroutines:
// the poller (recv requests, one at a time) and the sender (send
// requests, one at a time); Close ends both and waits for them.
type clientConn struct {
	pipe
	url    string // base URL of the session: .../v1/lp/{id}
	auth   string // "Bearer <secret>"
	hc     *http.Client
	own    *http.Transport // nil when the Dialer brought its client
	remote net.Addr

	wait                    time.Duration // the recv wait asked for
	batchFrames, batchBytes int           // within the server's limits
	respLimit               int64         // largest response body read

	ctx      context.Context // cancelled by Close: in-flight requests end
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	sendDone chan struct{} // closed when the sender has ended

	closeOnce sync.Once
	// Guarded by pipe.mu:
	lastHeard time.Time // the last answer from the server
	closing   bool      // a local close record waits to be sent
}

// Dial opens a session.
func (d Dialer) Dial(ctx context.Context) (netcode.Conn, error) {
	return netcode.AsConn(d.dial(ctx))
}

func (d Dialer) dial(ctx context.Context) (*clientConn, error) {
	cfg, err := d.Config.populate()
	if err != nil {
		return nil, err
	}
	if d.Token == "" {
		return nil, netcode.Errorf(netcode.CodeBadToken, "longpoll: no token")
	}
	base := strings.TrimRight(d.URL, "/")
	hc, own := d.HTTPClient, (*http.Transport)(nil)
	if hc == nil {
		own = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			TLSClientConfig:     d.TLSConfig,
		}
		hc = &http.Client{Transport: own}
	}
	fail := func(err error) (*clientConn, error) {
		if own != nil {
			own.CloseIdleConnections()
		}
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+Prefix+"open", nil)
	if err != nil {
		return fail(fmt.Errorf("longpoll: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+d.Token)
	resp, err := hc.Do(req)
	if err != nil {
		return fail(fmt.Errorf("longpoll: open: %w", netcode.TLSFailure(err)))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(responseError(resp))
	}
	var o OpenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&o); err != nil {
		return fail(netcode.Errorf(netcode.CodeBadFrame, "longpoll: open answer: %v", err))
	}
	if o.ID == "" || o.Secret == "" || o.MaxBatchFrames < 1 || o.MaxMessageSize < 1 || o.MaxBatchBytes < 1 ||
		o.MaxUnackedFrames < 1 || o.MaxUnackedBytes < 1 || o.MaxWaitMS < 0 {
		return fail(netcode.Errorf(netcode.CodeBadFrame, "longpoll: open answer without id, secret or limits"))
	}
	lim := cfg
	lim.MaxMessageSize = min(cfg.MaxMessageSize, o.MaxMessageSize)
	lim.MaxUnackedFrames = min(cfg.MaxUnackedFrames, o.MaxUnackedFrames)
	lim.MaxUnackedBytes = min(cfg.MaxUnackedBytes, o.MaxUnackedBytes)
	c := &clientConn{
		pipe:        newPipe(lim),
		url:         base + Prefix + o.ID,
		auth:        "Bearer " + o.Secret,
		hc:          hc,
		own:         own,
		remote:      urlAddr(base),
		wait:        min(cfg.MaxWait, time.Duration(o.MaxWaitMS)*time.Millisecond),
		batchFrames: min(cfg.MaxBatchFrames, o.MaxBatchFrames),
		batchBytes:  min(cfg.MaxBatchBytes, o.MaxBatchBytes),
		respLimit:   int64(max(cfg.MaxBatchBytes, o.MaxBatchBytes)),
		sendDone:    make(chan struct{}),
		lastHeard:   time.Now(),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.pollLoop()
	go c.sendLoop()
	return c, nil
}

// ReadMessage returns the next frame from the server; see netcode.Conn.
func (c *clientConn) ReadMessage() (netcode.Channel, []byte, error) { return c.readMessage() }

// WriteMessage queues a frame for the sender.
func (c *clientConn) WriteMessage(ch netcode.Channel, p []byte) error {
	return c.writeMessage(ch, p, func(err error) {
		c.shutdown(err, peerClose, netcode.CodeOf(err), err.Error())
	})
}

// Close sends a close record (best effort, bounded by 500 ms), ends both
// goroutines and releases the HTTP connections. Idempotent.
func (c *clientConn) Close(code netcode.Code, reason string) error {
	c.shutdown(netcode.ErrClosed, localClose, code, reason)
	return nil
}

func (c *clientConn) shutdown(cause error, local closer, code netcode.Code, reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		if c.closeLocked(cause, local) {
			c.pushCloseLocked(code, reason)
			c.closing = true
		}
		closing := c.closing
		c.mu.Unlock()
		if closing {
			t := time.NewTimer(closeTimeout)
			select {
			case <-c.sendDone:
			case <-t.C:
			}
			t.Stop()
		}
		c.cancel()
		c.wg.Wait()
		if c.own != nil {
			c.own.CloseIdleConnections()
		}
	})
}

// failLocked ends the session for err without telling the server (it
// refused us, vanished, or broke the protocol). The caller holds mu.
func (c *clientConn) failLocked(err error) {
	c.closeLocked(err, peerClose)
}

func (c *clientConn) fail(err error) {
	c.mu.Lock()
	c.failLocked(err)
	c.mu.Unlock()
}

// pollLoop asks for the server's frames, one recv at a time, with the
// ack of what it has; it waits while the received queue has no room for
// a batch.
func (c *clientConn) pollLoop() {
	defer c.wg.Done()
	var bo backoff
	var recs []record
	for {
		c.mu.Lock()
		for !c.closed && c.head < len(c.inq) && !c.inqFits(c.batchFrames, c.batchBytes) {
			sp := c.space
			c.mu.Unlock()
			select {
			case <-sp:
			case <-c.ctx.Done():
				return
			}
			c.mu.Lock()
		}
		if c.closed {
			c.mu.Unlock()
			return
		}
		ack := c.in.ack()
		c.mu.Unlock()
		u := c.url + "/recv?ack=" + strconv.FormatUint(uint64(ack), 10) + "&wait=" + strconv.FormatInt(c.wait.Milliseconds(), 10)
		body, err := c.do(http.MethodGet, u, nil)
		if err != nil {
			if c.retry(err, &bo) {
				continue
			}
			return
		}
		bo = 0
		var theirAck uint32
		theirAck, recs, err = decodeBatch(body, batchLimits{maxFrames: max(c.batchFrames, DefaultMaxBatchFrames), maxMessage: c.lim.MaxMessageSize}, recs)
		c.mu.Lock()
		c.lastHeard = time.Now()
		c.ctr.BytesRecv.Add(batchHeaderSize)
		if err == nil {
			err = c.ackLocked(theirAck)
		}
		var fresh []record
		if err == nil {
			fresh, err = c.in.fresh(recs)
		}
		if err != nil {
			c.failLocked(err)
			c.mu.Unlock()
			return
		}
		ce := c.deliverLocked(fresh)
		if ce != nil {
			c.closeLocked(ce, peerClose)
		}
		c.mu.Unlock()
		clear(recs)
		if ce != nil {
			return
		}
	}
}

// ackLocked applies the server's ack of our frames. The caller holds mu.
func (c *clientConn) ackLocked(ack uint32) error {
	freed, err := c.out.ack(ack)
	if err != nil {
		return &netcode.CodedError{Code: netcode.CodeBadFrame, Msg: "longpoll: server acked a frame never sent", Err: err}
	}
	if freed > 0 {
		broadcast(&c.space)
	}
	return nil
}

// sendLoop posts the outbox, one batch at a time: every frame not yet
// acknowledged, again after a failure (the server applies each sequence
// number once).
func (c *clientConn) sendLoop() {
	defer c.wg.Done()
	defer close(c.sendDone)
	var bo backoff
	for {
		c.mu.Lock()
		for !c.out.hasAfter(c.out.acked) {
			if c.closed && !c.closing || c.closing && c.out.len() == 0 {
				c.mu.Unlock()
				return
			}
			ch := c.changed
			c.mu.Unlock()
			select {
			case <-ch:
			case <-c.ctx.Done():
				return
			}
			c.mu.Lock()
		}
		if c.closed && !c.closing {
			c.mu.Unlock()
			return
		}
		body, _, _ := c.out.batch(c.in.ack(), c.out.acked, c.batchFrames, c.batchBytes)
		c.mu.Unlock()
		resp, err := c.do(http.MethodPost, c.url+"/send", body)
		if err != nil {
			if c.retry(err, &bo) {
				continue
			}
			return
		}
		bo = 0
		c.ctr.BytesSent.Add(uint64(len(body)))
		ack, recs, err := decodeBatch(resp, batchLimits{}, nil)
		c.mu.Lock()
		c.lastHeard = time.Now()
		if err == nil && len(recs) > 0 {
			err = netcode.Errorf(netcode.CodeBadFrame, "longpoll: records in a send answer")
		}
		if err == nil {
			err = c.ackLocked(ack)
		}
		if err != nil {
			c.failLocked(err)
			c.mu.Unlock()
			return
		}
		done := c.closing && c.out.len() == 0
		c.mu.Unlock()
		if done {
			return
		}
	}
}

// retry decides what a failed request means: the Conn is closing (stop),
// the server refused with a code (fail with it; server_busy is retried),
// or the network failed (retry after a backoff, until IdleTimeout has
// passed without an answer). It reports whether to try again.
func (c *clientConn) retry(err error, bo *backoff) bool {
	if c.ctx.Err() != nil {
		return false
	}
	var he *httpError
	if errors.As(err, &he) && he.code != netcode.CodeServerBusy {
		if he.status == http.StatusGone {
			c.fail(&netcode.CloseError{Code: he.code, Reason: he.msg})
		} else {
			c.fail(&netcode.CodedError{Code: he.code, Msg: "longpoll: server: " + he.msg})
		}
		return false
	}
	c.mu.Lock()
	heard := c.lastHeard
	c.mu.Unlock()
	if time.Since(heard) > c.lim.IdleTimeout {
		c.fail(idleError(c.lim.IdleTimeout))
		return false
	}
	t := time.NewTimer(bo.next())
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// do sends one request of the session and returns the body of a 200
// answer; a refusal is an *httpError.
func (c *clientConn) do(method, url string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.wait+c.lim.IdleTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", c.auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(resp)
	}
	return readBody(resp.Body, resp.ContentLength, c.respLimit)
}

// httpError is a refusal the server answered with a JSON error.
type httpError struct {
	status int
	code   netcode.Code
	msg    string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("longpoll: HTTP %d: %s (%d): %s", e.status, e.code, uint16(e.code), e.msg)
}

// responseError reads a refusal: the JSON error's code, or one made up
// from the status when the body is not ours (a proxy's page).
func responseError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)) // a cut body reads as not ours
	code, msg, ours := httpapi.ReadError(resp.StatusCode, b)
	if ours && resp.Request != nil && strings.HasSuffix(resp.Request.URL.Path, "/open") {
		return &netcode.CodedError{Code: code, Msg: msg}
	}
	return &httpError{status: resp.StatusCode, code: code, msg: msg}
}

// backoff doubles from minBackoff to maxBackoff.
type backoff time.Duration

func (b *backoff) next() time.Duration {
	d := min(max(time.Duration(*b)*2, minBackoff), maxBackoff)
	*b = backoff(d)
	return d
}

// Stats returns a snapshot of the counters.
func (c *clientConn) Stats() netcode.Stats { return c.stats() }

// Transport returns "longpoll".
func (c *clientConn) Transport() string { return transportName }

// LocalAddr has no socket to name: it is the routes' prefix.
func (c *clientConn) LocalAddr() net.Addr { return lpAddr{} }

// RemoteAddr is the server's base URL.
func (c *clientConn) RemoteAddr() net.Addr { return c.remote }

type urlAddr string

func (urlAddr) Network() string  { return "http" }
func (a urlAddr) String() string { return string(a) }
