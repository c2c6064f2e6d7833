package server

import (
	"net/http"

	"github.com/tickwire/tickwire/server/console"
)

// withConsole puts the admin console's page (package console) in front
// of the admin listener's token check: GET /console and its two files
// answer without the token, every other path goes to authorized. The
// page holds no data; its fetches carry the token. Should the embedded
// files be unusable (a broken build), the console is off and logged.
func (s *Server) withConsole(authorized http.Handler) http.Handler {
	routes, err := console.Handler()
	if err != nil {
		s.log.Error("admin console off", "err", err)
		return authorized
	}
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.Handle(pattern, h)
	}
	mux.Handle("/", authorized)
	return mux
}
