module github.com/veclite/veclite/go/litestream

go 1.22

require github.com/veclite/veclite/go v0.0.0

require github.com/mattn/go-sqlite3 v1.14.53 // indirect

// The veclite Go package and its wordnet-minilm loader, from this checkout.
replace github.com/veclite/veclite/go => ../
