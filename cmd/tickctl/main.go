// Command tickctl is a command-line client for people: register and log
// in, add friends, send and read messages, watch presence, join a room and
// send inputs — enough to try a tickwire server from two terminals.
//
//	tickctl [global flags] <command> [args] [flags]
//
// Logins are saved per profile (--profile, default "default") in
// $XDG_CONFIG_HOME/tickctl/PROFILE.json (or ~/.config/tickctl/), mode
// 0600, so that two users can work side by side on one machine. Output is
// one human-readable line per item, or one JSON object per line with
// --json. Errors print the server's code name and message and exit 1;
// usage errors exit 2. docs/TICKCTL.md has the walk-through.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
)

// version is reported to the server in Hello.
const version = "0.1.0"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the server refused, or the command failed
	exitUsage = 2 // bad command line
)

// Defaults for the global settings.
const (
	defaultHTTP      = "http://127.0.0.1:7780"
	defaultKCPAddr   = "127.0.0.1:7777"
	defaultTCPAddr   = "127.0.0.1:7778"
	defaultProfile   = "default"
	defaultTimeout   = 10 * time.Second
	clientName       = "tickctl"
	defaultTransport = "kcp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one tickctl command line and returns the exit code. It
// reads the environment through os.Getenv; tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return a.main(ctx, args)
}

// errUsage marks a command-line mistake (exit 2).
var errUsage = errors.New("usage")

// usageErrorf returns a usage error with a message.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// app is one invocation: its streams, environment and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	g              globals
	out            *printer
}

// globals are the flags every command accepts, before or after the
// command name. Empty strings mean "not given": settings() resolves
// flag > environment > saved profile > default.
type globals struct {
	http, addr, transport, profile, token, configDir string
	kcpKey                                           string
	json                                             bool
	tlsCA                                            string // trust this CA file instead of the system roots
	insecure                                         bool   // skip certificate checks (development)
	timeout                                          time.Duration
}

// register adds the global flags to fs, keeping values already parsed.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.http, "http", g.http, "HTTP API base URL (env TICKCTL_HTTP; default "+defaultHTTP+")")
	fs.StringVar(&g.addr, "addr", g.addr, "realtime address host:port (env TICKCTL_ADDR; default "+defaultKCPAddr+" for kcp, "+defaultTCPAddr+" for tcp)")
	fs.StringVar(&g.transport, "transport", g.transport, "realtime transport: "+transportNames()+" (env TICKCTL_TRANSPORT; default kcp)")
	fs.StringVar(&g.kcpKey, "kcp-key", g.kcpKey, "the server's KCP public key (base64) to pin (env TICKCTL_KCP_KEY; default: fetched from the HTTP API, GET /v1/kcp)")
	fs.StringVar(&g.profile, "profile", g.profile, "saved login to use (env TICKCTL_PROFILE; default \"default\")")
	fs.StringVar(&g.token, "token", g.token, "bearer token to use instead of the saved one (env TICKCTL_TOKEN)")
	fs.StringVar(&g.configDir, "config-dir", g.configDir, "where logins are saved (env TICKCTL_CONFIG_DIR; default $XDG_CONFIG_HOME/tickctl or ~/.config/tickctl)")
	fs.BoolVar(&g.json, "json", g.json, "print one JSON object per line")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "time limit of each request (default 10s)")
	fs.StringVar(&g.tlsCA, "tls-ca", g.tlsCA, "PEM file of the CA (or the server's self-signed certificate) to trust for an https:// server, instead of the system roots; saved in the profile (env TICKCTL_TLS_CA)")
	fs.BoolVar(&g.insecure, "insecure", g.insecure, "do not verify the server's TLS certificate (development only: anyone on the path can pose as the server)")
}

// command is one tickctl command.
type command struct {
	name    string
	args    string // synopsis of the arguments
	summary string
	run     func(a *app, ctx context.Context, args []string) error
}

