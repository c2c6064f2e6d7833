package webrtc

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	pion "github.com/pion/webrtc/v4"

	"github.com/tickwire/tickwire/netcode"
)

// HTTPDoer posts the offer (*http.Client is one).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

const (
	// maxAnswerBytes bounds the answer a client reads.
	maxAnswerBytes = 64 << 10
	// maxErrorBytes bounds a refusal's body a client reads.
	maxErrorBytes = 4 << 10
)

// Dial creates a PeerConnection with the two negotiated channels, posts
// its offer to d.URL + OfferPath with d.Token, applies the answer and
// returns once both channels are open, or ctx ends, or
// d.Config.ConnectTimeout passes. A refusal is a *netcode.CodedError with
// the server's code that matches netcode.ErrHandshake.
func Dial(ctx context.Context, d Dialer) (*Conn, error) {
	cfg, err := d.Config.populate()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: webrtc: URL %q is not an http(s) base URL", ErrBadConfig, d.URL)
	}
	endpoint := strings.TrimSuffix(u.String(), "/") + OfferPath
	loopback := isLoopbackHost(u.Hostname())
	logs := newPionLogs(cfg.Logger)
	se := settingEngine(cfg, logs, loopback)
	if loopback { // only loopback candidates: the server is on this host
		se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	pc, err := newAPI(se).NewPeerConnection(pion.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	rel, unrel, err := createChannels(pc)
	if err != nil {
		if cerr := pc.GracefulClose(); cerr != nil {
			cfg.Logger.Debug("webrtc: close peer connection", "err", cerr)
		}
		return nil, err
	}
	opened := make(chan struct{})
	c := newConn(pc, rel, unrel, cfg, nil, nil, func(c *Conn) error {
		c.local, c.remote = selectedPair(c.pc) // on the lifecycle goroutine, before Dial returns c
		close(opened)
		return nil
	}, nil, nil)
	fail := func(err error) (*Conn, error) {
		c.fail(err, silent, 0, "")
		<-c.shutDone
		return nil, err
	}

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(fmt.Errorf("%w: webrtc: create offer: %w", netcode.ErrHandshake, err))
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail(fmt.Errorf("%w: webrtc: set local description: %w", netcode.ErrHandshake, err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-c.killed:
		<-c.shutDone
		return nil, c.readCause()
	}
	answer, err := postOffer(ctx, d, endpoint, pc.LocalDescription().SDP)
	if err != nil {
		return fail(err)
	}
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: answer}); err != nil {
		return fail(fmt.Errorf("%w: webrtc: answer refused: %w", netcode.ErrHandshake, err))
	}
	select {
	case <-opened:
		return c, nil
	case <-c.killed:
		<-c.shutDone
		return nil, c.readCause()
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// postOffer sends the offer and returns the answer SDP.
func postOffer(ctx context.Context, d Dialer, endpoint, offer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
	if err != nil {
		return "", fmt.Errorf("%w: webrtc: %w", netcode.ErrHandshake, err)
	}
	req.Header.Set("Content-Type", SDPContentType)
	req.Header.Set("Authorization", "Bearer "+d.Token)
	req.Close = true // one request per Dial: leave no idle connection behind
	hc := d.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: webrtc: posting the offer: %w", netcode.ErrHandshake, netcode.TLSFailure(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes)) // a short body still decodes or says so
		return "", readError(resp.StatusCode, body)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return "", fmt.Errorf("%w: webrtc: reading the answer: %w", netcode.ErrHandshake, err)
	}
	if len(body) > maxAnswerBytes {
		return "", fmt.Errorf("%w: webrtc: answer above %d bytes", netcode.ErrHandshake, maxAnswerBytes)
	}
	return string(body), nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// selectedPair returns the UDP addresses of the selected ICE pair.
func selectedPair(pc *pion.PeerConnection) (local, remote net.Addr) {
	local, remote = &net.UDPAddr{}, &net.UDPAddr{}
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return local, remote
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return local, remote
	}
	return &net.UDPAddr{IP: net.ParseIP(pair.Local.Address), Port: int(pair.Local.Port)},
		&net.UDPAddr{IP: net.ParseIP(pair.Remote.Address), Port: int(pair.Remote.Port)}
}
