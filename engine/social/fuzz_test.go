package social

import (
	"testing"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// FuzzHandleFrame feeds arbitrary bytes, as any social kind, to a running
// service: every answer, returned at once or sent by the worker as an
// Error frame, is success or a coded error that is not CodeInternal, and
// nothing panics.
func FuzzHandleFrame(f *testing.F) {
	e := newEnv(f, Config{MessagesPerSecond: 1e6, MessageBurst: 1 << 20}, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.synced(a)
	e.synced(b)
	seeds := []frame.Frame{
		&frame.FriendRequest{Ref: 1, Username: "bob"},
		&frame.FriendAccept{Ref: 2, UserID: e.ids["alice"]},
		&frame.FriendList{Ref: 3},
		&frame.GroupCreate{Ref: 4, Name: "g", Open: true},
		&frame.GroupJoin{Ref: 5, GroupID: 1},
		&frame.GroupInvite{Ref: 6, GroupID: 1, UserID: e.ids["bob"]},
		&frame.GroupMembers{Ref: 7, GroupID: 1},
		&frame.GroupSetRole{Ref: 8, GroupID: 1, UserID: e.ids["bob"], Role: 2},
		&frame.DirectSend{Ref: 9, ToUserID: e.ids["bob"], Body: "hi"},
		&frame.GroupSend{Ref: 10, GroupID: 1, Body: "hi"},
		&frame.MessageAck{Ref: 11, UpToID: 1},
		&frame.History{Ref: 12, UserID: e.ids["bob"]},
		&frame.SetPresence{Ref: 13, Presence: 2, StatusText: "x"},
		&frame.GroupLeave{Ref: 14, GroupID: 1},
		&frame.FriendBlock{Ref: 15, UserID: e.ids["bob"]},
		&frame.Signal{Ref: 16, ToUserID: e.ids["bob"], Payload: []byte("offer")},
		&frame.Signal{Ref: 17, ToUserID: e.ids["bob"], RoomID: 9, Payload: []byte{0xff}},
		&frame.Signal{Ref: 18, CallID: 1, Payload: []byte("candidate")},
		&frame.CallInvite{Ref: 19, ToUserID: e.ids["bob"]},
		&frame.CallAccept{Ref: 20, CallID: 1},
		&frame.CallEnd{Ref: 21, CallID: 1},
	}
	for _, s := range seeds {
		data, err := frame.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, data)
		f.Add(true, data)
	}
	f.Fuzz(func(t *testing.T, asBob bool, data []byte) {
		k, err := frame.Peek(data)
		if err != nil || !frame.IsSocialKind(k) {
			return
		}
		p := a
		if asBob {
			p = b
		}
		_, err = e.svc.HandleFrame(e.clock.Now(), p, netcode.Reliable, k, data)
		if code := netcode.CodeOf(err); code == netcode.CodeInternal {
			t.Fatalf("kind %d: internal error: %v", k, err)
		}
		// A request of the same session behind it: once it is answered,
		// the fuzzed one has been performed (one worker, in order).
		ref := nextRef.Add(1)
		barrier, err := frame.Marshal(&frame.GroupList{Ref: ref})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.HandleFrame(e.clock.Now(), p, netcode.Reliable, frame.KindGroupList, barrier); err != nil {
			t.Fatal(err)
		}
		p.takeRef(t, ref)
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, b := range p.frames {
			if kk, _ := frame.Peek(b); kk != frame.KindError || p.used[i] {
				continue
			}
			p.used[i] = true
			var ef frame.Error
			if frame.Unmarshal(b, &ef) == nil && ef.Code == netcode.CodeInternal {
				t.Fatalf("kind %d: internal error: %s", k, ef.Message)
			}
		}
	})
}