// commands lists every command; "friend", "group" and "room" dispatch to
// sub-commands ("friend add").
func commands() []command {
	return []command{
		{"register", "USER [--password P] [--display-name N]", "create an account and save its login", (*app).cmdRegister},
		{"login", "USER [--password P]", "log in and save the token in the profile", (*app).cmdLogin},
		{"guest", "[NAME]", "get a guest token (no friends, groups or messages)", (*app).cmdGuest},
		{"logout", "", "revoke the token and forget it", (*app).cmdLogout},
		{"refresh", "", "swap the token for a fresh one", (*app).cmdRefresh},
		{"whoami", "", "show the logged-in user", (*app).cmdWhoami},
		{"friends", "", "list friends with presence, requests and blocks", (*app).cmdFriends},
		{"friend add", "USER", "send a friend request (accepts theirs if they asked)", (*app).cmdFriendAdd},
		{"friend accept", "USER", "accept a friend request", friendCommand("friend accept", netcode.CodeRequestNotFound, (*client.Client).AcceptFriend,
			"you and %s are now friends")},
		{"friend decline", "USER", "decline a friend request", friendCommand("friend decline", netcode.CodeRequestNotFound, (*client.Client).DeclineFriend,
			"declined the friend request of %s")},
		{"friend remove", "USER", "end a friendship or cancel your request", friendCommand("friend remove", netcode.CodeNotFriends, (*client.Client).RemoveFriend, "removed %s")},
		{"block", "USER", "block a user", friendCommand("block", netcode.CodeUserNotFound, (*client.Client).BlockUser, "blocked %s")},
		{"unblock", "USER", "lift a block", friendCommand("unblock", netcode.CodeUserNotFound, (*client.Client).UnblockUser, "unblocked %s")},
		{"groups", "", "list your groups and invitations", (*app).cmdGroups},
		{"group create", "NAME [--invite-only]", "create a group (open unless --invite-only)", (*app).cmdGroupCreate},
		{"group join", "GROUP", "join an open group, or accept an invitation", groupCommand("group join", (*client.Client).JoinGroup, "joined group %d")},
		{"group invite", "GROUP USER", "invite a user to a group", (*app).cmdGroupInvite},
		{"group decline", "GROUP", "decline an invitation", groupCommand("group decline", (*client.Client).DeclineGroupInvite,
			"declined the invitation to group %d")},
		{"group leave", "GROUP", "leave a group", groupCommand("group leave", (*client.Client).LeaveGroup, "left group %d")},
		{"group members", "GROUP [--limit N]", "list a group's members", (*app).cmdGroupMembers},
		{"send", "USER TEXT...", "send a direct message to a friend", (*app).cmdSend},
		{"send-group", "GROUP TEXT...", "send a message to a group", (*app).cmdSendGroup},
		{"history", "USER | --group GROUP [--before ID] [--limit N]", "show a conversation, oldest first", (*app).cmdHistory},
		{"status", "online|away [TEXT...]", "set your presence and status text", (*app).cmdStatus},
		{"call", "USER [--for D] [--signal TEXT]", "ring a friend and stay in the call (Ctrl-C hangs up)", (*app).cmdCall},
		{"answer", "[--for D] [--signal TEXT]", "wait for a call, accept it and stay in it (Ctrl-C hangs up)", (*app).cmdAnswer},
		{"watch", "[--for D] [--count N]", "print messages, friend and group events and presence as they come", (*app).cmdWatch},
		{"rooms", "[TYPE] [--label L]", "list open public rooms", (*app).cmdRooms},
		{"room join", "TYPE [LABEL] [--for D] [--unreliable] [--all-ticks]", "join or create a room; send each stdin line as an input", (*app).cmdRoomJoin},
		{"room create", "TYPE [LABEL] [--private] [--capacity N] [--tick-rate HZ]", "create a room and join it, like room join", (*app).cmdRoomCreate},
		{"room join-id", "ID [--for D] [--unreliable] [--all-ticks]", "join a room by id, like room join", (*app).cmdRoomJoinID},
		{"ping", "[--count N]", "measure round-trip time and clock offset", (*app).cmdPing},
	}
}

