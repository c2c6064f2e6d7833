package client_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/server"
)

// readmeExample is the README's "A Go client in a dozen lines" between
// the markers, so that the compiler checks it; Example runs the same calls
// against a live server, and TestREADMEExampleCompiles checks that the
// README still shows exactly these lines.
func readmeExample() error {
	// README begin
	ctx := context.Background()
	token, err := client.GuestToken(ctx, "http://127.0.0.1:7780", "ada")
	if err != nil {
		return err
	}
	c, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: "127.0.0.1:7777"}.Dial, Token: token})
	if err != nil {
		return err
	}
	defer c.Close()
	rtt, err := c.Ping(ctx)
	fmt.Println("connected as", c.Welcome().DisplayName, "rtt", rtt, "clock offset", c.ClockOffset())
	// README end
	return err
}

var _ = readmeExample

func TestREADMEExampleCompiles(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	code = code[strings.Index(code, "// README begin\n")+len("// README begin\n") : strings.Index(code, "\t// README end")]
	doc := string(readme)
	i := strings.Index(doc, "## A Go client in a dozen lines")
	if i < 0 {
		t.Fatal("README has no Go client section")
	}
	doc = doc[i:]
	doc = doc[strings.Index(doc, "```go\n")+len("```go\n"):]
	doc = doc[:strings.Index(doc, "```")]
	// gofmt spreads `if err != nil { return err }` over three lines:
	// compare without whitespace.
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	if squash(code) != squash(doc) {
		t.Errorf("README example differs from readmeExample in example_test.go:\nREADME:\n%s\ncode:\n%s", doc, code)
	}
}

// Example connects to a server over KCP with a guest token, measures the
// round trip and the server's clock, and echoes a frame. The server here
// is started in-process on loopback so that the example runs as a test;
// against `make run` use the default addresses
// http://127.0.0.1:7780 and 127.0.0.1:7777.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "tickwire-example")
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
		if err := srv.Shutdown(sctx); err != nil {
			fmt.Println("shutdown:", err)
		}
	}()

	// The client side: a guest token over HTTP, then a KCP session.
	token, err := client.GuestToken(ctx, srv.HTTPURL(), "ada")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: token, Name: "example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	rtt, err := c.Ping(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("connected as", c.Welcome().DisplayName)
	fmt.Println("rtt measured:", rtt > 0)
	fmt.Println("clock offset under 1s:", c.ClockOffset().Abs() < time.Second)

	// Echo on the reliable channel: the server answers on the same one.
	// (netcode.Unreliable works the same way, without retransmission.)
	if err := c.Send(netcode.Reliable, &frame.Echo{Seq: 1, Payload: []byte("hello")}); err != nil {
		fmt.Println(err)
		return
	}
	for {
		var m client.Message
		select {
		case m = <-c.Messages(): // closed, with Kind 0, if the session ends
		case <-ctx.Done():
			fmt.Println("no echo:", ctx.Err())
			return
		}
		if err := c.Err(); err != nil {
			fmt.Println("session ended:", err)
			return
		}
		if m.Kind != frame.KindEcho {
			continue
		}
		var e frame.Echo
		if err := m.Decode(&e); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("echo %d on %s: %s\n", e.Seq, m.Channel, e.Payload)
		break
	}
	// Output:
	// connected as ada
	// rtt measured: true
	// clock offset under 1s: true
	// echo 1 on reliable: hello
}
