package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// rawJS is what TestBrowserReachesEveryTransport loads into the page:
// just enough msgpack to write Hello [1, 1, token] and Ping [4, t] and to
// read the server's frames, and one function per browser transport that
// connects, says Hello, waits for Welcome, pings and waits for the Pong,
// timing each step (milliseconds since the function began). No SDK: this
// is about whether a headless Chromium reaches each transport at all.
const rawJS = `
window.tw = (() => {
  const te = new TextEncoder(), td = new TextDecoder();
  const since = (t0) => Math.round((performance.now() - t0) * 100) / 100;
  const str = (s) => {
    const b = te.encode(s);
    if (b.length < 32) return [0xa0 | b.length, ...b];
    if (b.length < 256) return [0xd9, b.length, ...b];
    return [0xda, b.length >> 8, b.length & 255, ...b];
  };
  const hello = (token) => new Uint8Array([0x93, 1, 1, ...str(token)]);
  const ping = (t) => {
    const b = new Uint8Array(11);
    b[0] = 0x92; b[1] = 4; b[2] = 0xd3;
    new DataView(b.buffer).setBigInt64(3, BigInt(t));
    return b;
  };
  const cat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  };
  const decode = (buf) => {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let p = 0;
    const s = (n) => { const v = td.decode(buf.subarray(p, p + n)); p += n; return v; };
    const bin = (n) => { const v = buf.slice(p, p + n); p += n; return v; };
    const arr = (n) => { const a = []; for (let i = 0; i < n; i++) a.push(v()); return a; };
    const v = () => {
      const b = buf[p++];
      if (b <= 0x7f) return b;
      if (b >= 0xe0) return b - 256;
      if ((b & 0xf0) === 0x90) return arr(b & 0x0f);
      if ((b & 0xe0) === 0xa0) return s(b & 0x1f);
      let x;
      switch (b) {
        case 0xc0: return null;
        case 0xc2: return false;
        case 0xc3: return true;
        case 0xc4: x = buf[p]; p += 1; return bin(x);
        case 0xc5: x = dv.getUint16(p); p += 2; return bin(x);
        case 0xcc: return buf[p++];
        case 0xcd: x = dv.getUint16(p); p += 2; return x;
        case 0xce: x = dv.getUint32(p); p += 4; return x;
        case 0xcf: x = dv.getBigUint64(p); p += 8; return Number(x);
        case 0xd0: x = dv.getInt8(p); p += 1; return x;
        case 0xd1: x = dv.getInt16(p); p += 2; return x;
        case 0xd2: x = dv.getInt32(p); p += 4; return x;
        case 0xd3: x = dv.getBigInt64(p); p += 8; return Number(x);
        case 0xd9: x = buf[p]; p += 1; return s(x);
        case 0xda: x = dv.getUint16(p); p += 2; return s(x);
        case 0xdc: x = dv.getUint16(p); p += 2; return arr(x);
      }
      throw new Error("msgpack byte 0x" + b.toString(16) + " not handled");
    };
    return v();
  };
  // inbox queues received frames; next waits for one of a kind, failing
  // on an Error frame, a transport failure or the deadline.
  const inbox = (deadline) => {
    const q = [], waiters = [];
    let failure = null;
    const wake = () => { while (waiters.length) waiters.shift()(); };
    return {
      push(m) { q.push(m); wake(); },
      fail(e) { failure = failure || e; wake(); },
      async next(kind, pred = () => true) {
        for (;;) {
          const i = q.findIndex((m) => m.frame[0] === 3 || (m.frame[0] === kind && pred(m)));
          if (i >= 0) {
            const m = q.splice(i, 1)[0];
            if (m.frame[0] === 3) throw new Error("Error frame " + JSON.stringify(m.frame));
            return m;
          }
          if (failure) throw failure;
          const left = deadline - performance.now();
          if (left <= 0) throw new Error("timed out waiting for kind " + kind);
          await new Promise((res) => { waiters.push(res); setTimeout(res, left); });
        }
      },
    };
  };
  // bounded gives a fetch the time left before deadline (performance.now() ms).
  const bounded = (deadline) => AbortSignal.timeout(Math.max(1, Math.floor(deadline - performance.now())));
  const welcome = (w) => ({sessionId: w[1], userId: w[2], name: w[3], heartbeatMs: w[7], idleTimeoutMs: w[8]});
  const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
  const checkPong = (m, t, r, t1) => {
    if (m.frame[1] !== t) throw new Error("Pong for " + m.frame[1] + ", want " + t);
    r.pingMs = since(t1);
    r.pongChannel = m.ch;
  };

  return {
    async guest(name) {
      const res = await fetch("/v1/auth/guest", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({name})});
      if (res.status !== 200) throw new Error("guest: " + res.status + " " + await res.text());
      return res.json();
    },

    // §2.3: one binary message per frame behind a mark byte.
    async ws(token, timeoutMs, pings) {
      const t0 = performance.now(), r = {transport: "ws"};
      const q = inbox(t0 + timeoutMs);
      const sock = new WebSocket("ws://" + location.host + "/v1/ws", ["tickwire.v1"]);
      sock.binaryType = "arraybuffer";
      r.heartbeats = 0;
      sock.onmessage = (e) => {
        const b = new Uint8Array(e.data);
        if (b[0] === 2) { r.heartbeats++; return; }
        q.push({ch: b[0], frame: decode(b.subarray(1))});
      };
      sock.onclose = (e) => q.fail(new Error("ws closed " + e.code + " " + e.reason));
      await new Promise((res, rej) => { sock.onopen = res; sock.onerror = () => rej(new Error("ws error")); });
      r.openMs = since(t0);
      r.protocol = sock.protocol;
      sock.send(cat([0], hello(token)));
      Object.assign(r, welcome((await q.next(2)).frame));
      r.welcomeMs = since(t0);
      r.rtts = [];
      for (let i = 0; i < pings; i++) {
        const t = nowUs(), t1 = performance.now();
        sock.send(cat([0], ping(t)));
        checkPong(await q.next(5, (m) => m.frame[1] === t), t, r, t1);
        r.rtts.push(r.pingMs);
      }
      sock.onclose = null;
      sock.close(1000);
      return r;
    },

    // §2.5: open, then send and recv batches (ack u32, records of seq u32,
    // type u8, length u32, body).
    async lp(token, timeoutMs, pings) {
      const t0 = performance.now(), r = {transport: "longpoll"};
      const deadline = t0 + timeoutMs;
      const open = await fetch("/v1/lp/open", {method: "POST", signal: bounded(deadline), headers: {Authorization: "Bearer " + token}});
      if (open.status !== 200) throw new Error("open: " + open.status + " " + await open.text());
      const o = await open.json();
      r.openMs = since(t0);
      const base = "/v1/lp/" + o.id, auth = {Authorization: "Bearer " + o.secret};
      let sent = 0, ack = 0;
      r.recvs = 0;
      const send = async (frame) => {
        sent++;
        const b = new Uint8Array(4 + 9 + frame.length), dv = new DataView(b.buffer);
        dv.setUint32(0, ack); dv.setUint32(4, sent); b[8] = 0; dv.setUint32(9, frame.length); b.set(frame, 13);
        const res = await fetch(base + "/send", {method: "POST", signal: bounded(deadline), headers: {...auth, "Content-Type": "application/octet-stream"}, body: b});
        if (res.status !== 200) throw new Error("send: " + res.status + " " + await res.text());
      };
      const recv = async (kind) => {
        for (;;) {
          const wait = Math.max(0, Math.min(2000, Math.floor(deadline - performance.now())));
          if (wait <= 0) throw new Error("timed out waiting for kind " + kind);
          const res = await fetch(base + "/recv?ack=" + ack + "&wait=" + wait, {headers: auth, signal: bounded(deadline)});
          r.recvs++;
          if (res.status !== 200) throw new Error("recv: " + res.status + " " + await res.text());
          const b = new Uint8Array(await res.arrayBuffer()), dv = new DataView(b.buffer);
          let found = null;
          for (let p = 4; p < b.length;) {
            const seq = dv.getUint32(p), type = b[p + 4], n = dv.getUint32(p + 5);
            const body = b.subarray(p + 9, p + 9 + n);
            p += 9 + n;
            if (seq <= ack) continue;
            if (seq !== ack + 1) throw new Error("gap: " + seq + " after " + ack);
            ack = seq;
            if (type === 3) throw new Error("closed " + new DataView(body.buffer, body.byteOffset).getUint16(0));
            const f = decode(body);
            if (f[0] === 3) throw new Error("Error frame " + JSON.stringify(f));
            if (f[0] === kind && !found) found = {ch: type, frame: f};
          }
          if (found) return found;
        }
      };
      await send(hello(token));
      Object.assign(r, welcome((await recv(2)).frame));
      r.welcomeMs = since(t0);
      r.rtts = [];
      for (let i = 0; i < pings; i++) {
        const t = nowUs(), t1 = performance.now();
        const pong = recv(5); // held on the server while the Ping goes out, as an SDK would
        await send(ping(t));
        checkPong(await pong, t, r, t1);
        r.rtts.push(r.pingMs);
      }
      const del = await fetch(base, {method: "DELETE", headers: auth, signal: bounded(deadline)});
      if (del.status !== 204) throw new Error("delete: " + del.status);
      await del.text();
      return r;
    },

    // §2.4: two negotiated channels, the offer posted once ICE gathering is
    // complete, Hello on channel 0, a Ping on channel 1 behind a 4-byte seq.
    async rtc(token, timeoutMs, pings) {
      const t0 = performance.now(), r = {transport: "webrtc", stage: "offer"};
      const q = inbox(t0 + timeoutMs);
      const pc = new RTCPeerConnection();
      try {
        const rel = pc.createDataChannel("reliable", {negotiated: true, id: 0});
        const unrel = pc.createDataChannel("unreliable", {negotiated: true, id: 1, ordered: false, maxRetransmits: 0});
        rel.binaryType = unrel.binaryType = "arraybuffer";
        rel.onmessage = (e) => {
          if (typeof e.data === "string") { q.fail(new Error("control message " + e.data)); return; }
          q.push({ch: 0, frame: decode(new Uint8Array(e.data))});
        };
        unrel.onmessage = (e) => {
          if (e.data.byteLength < 4) return;
          q.push({ch: 1, seq: new DataView(e.data).getUint32(0), frame: decode(new Uint8Array(e.data, 4))});
        };
        pc.onconnectionstatechange = () => { if (pc.connectionState === "failed") q.fail(new Error("connection failed")); };
        const open = Promise.all([rel, unrel].map((ch) => new Promise((res, rej) => {
          ch.onopen = res;
          ch.onclose = () => rej(new Error("channel " + ch.label + " closed"));
        })));
        open.catch((e) => q.fail(e));
        const gathered = new Promise((res) => {
          pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") res(); };
        });
        await pc.setLocalDescription(await pc.createOffer());
        r.stage = "gathering";
        if (pc.iceGatheringState !== "complete") await Promise.race([gathered, q.next(-1)]);
        r.gatheredMs = since(t0);
        const cands = (sdp) => sdp.split(/\r?\n/).filter((l) => l.startsWith("a=candidate:")).map((l) => l.slice(12));
        r.offerCandidates = cands(pc.localDescription.sdp);
        r.stage = "signaling";
        const res = await fetch("/v1/rtc/offer", {method: "POST", signal: bounded(t0 + timeoutMs), headers: {Authorization: "Bearer " + token, "Content-Type": "application/sdp"}, body: pc.localDescription.sdp});
        if (res.status !== 201) throw new Error("offer: " + res.status + " " + await res.text());
        const answer = await res.text();
        r.answeredMs = since(t0);
        r.answerCandidates = cands(answer);
        await pc.setRemoteDescription({type: "answer", sdp: answer});
        r.stage = "connecting";
        await Promise.race([open, q.next(-1)]);
        r.openMs = since(t0);
        const stats = await pc.getStats();
        stats.forEach((s) => {
          if (s.type !== "candidate-pair" || !s.nominated || s.state !== "succeeded") return;
          const l = stats.get(s.localCandidateId), rm = stats.get(s.remoteCandidateId);
          r.pair = l.candidateType + " " + l.address + ":" + l.port + " -> " + rm.candidateType + " " + rm.address + ":" + rm.port;
        });
        r.stage = "hello";
        rel.send(hello(token));
        Object.assign(r, welcome((await q.next(2)).frame));
        r.welcomeMs = since(t0);
        r.stage = "ping";
        // The unreliable channel may drop a datagram: ping again until a
        // Pong for one of the pings comes back, within the deadline.
        let seq = 0xfffffff0; // any start; it wraps
        r.rtts = [];
        r.sent = 0;
        for (let i = 0; i < pings; i++) {
          for (;;) {
            const t = nowUs(), t1 = performance.now();
            const h = new Uint8Array(4);
            new DataView(h.buffer).setUint32(0, seq);
            seq = (seq + 1) >>> 0;
            unrel.send(cat(h, ping(t)));
            r.sent++;
            const retry = new Promise((_, rej) => setTimeout(() => rej(new Error("retry")), 250));
            try {
              checkPong(await Promise.race([q.next(5, (m) => m.frame[1] === t), retry]), t, r, t1);
              r.rtts.push(r.pingMs);
              break;
            } catch (e) {
              if (e.message !== "retry" || performance.now() > t0 + timeoutMs) throw e;
            }
          }
        }
        r.stage = "done";
        return r;
      } catch (e) {
        throw new Error("webrtc at stage " + r.stage + ": " + e.message);
      } finally {
        pc.close();
      }
    },
  };
})();
true
`

