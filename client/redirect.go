package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
)

// DefaultMaxRedirects bounds the redirects one room join follows.
const DefaultMaxRedirects = 2

// RedirectOptions configure how room joins follow a RoomRedirect: in a
// cluster (docs/CLUSTER.md) a join for a room owned by another node is
// answered with that node's address and a ticket. The client opens a
// second session there (same token, same options), joins with the ticket,
// and the Room it returns works over that session; its pushes arrive
// through this client's Messages() or Handler like the others.
type RedirectOptions struct {
	// Dials returns the dial functions for the node whose HTTP API is at
	// httpBase, in the order to try them. Default: KCP, with the node's
	// key pinned from its HTTP API (kcp.DialerFromHTTP), as a client that
	// dials the first node through DialerFromHTTP does.
	Dials func(ctx context.Context, httpBase string) ([]DialFunc, error)
	// MaxHops bounds the redirects one join follows (default
	// DefaultMaxRedirects); past it the join fails with
	// CodeTooManyRedirects. A negative value follows none: a redirect is
	// then returned as a *RedirectError.
	MaxHops int
}

// RedirectError is a redirect the client did not follow
// (RedirectOptions.MaxHops < 0).
type RedirectError struct{ Redirect frame.RoomRedirect }

func (e *RedirectError) Error() string {
	return fmt.Sprintf("client: room %d is on node %s (%s)", e.Redirect.RoomID, e.Redirect.NodeID, e.Redirect.URL)
}

// KCPFromHTTP dials KCP to the node whose HTTP API is at httpBase, with
// the node's key pinned from GET /v1/kcp there: the default of
// RedirectOptions.Dials.
func KCPFromHTTP(ctx context.Context, httpBase string) ([]DialFunc, error) {
	return []DialFunc{func(ctx context.Context) (netcode.Conn, error) {
		d, err := kcp.DialerFromHTTP(ctx, nil, httpBase, "", kcp.Config{})
		if err != nil {
			return nil, err
		}
		return d.Dial(ctx)
	}}, nil
}

// follow answers a room request with the room, following redirects.
func (c *Client) follow(ctx context.Context, req frame.Refer) (*Client, Message, error) {
	cur := c
	m, err := cur.Call(ctx, req)
	max := c.o.Redirect.MaxHops
	if max == 0 {
		max = DefaultMaxRedirects
	}
	for hops := 0; err == nil && m.Kind == frame.KindRoomRedirect; hops++ {
		var rd frame.RoomRedirect
		if derr := m.Decode(&rd); derr != nil {
			return nil, m, fmt.Errorf("client: bad redirect: %w", derr)
		}
		if max < 0 {
			return nil, m, &RedirectError{Redirect: rd}
		}
		if hops >= max {
			return nil, m, &netcode.CodedError{Code: netcode.CodeTooManyRedirects,
				Msg: fmt.Sprintf("redirected %d times, last to node %s", hops+1, rd.NodeID)}
		}
		node, derr := c.nodeSession(ctx, rd.URL)
		if derr != nil {
			return nil, m, &netcode.CodedError{Code: netcode.CodeNodeGone,
				Msg: fmt.Sprintf("node %s (%s) unreachable", rd.NodeID, rd.URL), Err: derr}
		}
		cur = node
		m, err = cur.Call(ctx, &frame.RoomJoinTicket{RoomID: rd.RoomID, Ticket: rd.Ticket})
		if jc, ok := req.(*frame.RoomJoinOrCreate); ok &&
			(errors.Is(err, netcode.CodeRoomFull) || errors.Is(err, netcode.CodeRoomNotFound)) {
			// The room filled or closed since the directory last heard:
			// matchmake again, on the node that knows best.
			m, err = cur.Call(ctx, jc)
		}
	}
	return cur, m, err
}

