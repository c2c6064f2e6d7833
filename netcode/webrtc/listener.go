package webrtc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pion "github.com/pion/webrtc/v4"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// refusal names why the listener turned an offer or a session away; each
// has a counter in ListenerStats.Refused.
type refusal uint8

const (
	refUnauthenticated refusal = iota // no token, or VerifyToken refused it
	refTooManySessions                // env.Admit refused the client's address
	refPending                        // MaxPending offers and unopened sessions
	refPendingPerIP                   // MaxPendingPerIP for this client
	refBadOffer                       // not application/sdp, malformed SDP, or pion refused it
	refTooLarge                       // body above MaxOfferBytes
	refClosed                         // the listener is closed
	refConnectTimeout                 // channels not open within ConnectTimeout
	refFailed                         // ICE/DTLS/SCTP failed before the channels opened
	refBacklog                        // AcceptBacklog full
	numRefusals
)

var refusalNames = [numRefusals]string{"unauthenticated", "too_many_sessions", "pending", "pending_per_ip",
	"bad_offer", "too_large", "closed", "connect_timeout", "failed", "backlog"}

var (
	_ netcode.Listener              = (*Listener)(nil)
	_ netcode.Shutdowner            = (*Listener)(nil)
	_ netcode.ListenerStatsReporter = (*Listener)(nil)
)

// Listener answers offers on the HTTP server and accepts the resulting
// sessions, all on one UDP port.
type Listener struct {
	cfg   Config
	env   netcode.Env
	sock  net.PacketConn
	mux   *ice.UDPMuxDefault
	api   *pion.API
	certs certSource

	audioAPI *pion.API // Opus only: voice members' PeerConnections (audio.go)
	audio    audioCounters

	backlog    chan *Conn
	acceptDone chan struct{}

	mu          sync.Mutex // guards the fields below
	accepting   bool
	pending     int
	pendingByIP map[netip.Addr]int
	conns       map[*Conn]struct{} // every Conn not yet torn down
	audioPeers  map[*audioPeer]struct{}
	muxClosed   bool

	wg sync.WaitGroup // every Conn's lifecycle goroutine

	handshakes atomic.Uint64 // PeerConnections created
	accepted   atomic.Uint64
	refused    [numRefusals]atomic.Uint64
	drops      [netcode.NumDropReasons]atomic.Uint64
}

// listen opens the listener on sock (which it owns from now on) and
// mounts the offer route on env.HTTP.
func listen(sock net.PacketConn, cfg Config, env netcode.Env) (*Listener, error) {
	l := &Listener{
		cfg: cfg, env: env, sock: sock,
		backlog:     make(chan *Conn, cfg.AcceptBacklog),
		acceptDone:  make(chan struct{}),
		accepting:   true,
		pendingByIP: map[netip.Addr]int{},
		conns:       map[*Conn]struct{}{},
		audioPeers:  map[*audioPeer]struct{}{},
		certs:       certSource{fixed: cfg.Certificate},
	}
	if _, err := l.certs.get(time.Now()); err != nil {
		_ = sock.Close()
		return nil, err
	}
	logs := newPionLogs(cfg.Logger)
	l.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{
		Logger:  logs.NewLogger("udpmux"),
		UDPConn: sock,
		OnUnhandledPacket: func([]byte, netip.AddrPort) {
			l.drops[netcode.DropUnauthenticated].Add(1)
		},
	})
	loopback := false
	if ua, ok := sock.LocalAddr().(*net.UDPAddr); ok {
		loopback = ua.IP.IsLoopback()
	}
	se := settingEngine(cfg, logs, loopback)
	se.SetICEUDPMux(l.mux)
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(pion.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: pion.ICECandidateTypeHost, Mode: pion.ICEAddressRewriteReplace,
		}); err != nil {
			_ = l.mux.Close()
			return nil, fmt.Errorf("%w: PublicIPs: %w", ErrBadConfig, err)
		}
	}
	l.api = newAPI(se)
	audioAPI, err := newAudioAPI(se)
	if err != nil {
		_ = l.mux.Close()
		return nil, fmt.Errorf("webrtc: audio: %w", err)
	}
	l.audioAPI = audioAPI
	env.HTTP.Handle("POST "+OfferPath, http.HandlerFunc(l.serveOffer))
	return l, nil
}

// newAPI is a pion API for data channels only: no codecs and no
// interceptors. pion's defaults (NACK, RTCP reports, TWCC) would start
// four goroutines and hold their buffers in every PeerConnection, for
// media this transport never carries.
func newAPI(se pion.SettingEngine) *pion.API {
	return pion.NewAPI(pion.WithSettingEngine(se), pion.WithMediaEngine(&pion.MediaEngine{}),
		pion.WithInterceptorRegistry(&interceptor.Registry{}))
}

