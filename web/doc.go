// Package web serves tickwire's browser SDK and demo page from the binary.
//
// The TypeScript sources (web/src, web/demo) are built by `make web`
// (`npm ci && npm run build` in web/) into web/dist, which is committed,
// so a fresh clone builds and serves them without Node. This package
// embeds the built files with go:embed and answers them on the server's
// one HTTP mux, through server.Config.Routes:
//
//	GET /{$}              the demo page (dist/demo/index.html)
//	GET /web/tickwire.js  the SDK, an ES module: import { Client } from "/web/tickwire.js"
//	GET /web/<file>       tickwire.js.map and the demo's other files (demo.js, demo.css)
//
// Every answer carries a strong ETag (a hash of the content) and
// Cache-Control: no-cache, so a browser revalidates and gets 304 Not
// Modified while the binary is unchanged. The page carries a strict
// Content-Security-Policy (scripts, styles and connections from its own
// origin only; WebSocket to any host) and X-Frame-Options: DENY. A path
// under /web/ that names no file is answered 404 with the API's JSON error
// body (netcode/httpapi).
//
// Concurrency: the handlers hold only immutable data built by Routes and
// are safe for concurrent use.
package web
