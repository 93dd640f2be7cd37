// Package admin holds the comment operations console of api.md part C: a page of
// plain HTML, CSS and JavaScript modules, written by hand, with no build step and
// nothing fetched from elsewhere, so what is in this directory is exactly what the
// browser runs. Embedding it keeps the one binary enough to run the console.
//
// The gateway serves Files at /admin/ (index.html for /admin/ itself) and the page
// talks to the JSON API under /admin/api/, next to it. The page finds that API
// relative to its own address, so it also works behind a proxy that mounts it
// under a prefix.
package admin

import "embed"

// Files holds the console at its root: index.html, style.css and the JavaScript
// modules app.js imports. Browsers run a module only if it is served as
// JavaScript, so .js must go out as text/javascript.
//
//go:embed index.html style.css *.js
var Files embed.FS