// settingEngine is the pion configuration both ends share.
func settingEngine(cfg Config, logs *pionLogs, loopback bool) pion.SettingEngine {
	var se pion.SettingEngine
	se.LoggerFactory = logs
	se.DetachDataChannels()
	disconnected, failed := cfg.iceTimeouts()
	se.SetICETimeouts(disconnected, failed, cfg.HeartbeatInterval)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(loopback)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4, pion.NetworkTypeUDP6})
	se.SetSCTPMaxMessageSize(uint32(cfg.MaxMessageSize + unreliableHeader))
	se.SetSCTPMaxReceiveBufferSize(uint32(cfg.ReceiveBuffer))
	se.SetSCTPRTOMax(cfg.SCTPRTOMax)
	return se
}

// refuse counts why and answers err (httpapi's body and status table).
func (l *Listener) refuse(w http.ResponseWriter, r *http.Request, why refusal, err error) {
	l.refused[why].Add(1)
	httpapi.WriteError(w, r, err)
}

// serveOffer is POST /v1/rtc/offer: token, caps and body are checked
// before a PeerConnection exists; the answer is sent once ICE gathering
// is complete (at once with the UDP mux).
func (l *Listener) serveOffer(w http.ResponseWriter, r *http.Request) {
	if !l.isAccepting() {
		l.refuse(w, r, refClosed, netcode.Errorf(netcode.CodeServerShutdown, "webrtc: the listener is closed"))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != SDPContentType {
		l.refuse(w, r, refBadOffer, netcode.Errorf(netcode.CodeBadRequest, "webrtc: Content-Type must be %s", SDPContentType))
		return
	}
	if r.ContentLength > int64(l.cfg.MaxOfferBytes) {
		l.refuse(w, r, refTooLarge, netcode.Errorf(netcode.CodeFrameTooLarge, "webrtc: offer above %d bytes", l.cfg.MaxOfferBytes))
		return
	}
	token, ok := httpapi.BearerToken(r)
	if !ok {
		l.refuse(w, r, refUnauthenticated, netcode.Errorf(netcode.CodeNotAuthenticated, "webrtc: Authorization: Bearer <token> required"))
		return
	}
	if l.env.VerifyToken != nil {
		if err := l.env.VerifyToken(r.Context(), token); err != nil {
			l.refuse(w, r, refUnauthenticated, err)
			return
		}
	}
	addr := l.env.RemoteAddr(r)
	if l.env.Admit != nil {
		if err := l.env.Admit(addr); err != nil {
			l.refuse(w, r, refTooManySessions, err)
			return
		}
	}
	ip, _ := netcode.AddrIP(addr) // the zero Addr: one key for all without an IP
	if ref, err := l.reserve(ip); err != nil {
		l.refuse(w, r, ref, err)
		return
	}
	unreserve := sync.OnceFunc(func() { l.unreserve(ip) })
	handed := false
	defer func() {
		if !handed {
			unreserve()
		}
	}()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(l.cfg.MaxOfferBytes)))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			l.refuse(w, r, refTooLarge, netcode.Errorf(netcode.CodeFrameTooLarge, "webrtc: offer above %d bytes", l.cfg.MaxOfferBytes))
			return
		}
		l.refuse(w, r, refBadOffer, netcode.Errorf(netcode.CodeBadRequest, "webrtc: reading the offer: %v", err))
		return
	}
	if err := validateOffer(body); err != nil {
		l.refuse(w, r, refBadOffer, err)
		return
	}
	c, answer, err := l.answer(r.Context(), string(body), addr, unreserve)
	if err != nil {
		if c != nil {
			handed = true // the Conn's teardown releases the slot
		}
		ref := refFailed
		switch netcode.CodeOf(err) {
		case netcode.CodeBadRequest:
			ref = refBadOffer
		case netcode.CodeServerShutdown:
			ref = refClosed
		}
		l.refuse(w, r, ref, err)
		return
	}
	handed = true
	w.Header().Set("Content-Type", SDPContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	if _, err := io.WriteString(w, answer); err != nil {
		l.cfg.Logger.Debug("webrtc: writing the answer", "remote", addr, "err", err)
	}
}