// main parses the global flags, finds the command and runs it.
func (a *app) main(ctx context.Context, args []string) int {
	a.out = &printer{w: a.stdout}
	fs := flag.NewFlagSet("tickctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.usage(a.stdout)
			return exitOK
		}
		fmt.Fprintf(a.stderr, "tickctl: %v\n", err)
		a.usage(a.stderr)
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		a.usage(a.stderr)
		return exitUsage
	}
	if rest[0] == "help" {
		a.usage(a.stdout)
		return exitOK
	}
	cmd, cmdArgs, ok := lookup(rest)
	if !ok {
		if subs := subcommands(rest[0]); len(subs) > 0 {
			fmt.Fprintf(a.stderr, "tickctl %s: needs a sub-command: %s\n", rest[0], strings.Join(subs, ", "))
			return exitUsage
		}
		fmt.Fprintf(a.stderr, "tickctl: unknown command %q\n", rest[0])
		a.usage(a.stderr)
		return exitUsage
	}
	err := cmd.run(a, ctx, cmdArgs)
	return a.fail(cmd, err)
}

// lookup finds the command named by args (one or two words).
func lookup(args []string) (command, []string, bool) {
	cmds := commands()
	if len(args) >= 2 {
		for _, c := range cmds {
			if c.name == args[0]+" "+args[1] {
				return c, args[2:], true
			}
		}
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c, args[1:], true
		}
	}
	return command{}, nil, false
}

// subcommands lists the sub-commands of a command group ("friend").
func subcommands(group string) []string {
	var subs []string
	for _, c := range commands() {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			subs = append(subs, sub)
		}
	}
	return subs
}

// fail prints err and returns the exit code for it.
func (a *app) fail(cmd command, err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(a.stderr, "tickctl %s: %s\nusage: tickctl %s %s\n", cmd.name, strings.TrimPrefix(err.Error(), "usage: "), cmd.name, cmd.args)
		return exitUsage
	}
	code, name, msg := describe(err)
	if a.g.json {
		a.out.json(a.stderr, errorJSON{Error: name, Code: code, Message: msg})
	} else if code != 0 {
		fmt.Fprintf(a.stderr, "tickctl %s: %s (%d): %s\n", cmd.name, name, code, msg)
	} else {
		fmt.Fprintf(a.stderr, "tickctl %s: %s\n", cmd.name, msg)
	}
	return exitError
}

// errorJSON is how --json prints an error (on stderr), shaped like the
// HTTP API's error bodies.
type errorJSON struct {
	Error   string `json:"error"`
	Code    uint16 `json:"code"`
	Message string `json:"message"`
}

// describe splits err into the protocol code (0 if none), its name and a
// message.
func describe(err error) (code uint16, name, msg string) {
	var ce *netcode.CodedError
	if errors.As(err, &ce) {
		msg = ce.Msg
		if msg == "" {
			msg = err.Error()
		}
		return uint16(ce.Code), ce.Code.String(), msg
	}
	var cl *netcode.CloseError
	if errors.As(err, &cl) {
		return uint16(cl.Code), cl.Code.String(), "connection closed by the server: " + cl.Reason
	}
	return 0, "error", err.Error()
}

// usage prints the command list.
func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: tickctl [global flags] <command> [args] [flags]\n\ncommands:\n")
	for _, c := range commands() {
		syn := strings.TrimSpace(c.name + " " + c.args)
		if len(syn) <= 34 {
			fmt.Fprintf(w, "  %-34s  %s\n", syn, c.summary)
		} else {
			fmt.Fprintf(w, "  %s\n  %-34s  %s\n", syn, "", c.summary)
		}
	}
	fmt.Fprintf(w, "\nglobal flags (also accepted after the command):\n")
	fs := flag.NewFlagSet("tickctl", flag.ContinueOnError)
	var g globals
	g.register(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  --%-11s %s\n", n, fs.Lookup(n).Usage)
	}
	fmt.Fprintf(w, "\nUSER is a username (or a user id); GROUP is a group id (or the name of one of your groups).\n")
}

