package web

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadRefusesAnIncompleteBuild(t *testing.T) {
	full := func() fstest.MapFS {
		return fstest.MapFS{
			"dist/tickwire.js":      {Data: []byte("export {}")},
			"dist/tickwire.js.map":  {Data: []byte("{}")},
			"dist/demo/index.html":  {Data: []byte("<!doctype html>")},
			"dist/demo/demo.js":     {Data: []byte("import '/web/tickwire.js'")},
			"dist/demo/demo.css":    {Data: []byte("body{}")},
			"dist/demo/logo.svg":    {Data: []byte("<svg/>")},
			"dist/demo/font.woff9":  {Data: []byte{0, 1}},
			"dist/demo/sub/deep.js": {Data: []byte("no")},
		}
	}
	s, err := load(full())
	require.NoError(t, err)
	assert.Equal(t, "text/html; charset=utf-8", s.index.ctype)
	assert.True(t, s.index.page)
	assert.Equal(t, "image/svg+xml", s.files["logo.svg"].ctype)
	assert.Equal(t, "application/octet-stream", s.files["font.woff9"].ctype, "unknown extensions are not sniffed")
	assert.NotContains(t, s.files, "sub", "one path segment under /web/")
	assert.NotContains(t, s.files, "index.html", "the page is served at / only")
	assert.NotEqual(t, s.files["demo.js"].etag, s.files["demo.css"].etag)

	for name, edit := range map[string]func(fstest.MapFS){
		"no page":         func(m fstest.MapFS) { delete(m, "dist/demo/index.html") },
		"no SDK":          func(m fstest.MapFS) { delete(m, "dist/tickwire.js") },
		"no source map":   func(m fstest.MapFS) { delete(m, "dist/tickwire.js.map") },
		"shadows the SDK": func(m fstest.MapFS) { m["dist/demo/tickwire.js"] = &fstest.MapFile{Data: []byte("x")} },
	} {
		m := full()
		edit(m)
		_, err := load(m)
		assert.Error(t, err, name)
	}
}