// browserPings is how many Pings each transport answers in
// TestBrowserReachesEveryTransport (their round trips are logged).
const browserPings = 20

// TestBrowserReachesEveryTransport is phase 1 of the browser SDK: from a
// page of the server's own origin, a headless Chromium gets a guest token
// and, in plain JavaScript, reaches the server over WebSocket,
// long-polling and WebRTC data channels: Hello gets a Welcome for the
// guest, a Ping gets its Pong (on the unreliable channel for WebRTC).
func TestBrowserReachesEveryTransport(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: []netcode.Transport{&ws.Transport{}, &longpoll.Transport{}, &webrtc.Transport{Addr: "127.0.0.1:0"}},
	})
	start := time.Now()
	b := startBrowser(t)
	started := time.Now()
	tab := b.newTab(t, "guest")
	t.Logf("Chromium started in %v, tab opened in %v", started.Sub(start).Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	tab.ignoreProblems(faviconNotFound) // /healthz is JSON: no icon
	tab.navigate(t, srv.HTTPURL()+"/healthz")
	tab.eval(t, rawJS, nil)

	var g struct {
		Token  string `json:"token"`
		UserID string `json:"user_id"`
		Guest  bool   `json:"guest"`
	}
	tab.eval(t, `tw.guest("browser")`, &g)
	require.True(t, g.Guest)
	require.NotEmpty(t, g.Token)
	require.True(t, strings.HasPrefix(g.UserID, "g_"), g.UserID)

	type result struct {
		Transport        string    `json:"transport"`
		UserID           string    `json:"userId"`
		SessionID        uint64    `json:"sessionId"`
		HeartbeatMs      int       `json:"heartbeatMs"`
		OpenMs           float64   `json:"openMs"`
		WelcomeMs        float64   `json:"welcomeMs"`
		PingMs           float64   `json:"pingMs"`
		PongChannel      int       `json:"pongChannel"`
		Protocol         string    `json:"protocol"`
		Recvs            int       `json:"recvs"`
		GatheredMs       float64   `json:"gatheredMs"`
		AnsweredMs       float64   `json:"answeredMs"`
		OfferCandidates  []string  `json:"offerCandidates"`
		AnswerCandidates []string  `json:"answerCandidates"`
		Pair             string    `json:"pair"`
		Sent             int       `json:"sent"`
		RTTs             []float64 `json:"rtts"`
		Stage            string    `json:"stage"`
	}
	budget := (wait - time.Second).Milliseconds()
	sessions := map[uint64]string{}
	for _, tc := range []struct {
		name, fn    string
		pongChannel int
	}{
		{"websocket", "ws", 0},
		{"longpoll", "lp", 0},
		{"webrtc", "rtc", 1},
	} {
		var r result
		tab.eval(t, fmt.Sprintf(`tw.%s(%q, %d, %d)`, tc.fn, g.Token, budget, browserPings), &r)
		assert.Equal(t, g.UserID, r.UserID, "%s: Welcome names the guest", tc.name)
		assert.NotZero(t, r.SessionID, tc.name)
		assert.Equal(t, tc.pongChannel, r.PongChannel, "%s: the Pong comes back on the Ping's channel", tc.name)
		assert.NotContains(t, sessions, r.SessionID, "%s: a session of its own", tc.name)
		assert.Len(t, r.RTTs, browserPings, tc.name)
		sessions[r.SessionID] = tc.name
		rtt := slices.Sorted(slices.Values(r.RTTs))
		t.Logf("%s: Welcome after %.1f ms (transport open after %.1f ms); ping RTT over %d pings: min %.2f p50 %.2f max %.2f ms",
			tc.name, r.WelcomeMs, r.OpenMs, len(rtt), rtt[0], rtt[len(rtt)/2], rtt[len(rtt)-1])
		switch tc.fn {
		case "ws":
			assert.Equal(t, "tickwire.v1", r.Protocol, "the server selects the offered subprotocol")
		case "lp":
			t.Logf("longpoll: %d recv requests", r.Recvs)
		case "rtc":
			assert.NotEmpty(t, r.AnswerCandidates, "the server's candidates")
			assert.NotEmpty(t, r.Pair, "a nominated candidate pair")
			t.Logf("webrtc: ICE gathering complete after %.1f ms, answer after %.1f ms, channels open after %.1f ms; %d unreliable pings sent",
				r.GatheredMs, r.AnsweredMs, r.OpenMs, r.Sent)
			t.Logf("webrtc: offer candidates %q; answer candidates %q; pair %s", r.OfferCandidates, r.AnswerCandidates, r.Pair)
		}
	}
	tab.requireNoProblems(t)
}

