package webrtc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// The SFU side of voice rooms (docs/VOICE.md, "Browsers and the SFU"):
// a second PeerConnection per browser member, on the same UDP port as
// the data channels, carrying Opus RTP only. The browser sends one track;
// the server sends AudioSlots tracks, one per concurrent speaker.

// Defaults of the audio links.
const (
	// DefaultAudioSlots is K, the number of server tracks a browser
	// receives: at most this many members are heard at once.
	DefaultAudioSlots = 4
	// DefaultAudioQueue bounds the frames waiting for one browser's
	// writer; a full queue drops the new frame (counted).
	DefaultAudioQueue = 64

	opusPayloadType = 111
)

var _ netcode.AudioAnswerer = (*Listener)(nil)

// audioCounters are the listener's audio counters (ListenerStats.IO and
// Refused).
type audioCounters struct {
	links      atomic.Int64  // open now
	tracks     atomic.Int64  // the open links' outgoing audio tracks (slots), summed
	opened     atomic.Uint64 // answered
	rtpIn      atomic.Uint64 // RTP packets read from browsers
	rtpOut     atomic.Uint64 // RTP packets written to browsers
	queueFull  atomic.Uint64 // frames dropped: the browser's queue was full
	noSlot     atomic.Uint64 // frames dropped: every slot held a recent speaker
	writeError atomic.Uint64 // frames pion refused to write
}

// newAudioAPI is a pion API for Opus audio only: one codec and no
// interceptors (no NACK, no TWCC: a lost voice packet is concealed by the
// decoder, never resent).
func newAudioAPI(se pion.SettingEngine) (*pion.API, error) {
	me := &pion.MediaEngine{}
	if err := me.RegisterCodec(pion.RTPCodecParameters{
		RTPCodecCapability: opusCapability, PayloadType: opusPayloadType,
	}, pion.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	return pion.NewAPI(pion.WithSettingEngine(se), pion.WithMediaEngine(me),
		pion.WithInterceptorRegistry(&interceptor.Registry{})), nil
}

var opusCapability = pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	SDPFmtpLine: "minptime=10;useinbandfec=1"}

// audioOut is one frame queued for a browser.
type audioOut struct {
	member, seq, ts uint32
	n               int
	buf             [frame.MaxVoicePayload]byte
}

// audioPeer is one browser member's audio PeerConnection.
type audioPeer struct {
	l      *Listener
	pc     *pion.PeerConnection
	slots  []*pion.TrackLocalStaticRTP
	member netcode.AudioMember
	q      chan *audioOut
	free   chan *audioOut // recycled buffers
	kill   chan struct{}
	once   sync.Once

	mu      sync.Mutex // guards the fields below
	closing bool
	readers sync.WaitGroup
}

