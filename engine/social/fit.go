package social

import "github.com/tickwire/tickwire/netcode/frame"

// maxReplyBytes bounds the encoded size of one list reply (friends,
// groups, members, history, inbox), well below the largest message a
// transport carries (netcode.DefaultMaxMessageSize, 64 KiB). A list that
// does not fit is cut and its reply says so (More); the client asks for
// the next page.
const maxReplyBytes = 48 << 10

// Upper bounds of the msgpack overhead of one list entry beside its
// strings' bytes: the entry's array header, every string's header (at
// most 3 bytes below 64 KiB) and the integers and booleans at their
// widest.
const (
	friendOverhead  = 1 + 4*3 + 2 + 2 + 9 + 8
	groupOverhead   = 1 + 9 + 2*3 + 1 + 2 + 5 + 8
	memberOverhead  = 1 + 2*3 + 2 + 2 + 8
	messageOverhead = 1 + 9 + 9 + 4*3 + 9 + 8
)

func friendSize(f *frame.Friend) int {
	return friendOverhead + len(f.UserID) + len(f.Username) + len(f.DisplayName) + len(f.StatusText)
}

func groupSize(g *frame.Group) int { return groupOverhead + len(g.Name) + len(g.OwnerID) }

func memberSize(m *frame.Member) int { return memberOverhead + len(m.UserID) + len(m.DisplayName) }

func messageSize(m *frame.ChatMessage) int {
	return messageOverhead + len(m.FromUserID) + len(m.ToUserID) + len(m.FromName) + len(m.Body)
}

// fitFirst returns the longest prefix of items whose size stays within
// maxReplyBytes, and whether it is shorter than items (a cut page, as
// the friend list has always been cut). A cut is counted.
func fitFirst[T any](s *Service, items []T, size func(*T) int) ([]T, bool) {
	total := 0
	for i := range items {
		if total += size(&items[i]); total > maxReplyBytes {
			s.stats.cut.Add(1)
			return items[:i], true
		}
	}
	return items, false
}

// fitLast is fitFirst keeping the longest suffix (the newest messages of
// a history page).
func fitLast[T any](s *Service, items []T, size func(*T) int) ([]T, bool) {
	total := 0
	for i := len(items) - 1; i >= 0; i-- {
		if total += size(&items[i]); total > maxReplyBytes {
			s.stats.cut.Add(1)
			return items[i+1:], true
		}
	}
	return items, false
}