// nodeSession is this client's session on the node whose HTTP API is at
// url: an open one, or a new one (same token and options; dial functions
// from RedirectOptions.Dials).
func (c *Client) nodeSession(ctx context.Context, url string) (*Client, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if n := c.nodes[url]; n != nil {
		select {
		case <-n.Done():
		default:
			c.mu.Unlock()
			return n, nil
		}
	}
	c.mu.Unlock()
	dialsFor := c.o.Redirect.Dials
	if dialsFor == nil {
		dialsFor = KCPFromHTTP
	}
	dials, err := dialsFor(ctx, url)
	if err != nil {
		return nil, err
	}
	o := c.o
	o.Dial, o.Dials = nil, dials
	o.Handler = c.forward
	o.OnSession = nil
	n, err := Dial(ctx, o)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	old := c.nodes[url]
	if c.closed || (old != nil && old != n && !isDone(old)) {
		c.mu.Unlock()
		_ = n.Close() // lost a race with Close or another join: keep the other
		if old != nil && !c.closed {
			return old, nil
		}
		return nil, ErrClosed
	}
	c.nodes[url] = n
	c.wg.Add(1) // under mu, before closeNodes can mark the client closed: Close waits for it
	c.mu.Unlock()
	go c.watchNode(n)
	return n, nil
}

// watchNode waits for a node session to end (its node shut down, died, or
// could not be reached within the resume window) and tells the
// application that each room it still held there is gone: a RoomClosed
// push with the code the node closed the session with, or CodeNodeGone.
// Nothing is told once this client is closing.
func (c *Client) watchNode(n *Client) {
	defer c.wg.Done()
	select {
	case <-c.closing:
		return
	case <-n.Done():
	}
	select {
	case <-c.closing: // Close closed it
		return
	default:
	}
	c.mu.Lock()
	rooms := c.nodeRooms[n]
	delete(c.nodeRooms, n)
	c.mu.Unlock()
	// The node's own close code when it said one (server_shutdown on a
	// clean shutdown, draining...), else node_gone.
	code, msg := netcode.CodeNodeGone, "the room's node is gone"
	var ce *netcode.CloseError
	if errors.As(n.Err(), &ce) && ce.Code != netcode.CodeOK {
		code, msg = ce.Code, "the session on the room's node ended: "+ce.Reason
	}
	for _, id := range rooms {
		b, err := frame.Marshal(&frame.RoomClosed{RoomID: id, Code: code, Message: msg})
		if err != nil {
			continue
		}
		c.forward(Message{Channel: netcode.Reliable, Kind: frame.KindRoomClosed, Data: b})
	}
}

// trackNodeRoom remembers a room joined on a node session (watchNode);
// untrackNodeRoom forgets it (left, or closed by the server).
func (c *Client) trackNodeRoom(n *Client, id uint64) {
	c.mu.Lock()
	if c.nodeRooms != nil {
		c.nodeRooms[n] = append(c.nodeRooms[n], id)
	}
	c.mu.Unlock()
}

func (c *Client) untrackNodeRoom(n *Client, id uint64) {
	c.mu.Lock()
	rooms := c.nodeRooms[n]
	if i := slices.Index(rooms, id); i >= 0 {
		c.nodeRooms[n] = slices.Delete(rooms, i, i+1)
	}
	c.mu.Unlock()
}

func isDone(c *Client) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// forward hands a push that arrived on a node session to this client's
// Handler or Messages(), unless this client has ended.
func (c *Client) forward(m Message) {
	if m.Kind == frame.KindRoomClosed {
		var rc frame.RoomClosed
		if m.Decode(&rc) == nil {
			c.untrackAnyNodeRoom(rc.RoomID)
		}
	}
	c.fwdMu.Lock()
	defer c.fwdMu.Unlock()
	if c.fwdClosed {
		return
	}
	c.deliver(m)
}

// untrackAnyNodeRoom forgets room id on whichever node session held it.
func (c *Client) untrackAnyNodeRoom(id uint64) {
	c.mu.Lock()
	for n, rooms := range c.nodeRooms {
		if i := slices.Index(rooms, id); i >= 0 {
			c.nodeRooms[n] = slices.Delete(rooms, i, i+1)
		}
	}
	c.mu.Unlock()
}

// closeNodes closes the sessions opened for redirects.
func (c *Client) closeNodes() {
	c.mu.Lock()
	c.closed = true
	nodes := c.nodes
	c.nodes = nil
	c.mu.Unlock()
	for _, n := range nodes {
		_ = n.Close() // Close always returns nil
	}
}