// AnswerAudio implements netcode.AudioAnswerer: it answers a browser's
// audio offer (one sendrecv audio m-line carrying the microphone, then
// recvonly ones; AudioSlots audio m-lines in all) and bridges the link
// to m until either side closes it.
func (l *Listener) AnswerAudio(ctx context.Context, offer []byte, remote net.Addr, m netcode.AudioMember) (netcode.AudioLink, string, error) {
	if !l.isAccepting() {
		return nil, "", netcode.Errorf(netcode.CodeServerShutdown, "webrtc: the listener is closed")
	}
	if len(offer) > l.cfg.MaxOfferBytes {
		return nil, "", netcode.Errorf(netcode.CodeFrameTooLarge, "webrtc: offer above %d bytes", l.cfg.MaxOfferBytes)
	}
	k, err := validateAudioOffer(offer, l.cfg.AudioSlots)
	if err != nil {
		return nil, "", err
	}
	ip, _ := netcode.AddrIP(remote)
	if _, err := l.reserve(ip); err != nil {
		return nil, "", err
	}
	unreserve := sync.OnceFunc(func() { l.unreserve(ip) })
	cert, err := l.certs.get(time.Now())
	if err != nil {
		unreserve()
		return nil, "", err
	}
	pc, err := l.audioAPI.NewPeerConnection(pion.Configuration{Certificates: []pion.Certificate{cert}})
	if err != nil {
		unreserve()
		return nil, "", fmt.Errorf("webrtc: new audio peer connection: %w", err)
	}
	p := &audioPeer{l: l, pc: pc, member: m, kill: make(chan struct{}),
		q: make(chan *audioOut, l.cfg.AudioQueue), free: make(chan *audioOut, l.cfg.AudioQueue)}
	for i := range k {
		tr, err := pion.NewTrackLocalStaticRTP(opusCapability, fmt.Sprintf("slot%d", i), "tickwire-voice")
		if err == nil {
			_, err = pc.AddTrack(tr)
		}
		if err != nil {
			unreserve()
			_ = pc.Close()
			return nil, "", fmt.Errorf("webrtc: audio slot: %w", err)
		}
		p.slots = append(p.slots, tr)
	}
	connected := make(chan struct{})
	var connOnce sync.Once
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		switch s {
		case pion.PeerConnectionStateConnected:
			connOnce.Do(func() { close(connected) })
		case pion.PeerConnectionStateFailed, pion.PeerConnectionStateClosed, pion.PeerConnectionStateDisconnected:
			_ = p.Close()
		}
	})
	pc.OnTrack(p.read)
	l.mu.Lock()
	if !l.accepting {
		l.mu.Unlock()
		unreserve()
		_ = pc.Close()
		return nil, "", netcode.Errorf(netcode.CodeServerShutdown, "webrtc: the listener is closed")
	}
	l.audioPeers[p] = struct{}{}
	l.wg.Add(2)
	l.mu.Unlock()
	l.audio.links.Add(1)
	l.audio.tracks.Add(int64(len(p.slots)))
	go p.run(connected, unreserve)
	go p.write()

	fail := func(err error) (netcode.AudioLink, string, error) {
		_ = p.Close()
		return nil, "", err
	}
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return fail(netcode.Errorf(netcode.CodeBadRequest, "webrtc: audio offer refused: %v", err))
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(netcode.Errorf(netcode.CodeBadRequest, "webrtc: no answer to the audio offer: %v", err))
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return fail(fmt.Errorf("webrtc: set local description: %w", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(fmt.Errorf("webrtc: gathering: %w", ctx.Err()))
	case <-p.kill:
		return nil, "", netcode.Errorf(netcode.CodeServerShutdown, "webrtc: audio link closed")
	}
	l.audio.opened.Add(1)
	return p, pc.LocalDescription().SDP, nil
}

// run is the link's lifecycle: it waits for ICE within ConnectTimeout,
// then for the end, and tears everything down.
func (p *audioPeer) run(connected <-chan struct{}, unreserve func()) {
	defer p.l.wg.Done()
	t := time.NewTimer(p.l.cfg.ConnectTimeout)
	select {
	case <-connected:
	case <-t.C:
		_ = p.Close()
	case <-p.kill:
	}
	t.Stop()
	unreserve()
	<-p.kill
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	if err := p.pc.Close(); err != nil {
		p.l.cfg.Logger.Debug("webrtc: close audio peer connection", "err", err)
	}
	p.readers.Wait()
	p.l.mu.Lock()
	delete(p.l.audioPeers, p)
	p.l.mu.Unlock()
	p.l.audio.links.Add(-1)
	p.l.audio.tracks.Add(-int64(len(p.slots)))
	p.member.Closed()
}

// read forwards one remote track's RTP to the member (pion's OnTrack
// goroutine; the lifecycle waits for it).
func (p *audioPeer) read(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return
	}
	p.readers.Add(1)
	p.mu.Unlock()
	defer p.readers.Done()
	if tr.Kind() != pion.RTPCodecTypeAudio || tr.Codec().MimeType != pion.MimeTypeOpus {
		return
	}
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var ext extSeq
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) == 0 {
			continue
		}
		p.l.audio.rtpIn.Add(1)
		p.member.Media(ext.extend(pkt.SequenceNumber), pkt.Timestamp, pkt.Payload)
	}
}

// extSeq extends 16-bit RTP sequence numbers to 32 bits (RFC 3550
// A.1's cycle count).
type extSeq struct {
	started bool
	cycles  uint32
	max     uint16
}