// answer creates the PeerConnection with the two negotiated channels and
// its Conn, applies the offer and returns the answer SDP. On error after
// the PeerConnection exists it returns the Conn, already failing (its
// lifecycle goroutine closes the PeerConnection and releases the slot).
func (l *Listener) answer(ctx context.Context, offer string, remote net.Addr, unreserve func()) (*Conn, string, error) {
	cert, err := l.certs.get(time.Now())
	if err != nil {
		return nil, "", err
	}
	pc, err := l.api.NewPeerConnection(pion.Configuration{Certificates: []pion.Certificate{cert}})
	if err != nil {
		return nil, "", fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	l.handshakes.Add(1)
	rel, unrel, err := createChannels(pc)
	if err != nil {
		if cerr := pc.GracefulClose(); cerr != nil {
			l.cfg.Logger.Debug("webrtc: close peer connection", "err", cerr)
		}
		return nil, "", err
	}
	l.mu.Lock()
	if !l.accepting {
		l.mu.Unlock()
		if cerr := pc.GracefulClose(); cerr != nil {
			l.cfg.Logger.Debug("webrtc: close peer connection", "err", cerr)
		}
		return nil, "", netcode.Errorf(netcode.CodeServerShutdown, "webrtc: the listener is closed")
	}
	c := newConn(pc, rel, unrel, l.cfg, l.sock.LocalAddr(), remote,
		func(c *Conn) error { unreserve(); return l.ready(c) },
		func(c *Conn) { unreserve(); l.released(c) }, &l.wg)
	l.conns[c] = struct{}{}
	l.mu.Unlock()

	fail := func(err error) (*Conn, string, error) {
		c.fail(err, silent, 0, "")
		return c, "", err
	}
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(netcode.Errorf(netcode.CodeBadRequest, "webrtc: offer refused: %v", err))
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(netcode.Errorf(netcode.CodeBadRequest, "webrtc: no answer to the offer: %v", err))
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return fail(fmt.Errorf("webrtc: set local description: %w", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(fmt.Errorf("webrtc: gathering: %w", ctx.Err()))
	case <-c.killed:
		return c, "", c.readCause()
	}
	return c, pc.LocalDescription().SDP, nil
}

// createChannels creates the two negotiated data channels on pc.
func createChannels(pc *pion.PeerConnection) (rel, unrel *pion.DataChannel, err error) {
	negotiated, unordered, zero := true, false, uint16(0)
	relID, unrelID := reliableID, unreliableID
	rel, err = pc.CreateDataChannel(reliableLabel, &pion.DataChannelInit{Negotiated: &negotiated, ID: &relID})
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: reliable channel: %w", err)
	}
	unrel, err = pc.CreateDataChannel(unreliableLabel, &pion.DataChannelInit{
		Negotiated: &negotiated, ID: &unrelID, Ordered: &unordered, MaxRetransmits: &zero})
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: unreliable channel: %w", err)
	}
	return rel, unrel, nil
}

// reserve takes a pending slot for ip, or says which cap refused it.
func (l *Listener) reserve(ip netip.Addr) (refusal, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !l.accepting:
		return refClosed, netcode.Errorf(netcode.CodeServerShutdown, "webrtc: the listener is closed")
	case l.pending >= l.cfg.MaxPending:
		return refPending, netcode.Errorf(netcode.CodeServerBusy, "webrtc: %d connections being set up", l.pending)
	case l.pendingByIP[ip] >= l.cfg.MaxPendingPerIP:
		return refPendingPerIP, netcode.Errorf(netcode.CodeTooManySessions, "webrtc: %d connections being set up from this address", l.pendingByIP[ip])
	}
	l.pending++
	l.pendingByIP[ip]++
	return 0, nil
}

func (l *Listener) unreserve(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending--
	if n := l.pendingByIP[ip] - 1; n > 0 {
		l.pendingByIP[ip] = n
	} else {
		delete(l.pendingByIP, ip)
	}
}

// ready hands an open Conn to Accept (on its lifecycle goroutine).
func (l *Listener) ready(c *Conn) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.accepting {
		l.refused[refClosed].Add(1)
		return netcode.Errorf(netcode.CodeServerShutdown, "webrtc: the listener is closed")
	}
	select {
	case l.backlog <- c:
		l.accepted.Add(1)
		return nil
	default:
		l.refused[refBacklog].Add(1)
		return netcode.Errorf(netcode.CodeServerBusy, "webrtc: accept backlog full")
	}
}

// released runs at the end of a Conn's teardown: it counts a session
// that never opened and closes the mux after the last session of a
// closed listener.
func (l *Listener) released(c *Conn) {
	if !c.isOpen() {
		cause := c.readCause()
		switch {
		case errors.Is(cause, ErrConnectTimeout):
			l.refused[refConnectTimeout].Add(1)
		case errors.Is(cause, netcode.ErrHandshake):
			l.refused[refFailed].Add(1)
		}
	}
	l.mu.Lock()
	delete(l.conns, c)
	last := !l.accepting && len(l.conns) == 0
	l.mu.Unlock()
	if last {
		l.closeMux()
	}
}