// withWebRTCBlocked really blocks WebRTC (the fallback tests depend on
// it): the offer is answered, the channels never open; WebSocket from the
// same page still works.
func TestBrowserWebRTCBlocked(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: []netcode.Transport{&ws.Transport{}, &webrtc.Transport{Addr: "127.0.0.1:0"}},
	})
	b := startBrowser(t, withWebRTCBlocked())
	tab := b.newTab(t, "no-udp")
	tab.ignoreProblems(faviconNotFound)
	tab.navigate(t, srv.HTTPURL()+"/healthz")
	tab.eval(t, rawJS, nil)
	var g struct {
		Token string `json:"token"`
	}
	tab.eval(t, `tw.guest("no-udp")`, &g)

	err := tab.evalErr(fmt.Sprintf(`tw.rtc(%q, 1500, 1)`, g.Token), nil, wait)
	require.Error(t, err)
	require.Contains(t, err.Error(), "webrtc at stage connecting", "signaling works, the connection does not")

	var r struct {
		UserID string `json:"userId"`
	}
	tab.eval(t, fmt.Sprintf(`tw.ws(%q, %d, 1)`, g.Token, (wait-time.Second).Milliseconds()), &r)
	require.NotEmpty(t, r.UserID)
	tab.requireNoProblems(t)
}
