package veclite

import (
	"bytes"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// Vector is a float32 vector. As a query argument it is sent as veclite's vector
// BLOB (little-endian float32, 4 bytes per element); a nil Vector is sent as NULL.
// It scans from that BLOB (what a vector column and vector() return), from JSON
// text such as "[0.1, -2, 3e-4]" (what vector_to_json returns), or from NULL,
// which gives a nil Vector.
type Vector []float32

// Value implements driver.Valuer: the little-endian float32 BLOB, or NULL for nil.
// Values are not checked here; veclite rejects NaN, infinities and wrong
// dimensions with errors that name the table and column.
func (v Vector) Value() (driver.Value, error) {
	if v == nil {
		return nil, nil
	}
	return v.Blob(), nil
}

// Blob returns v encoded as veclite's vector BLOB (little-endian float32).
func (v Vector) Blob() []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// Scan implements sql.Scanner for a float32 BLOB, JSON text or NULL.
func (v *Vector) Scan(src any) error {
	switch s := src.(type) {
	case nil:
		*v = nil
		return nil
	case []byte:
		out, err := decodeBlob(s)
		if err != nil {
			return err
		}
		*v = out
		return nil
	case string:
		out, err := parseJSON(s)
		if err != nil {
			return err
		}
		*v = out
		return nil
	default:
		return fmt.Errorf("veclite: cannot scan %T into Vector: want a float32 BLOB, JSON text like '[0.1, 2]', or NULL", src)
	}
}

func decodeBlob(b []byte) (Vector, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("veclite: cannot scan a BLOB of %d bytes into Vector: the length is not a multiple of 4 (float32 elements)", len(b))
	}
	out := make(Vector, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

func parseJSON(s string) (Vector, error) {
	fail := func(why string) error {
		shown := s
		if len(shown) > 40 {
			shown = shown[:37] + "..."
		}
		return fmt.Errorf("veclite: cannot scan text %q into Vector: %s", shown, why)
	}
	if t := bytes.TrimSpace([]byte(s)); len(t) == 0 || t[0] != '[' {
		return nil, fail("want a JSON array of numbers like '[0.1, 2]'")
	}
	var out Vector
	// Unmarshal into []float32 rejects non-numbers, nesting and values outside
	// float32's range.
	if err := json.Unmarshal([]byte(s), (*[]float32)(&out)); err != nil {
		return nil, fail(err.Error())
	}
	if out == nil {
		out = Vector{}
	}
	return out, nil
}
