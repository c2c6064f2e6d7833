package client_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/server"
)

// Example_call is a call between two friends: ada rings bob, bob's
// session accepts, they exchange one signaling payload each through the
// call (an SDP offer and answer, say), and ada hangs up. The server runs
// in-process on loopback so that the example runs as a test. Media is the
// application's.
func Example_call() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "tickwire-example-call")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	srv, err := server.Start(ctx, server.Config{
		Transports: []netcode.Transport{&kcp.Transport{Addr: "127.0.0.1:0"}},
		HTTPAddr:   "127.0.0.1:0", DataDir: dir,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}()

	// Two registered users, each with a KCP session.
	connect := func(name string) (*client.Client, string, error) {
		var a struct {
			Token  string `json:"token"`
			UserID string `json:"user_id"`
		}
		if err := client.PostJSON(ctx, nil, srv.HTTPURL()+"/v1/auth/register",
			map[string]string{"username": name, "password": "correct horse battery"}, &a); err != nil {
			return nil, "", err
		}
		c, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: a.Token})
		return c, a.UserID, err
	}
	ada, adaID, err := connect("ada")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ada.Close()
	bob, bobID, err := connect("bob")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bob.Close()
	if err := ada.RequestFriend(ctx, "bob"); err != nil {
		fmt.Println(err)
		return
	}
	if err := bob.AcceptFriend(ctx, adaID); err != nil {
		fmt.Println(err)
		return
	}

	// callUpdate and signal wait for c's next push of their kind, passing
	// over pushes of other kinds (bob's "active" goes by while he waits
	// for the offer); a zero frame if none comes in time.
	next := func(c *client.Client, f frame.Frame) {
		for {
			select {
			case m := <-c.Messages():
				if m.Kind == f.Kind() {
					if err := m.Decode(f); err != nil {
						fmt.Println(err)
					}
					return
				}
			case <-ctx.Done():
				fmt.Println(ctx.Err())
				return
			}
		}
	}
	callUpdate := func(c *client.Client) *frame.CallUpdate {
		var u frame.CallUpdate
		next(c, &u)
		return &u
	}
	signal := func(c *client.Client) *frame.SignalRecv {
		var s frame.SignalRecv
		next(c, &s)
		return &s
	}

	call, err := ada.Invite(ctx, bobID)
	if err != nil {
		fmt.Println(err)
		return
	}
	ring := callUpdate(bob)
	fmt.Println("bob:", ring.CallerName, "is calling:", ring.State)
	if err := bob.AcceptCall(ctx, ring.CallID); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ada:", callUpdate(ada).State)

	if err := ada.SignalCall(ctx, call.CallID, []byte("offer")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("bob got %q\n", signal(bob).Payload)
	if err := bob.SignalCall(ctx, call.CallID, []byte("answer")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("ada got %q\n", signal(ada).Payload)

	if err := ada.EndCall(ctx, call.CallID); err != nil {
		fmt.Println(err)
		return
	}
	u := callUpdate(bob)
	fmt.Println("bob: call", u.State, u.Reason)
	// Output:
	// bob: ada is calling: ringing
	// ada: active
	// bob got "offer"
	// ada got "answer"
	// bob: call ended hung_up
}