func (l *Listener) closeMux() {
	l.mu.Lock()
	if l.muxClosed {
		l.mu.Unlock()
		return
	}
	l.muxClosed = true
	l.mu.Unlock()
	if err := l.mux.Close(); err != nil {
		l.cfg.Logger.Debug("webrtc: close UDP mux", "err", err)
	}
}

func (l *Listener) isAccepting() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accepting
}

// Accept implements netcode.Listener.
func (l *Listener) Accept() (netcode.Conn, error) {
	c, err := l.AcceptWebRTC()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptWebRTC is Accept returning the concrete type.
func (l *Listener) AcceptWebRTC() (*Conn, error) {
	select {
	case c := <-l.backlog:
		return c, nil
	case <-l.acceptDone:
		return nil, netcode.ErrClosed
	}
}

// Close stops accepting: offers are refused with server_shutdown,
// sessions not yet open or waiting for Accept are closed. Accepted
// sessions stay open; the UDP port closes with the last of them (at once
// when none is left). Idempotent.
func (l *Listener) Close() error {
	l.mu.Lock()
	if !l.accepting {
		l.mu.Unlock()
		return nil
	}
	l.accepting = false
	close(l.acceptDone)
	var unopened []*Conn
	for c := range l.conns {
		if !c.isOpen() {
			unopened = append(unopened, c)
		}
	}
	empty := len(l.conns) == 0
	l.mu.Unlock()
	for {
		select {
		case c := <-l.backlog:
			c.fail(netcode.ErrClosed, tellPeer, netcode.CodeServerShutdown, "listener closed")
			continue
		default:
		}
		break
	}
	for _, c := range unopened {
		c.fail(fmt.Errorf("%w: webrtc: the listener closed", netcode.ErrClosed), silent, 0, "")
	}
	if empty {
		l.closeMux()
	}
	return nil
}

// Shutdown closes the listener and every session (telling each peer
// server_shutdown), closes the UDP port and waits for every session's
// goroutines, or ctx.
func (l *Listener) Shutdown(ctx context.Context) error {
	_ = l.Close()
	l.mu.Lock()
	conns := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.fail(netcode.ErrClosed, tellPeer, netcode.CodeServerShutdown, "server shutdown")
	}
	l.closeAudio()
	waited := make(chan struct{})
	go func() { // owned here: ends when the lifecycles end, which fail guarantees
		l.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		l.closeMux()
		return ctx.Err()
	}
	l.closeMux()
	return nil
}

// Addr is the UDP port every session shares.
func (l *Listener) Addr() net.Addr { return l.sock.LocalAddr() }

// SessionCount is the number of sessions open or being set up.
func (l *Listener) SessionCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// ListenerStats implements netcode.ListenerStatsReporter.
// HandshakesStarted counts PeerConnections created (offers that passed
// every check); Refused counts offers and sessions turned away by reason;
// Drops["unauthenticated"] counts datagrams on the UDP port that matched
// no session.
func (l *Listener) ListenerStats() netcode.ListenerStats {
	st := netcode.ListenerStats{
		Transport:         transportName,
		Addr:              l.Addr().String(),
		Sessions:          l.SessionCount(),
		HandshakesStarted: l.handshakes.Load(),
		Accepted:          l.accepted.Load(),
		Refused:           map[string]uint64{},
		Drops:             map[string]uint64{},
	}
	for i := range l.refused {
		st.Refused[refusalNames[i]] = l.refused[i].Load()
	}
	for i := range l.drops {
		st.Drops[netcode.DropReason(i).String()] = l.drops[i].Load()
	}
	st.IO = l.audio.snapshot()
	return st
}

// certSource is the DTLS certificate every PeerConnection presents: a
// configured one, or a generated one replaced every certRotate.
type certSource struct {
	fixed *pion.Certificate
	mu    sync.Mutex // guards cur and made
	cur   *pion.Certificate
	made  time.Time
}

const (
	certRotate   = 24 * time.Hour
	certValidity = 30 * 24 * time.Hour
)

func (s *certSource) get(now time.Time) (pion.Certificate, error) {
	if s.fixed != nil {
		return *s.fixed, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && now.Sub(s.made) < certRotate {
		return *s.cur, nil
	}
	cert, err := generateCertificate(now)
	if err != nil {
		return pion.Certificate{}, err
	}
	s.cur, s.made = cert, now
	return *cert, nil
}

// generateCertificate makes an ECDSA P-256 certificate valid certValidity.
func generateCertificate(now time.Time) (*pion.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("webrtc: certificate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("webrtc: certificate serial: %w", err)
	}
	cert, err := pion.NewCertificate(key, x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "tickwire"},
		Issuer:       pkix.Name{CommonName: "tickwire"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		Version:      2,
	})
	if err != nil {
		return nil, fmt.Errorf("webrtc: certificate: %w", err)
	}
	return cert, nil
}
