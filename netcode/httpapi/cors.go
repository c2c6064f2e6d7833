package httpapi

import (
	"net/http"
	"sync/atomic"

	"github.com/tickwire/tickwire/netcode"
)

// The CORS answer, the same for every route: the API's methods, the two
// request headers a page sets (the bearer token and the JSON body's
// type), and the response headers a page may read besides the safelisted
// ones. Credentials are never allowed: tokens travel in Authorization,
// never in cookies.
const (
	corsAllowMethods  = "GET, POST, PUT, DELETE"
	corsAllowHeaders  = "Authorization, Content-Type"
	corsExposeHeaders = "Retry-After, WWW-Authenticate"
	corsMaxAge        = "600" // seconds a browser may cache a preflight answer
)

// CORSCounters count what Wrap's CORS did; the zero value is ready. Give
// the same *CORSCounters to every Wrap whose counts should add up. Safe
// for concurrent use.
type CORSCounters struct {
	preflights        atomic.Uint64
	preflightsRefused atomic.Uint64
	foreign           atomic.Uint64
}

// CORSStats is a snapshot of CORSCounters.
type CORSStats struct {
	// Preflights counts preflight requests (OPTIONS with
	// Access-Control-Request-Method) from an allowed origin, answered
	// 204 without reaching a handler.
	Preflights uint64 `json:"preflights"`
	// PreflightsRefused counts preflights from an origin the policy does
	// not allow, answered 403 forbidden.
	PreflightsRefused uint64 `json:"preflights_refused"`
	// Foreign counts other requests from such an origin: served, without
	// CORS headers, so that the browser keeps the answer from the page.
	Foreign uint64 `json:"foreign"`
}

// Stats returns a snapshot.
func (c *CORSCounters) Stats() CORSStats {
	return CORSStats{
		Preflights:        c.preflights.Load(),
		PreflightsRefused: c.preflightsRefused.Load(),
		Foreign:           c.foreign.Load(),
	}
}

// cors applies the origin policy to a request from a browser page on
// another origin and reports whether it answered the request itself (a
// preflight). An allowed origin gets Access-Control-Allow-Origin (that
// origin, never "*"), Vary: Origin and the exposed headers; its preflight
// is answered 204 with the allowed methods and headers. A disallowed
// origin gets no CORS headers, and its preflight 403 forbidden. A request
// without Origin is left alone.
func cors(w http.ResponseWriter, r *http.Request, origins *OriginPolicy, c *CORSCounters) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	h := w.Header()
	h.Add("Vary", "Origin")
	if !origins.AllowsOrigin(origin, r.Host) {
		if !preflight {
			c.foreign.Add(1)
			return false
		}
		c.preflightsRefused.Add(1)
		WriteError(w, r, netcode.Errorf(netcode.CodeForbidden, "origin not allowed"))
		return true
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if !preflight {
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		return false
	}
	c.preflights.Add(1)
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	WriteNoContent(w)
	return true
}
