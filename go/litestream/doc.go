// Package litestream holds a test only: a WAL-mode veclite database replicated by
// Litestream (a `litestream replicate` process, file replica) while a writer
// inserts, restored into another directory twice (mid-write and at the end), and
// each restored copy checked against what the source answered at that point.
//
// Run it with scripts/test_scaleout.sh, which builds the litestream binary and sets
// VECLITE_LITESTREAM to it, and VECLITE_EXTENSION to the checkout's build.
package litestream