// flags returns a flag set for a command with the global flags in it.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse reports errors, and prints the help
	fs.Usage = func() {}
	a.g.register(fs)
	return fs
}

// commandHelp prints a command's synopsis and flags on stdout.
func (a *app) commandHelp(fs *flag.FlagSet) {
	for _, c := range commands() {
		if c.name == fs.Name() {
			fmt.Fprintf(a.stdout, "usage: tickctl %s %s\n  %s\n", c.name, c.args, c.summary)
		}
	}
	fmt.Fprintf(a.stdout, "flags (the global ones included):\n")
	fs.SetOutput(a.stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses flags anywhere among args (until "--") and returns the
// positional arguments; it wants between minPos and maxPos of them
// (maxPos < 0: no limit).
func (a *app) parse(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				a.commandHelp(fs)
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < minPos {
		return nil, usageErrorf("missing arguments")
	}
	if maxPos >= 0 && len(pos) > maxPos {
		return nil, usageErrorf("unexpected argument %q", pos[maxPos])
	}
	return pos, nil
}

// settings are the resolved global settings of one command.
type settings struct {
	http, addr, transport, token string
	kcpKey                       string // pinned KCP server key ("": fetched from http)
	profileName, dir             string
	tlsCA                        string      // absolute path, or ""
	tls                          *tls.Config // for https:// servers (and TCP beside them); nil: plain
	profile                      profile     // the saved login (zero if none)
	hasProfile                   bool
}

// settings resolves flag > environment > profile > default.
func (a *app) settings() (settings, error) {
	pick := func(flagVal, env, prof, def string) string {
		for _, v := range []string{flagVal, strings.TrimSpace(a.getenv(env)), prof, def} {
			if v != "" {
				return v
			}
		}
		return ""
	}
	s := settings{profileName: pick(a.g.profile, "TICKCTL_PROFILE", "", defaultProfile)}
	if !validProfileName(s.profileName) {
		return s, usageErrorf("bad profile name %q (letters, digits, '.', '_' and '-')", s.profileName)
	}
	dir, err := configDir(a.g.configDir, a.getenv)
	if err != nil {
		return s, err
	}
	s.dir = dir
	p, ok, err := loadProfile(dir, s.profileName)
	if err != nil {
		return s, err
	}
	s.profile, s.hasProfile = p, ok
	s.http = strings.TrimRight(pick(a.g.http, "TICKCTL_HTTP", p.HTTP, defaultHTTP), "/")
	s.transport = pick(a.g.transport, "TICKCTL_TRANSPORT", p.Transport, defaultTransport)
	tr, ok := transports[s.transport]
	if !ok {
		return s, usageErrorf("transport must be one of %s, not %q", transportNames(), s.transport)
	}
	defAddr := tr.addr
	profAddr := p.Addr
	if p.Transport != "" && p.Transport != s.transport {
		profAddr = "" // the saved address belongs to the other transport
	}
	s.addr = pick(a.g.addr, "TICKCTL_ADDR", profAddr, defAddr)
	s.token = pick(a.g.token, "TICKCTL_TOKEN", p.Token, "")
	s.kcpKey = pick(a.g.kcpKey, "TICKCTL_KCP_KEY", "", "")
	if err := a.resolveTLS(&s); err != nil {
		return s, err
	}
	return s, nil
}

// timeout is the per-request time limit.
func (a *app) timeout() time.Duration {
	if a.g.timeout > 0 {
		return a.g.timeout
	}
	return defaultTimeout
}
