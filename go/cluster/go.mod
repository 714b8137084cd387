module github.com/veclite/veclite/go/cluster

go 1.22

require (
	github.com/canonical/go-dqlite v1.11.5
	github.com/veclite/veclite/go v0.0.0-00010101000000-000000000000
)

require (
	github.com/Rican7/retry v0.3.0 // indirect
	github.com/ghodss/yaml v1.0.0 // indirect
	github.com/google/renameio v1.0.1 // indirect
	github.com/mattn/go-sqlite3 v1.14.53 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	golang.org/x/sync v0.0.0-20210220032951-036812b2e83c // indirect
	golang.org/x/sys v0.0.0-20210616094352-59db8d763f22 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)

// The Go module proxy refuses go-dqlite: build Debian's copy of its source
// (apt-get install golang-github-canonical-go-dqlite-dev), which matches the
// C library of libdqlite-dev (1.11.x).
replace github.com/canonical/go-dqlite => /usr/share/gocode/src/github.com/canonical/go-dqlite

// For the wordnet-minilm loader (go/internal/wordnet) of this checkout.
replace github.com/veclite/veclite/go => ../