func (e *extSeq) extend(s uint16) uint32 {
	if !e.started {
		e.started, e.max = true, s
		return uint32(s)
	}
	d := int16(s - e.max)
	switch {
	case d > 0:
		if s < e.max {
			e.cycles += 1 << 16
		}
		e.max = s
		return e.cycles | uint32(s)
	case s > e.max: // a late packet from before the last wrap
		return (e.cycles - 1<<16) | uint32(s)
	}
	return e.cycles | uint32(s)
}

// Forward implements netcode.AudioLink: it copies the frame into the
// bounded queue, or drops it (counted queue_full).
func (p *audioPeer) Forward(member, seq, ts uint32, payload []byte) bool {
	if len(payload) > frame.MaxVoicePayload {
		return false
	}
	var o *audioOut
	select {
	case o = <-p.free:
	default:
		o = new(audioOut)
	}
	o.member, o.seq, o.ts, o.n = member, seq, ts, copy(o.buf[:], payload)
	select {
	case p.q <- o:
		return true
	default:
		p.l.audio.queueFull.Add(1)
		return false
	}
}

// write owns the slot table: it maps each queued frame to a slot and
// writes it as RTP.
func (p *audioPeer) write() {
	defer p.l.wg.Done()
	tab := newSlotTable(len(p.slots), slotHold)
	var pkt rtp.Packet
	for {
		select {
		case <-p.kill:
			return
		case o := <-p.q:
			slot, ok := tab.route(time.Now(), o.member, o.seq, o.ts, &pkt.Header)
			if !ok {
				p.l.audio.noSlot.Add(1)
			} else {
				pkt.Payload = o.buf[:o.n]
				if err := p.slots[slot].WriteRTP(&pkt); err != nil && !errors.Is(err, net.ErrClosed) {
					p.l.audio.writeError.Add(1)
				} else if err == nil {
					p.l.audio.rtpOut.Add(1)
				}
				pkt.Payload = nil
			}
			select {
			case p.free <- o:
			default:
			}
		}
	}
}

// Close implements netcode.AudioLink: the lifecycle goroutine closes the
// PeerConnection and tells the member. Idempotent, never blocks.
func (p *audioPeer) Close() error {
	p.once.Do(func() { close(p.kill) })
	return nil
}

// closeAudio closes every audio link (Shutdown).
func (l *Listener) closeAudio() {
	l.mu.Lock()
	peers := make([]*audioPeer, 0, len(l.audioPeers))
	for p := range l.audioPeers {
		peers = append(peers, p)
	}
	l.mu.Unlock()
	for _, p := range peers {
		_ = p.Close()
	}
}

// snapshot is the audio counters as ListenerStats.IO entries.
func (c *audioCounters) snapshot() map[string]uint64 {
	return map[string]uint64{
		"audio_links": uint64(max(c.links.Load(), 0)), "audio_opened": c.opened.Load(),
		"audio_rtp_in": c.rtpIn.Load(), "audio_rtp_out": c.rtpOut.Load(),
		"audio_queue_full": c.queueFull.Load(), "audio_no_slot": c.noSlot.Load(),
		"audio_write_errors": c.writeError.Load(),
	}
}

// validateAudioOffer checks an audio offer before anything is allocated:
// SDP, 1..max media sections, all audio, with ICE credentials and a
// DTLS fingerprint. It returns the number of audio sections (the slots).
func validateAudioOffer(body []byte, maxSlots int) (int, error) {
	if len(body) == 0 {
		return 0, netcode.Errorf(netcode.CodeBadRequest, "webrtc: empty audio offer")
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return 0, netcode.Errorf(netcode.CodeBadRequest, "webrtc: audio offer is not SDP: %v", err)
	}
	n := len(sd.MediaDescriptions)
	if n < 1 || n > maxSlots {
		return 0, netcode.Errorf(netcode.CodeBadRequest, "webrtc: audio offer has %d media sections, want 1..%d", n, maxSlots)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			return 0, netcode.Errorf(netcode.CodeBadRequest, "webrtc: audio offer has a %q section", md.MediaName.Media)
		}
		for _, key := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
			_, inMedia := md.Attribute(key)
			_, inSession := sd.Attribute(key)
			if !inMedia && !inSession {
				return 0, netcode.Errorf(netcode.CodeBadRequest, "webrtc: audio offer has no a=%s", key)
			}
		}
	}
	return n, nil
}
