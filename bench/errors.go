package bench

import "errors"

// Errors returned by the bench library; match them with errors.Is.
var (
	// ErrConfig reports an invalid scenario configuration.
	ErrConfig = errors.New("bench: invalid config")
	// ErrUnknownTransport names a transport tickbench does not know.
	ErrUnknownTransport = errors.New("bench: unknown transport")
	// ErrNoAddress means the target has no address for a transport.
	ErrNoAddress = errors.New("bench: no server address for transport")
	// ErrNoProc means /proc is not available for the process (not Linux,
	// or the process is gone).
	ErrNoProc = errors.New("bench: /proc not available")
	// ErrImpairBypassed means a session did not go through the impair
	// proxy put in front of its server (WebRTC's ICE chose another path),
	// so the run would not measure the impairment it asked for.
	ErrImpairBypassed = errors.New("bench: the session bypassed the impair proxy")
)

// ErrServerLimits means the server refused the load with a rate limit
// meant for production (frames per second per session, registrations per
// address, messages per user): benchmark against a server with the bench
// limits (tickbench serve, or tickwire with its limits lifted).
var ErrServerLimits = errors.New("bench: the server's production limits refuse this load")
