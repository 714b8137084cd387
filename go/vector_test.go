package veclite_test

import (
	"bytes"
	"database/sql"
	"math"
	"reflect"
	"strings"
	"testing"

	veclite "github.com/veclite/veclite/go"
)

func TestVectorValue(t *testing.T) {
	v, err := veclite.Vector{1, -2, 0.5}.Value()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f}
	if b, ok := v.([]byte); !ok || !bytes.Equal(b, want) {
		t.Errorf("Value() = %#v, want little-endian float32 %x", v, want)
	}
	if v, err := veclite.Vector(nil).Value(); v != nil || err != nil {
		t.Errorf("nil Vector: Value() = (%#v, %v), want NULL", v, err)
	}
	if v, _ := (veclite.Vector{}).Value(); v == nil || len(v.([]byte)) != 0 {
		t.Errorf("empty Vector: Value() = %#v, want an empty BLOB", v)
	}
}

func TestVectorScan(t *testing.T) {
	good := []struct {
		src  any
		want veclite.Vector
	}{
		{[]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, veclite.Vector{1, -2}},
		{"[1, -2, 3e-4]", veclite.Vector{1, -2, 3e-4}},
		{" [0.5,-2.0,0.0003,0.1] ", veclite.Vector{0.5, -2, 0.0003, 0.1}},
		{"[]", veclite.Vector{}},
		{[]byte{}, veclite.Vector{}},
		{nil, nil},
	}
	for _, c := range good {
		v := veclite.Vector{9, 9} // Scan must overwrite
		if err := v.Scan(c.src); err != nil {
			t.Errorf("Scan(%#v): %v", c.src, err)
			continue
		}
		if !reflect.DeepEqual(v, c.want) {
			t.Errorf("Scan(%#v) = %#v, want %#v", c.src, v, c.want)
		}
	}

	bad := []struct {
		src    any
		errHas string
	}{
		{[]byte{1, 2, 3}, "BLOB of 3 bytes"},
		{"[1, 2,, 3]", "invalid character"},
		{"[1, \"a\"]", "cannot unmarshal string"},
		{"[[1]]", "cannot unmarshal array"},
		{"[1e40]", "cannot unmarshal number 1e40"},
		{"{}", "want a JSON array"},
		{"null", "want a JSON array"},
		{"", "want a JSON array"},
		{int64(42), "cannot scan int64"},
		{3.5, "cannot scan float64"},
	}
	for _, c := range bad {
		var v veclite.Vector
		err := v.Scan(c.src)
		if err == nil || !strings.Contains(err.Error(), c.errHas) || !strings.HasPrefix(err.Error(), "veclite: ") {
			t.Errorf("Scan(%#v): error %v, want one mentioning %q", c.src, err, c.errHas)
		}
	}
}

// TestVectorThroughSQL sends Vectors as arguments and scans them back from the
// BLOB and JSON forms that veclite's functions return.
func TestVectorThroughSQL(t *testing.T) {
	db := openMemory(t)
	in := veclite.Vector{0.5, -2, 3e-4, 0.1, float32(math.Pi)}

	var blob, fromJSON veclite.Vector
	var text string
	var dims int
	if err := db.QueryRow(`SELECT vector(?), vector_to_json(?), vector_to_json(?), vector_dims(?)`, in, in, in, in).
		Scan(&blob, &fromJSON, &text, &dims); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(blob, in) || !reflect.DeepEqual(fromJSON, in) || dims != len(in) {
		t.Errorf("round trip of %v: BLOB %v, JSON %v (%s), dims %d", in, blob, fromJSON, text, dims)
	}

	// JSON text arguments work too, and distances agree with the Go arithmetic.
	var l2, cos float64
	if err := db.QueryRow(`SELECT l2_distance(?, '[3, 4]'), cosine_distance(?, ?)`,
		veclite.Vector{0, 0}, veclite.Vector{1, 0}, "[0, 1]").Scan(&l2, &cos); err != nil {
		t.Fatal(err)
	}
	if math.Abs(l2-5) > 1e-6 || math.Abs(cos-1) > 1e-6 {
		t.Errorf("l2_distance = %v (want 5), cosine_distance = %v (want 1)", l2, cos)
	}

	// NULL scans to a nil Vector; functions give NULL for NULL.
	var null veclite.Vector = veclite.Vector{1}
	if err := db.QueryRow(`SELECT vector_to_json(?)`, veclite.Vector(nil)).Scan(&null); err != nil || null != nil {
		t.Errorf("NULL: got (%v, %v), want a nil Vector", null, err)
	}

	// A scan error reaches the caller through database/sql.
	var v veclite.Vector
	if err := db.QueryRow(`SELECT X'000000'`).Scan(&v); err == nil || !strings.Contains(err.Error(), "multiple of 4") {
		t.Errorf("3-byte BLOB: got %v, want a length error", err)
	}
	if err := db.QueryRow(`SELECT 42`).Scan(&v); err == nil || !strings.Contains(err.Error(), "cannot scan int64") {
		t.Errorf("integer: got %v, want a type error", err)
	}
}

// openMemory opens a one-connection in-memory database with veclite loaded.
func openMemory(t *testing.T) *sql.DB {
	t.Helper()
	db, err := veclite.Open(":memory:", veclite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}
