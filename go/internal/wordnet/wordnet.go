// Package wordnet reads the wordnet-minilm data set for the tests and the example:
// the full 100k set ($VECLITE_DATA, or ../shared/data/wordnet-minilm next to the
// veclite checkout) or the 10k slice in the repository (data/wordnet-minilm-10k).
package wordnet

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
)

const (
	Dims     = 384    // vector dimensions
	NBase    = 100000 // rows in base.f16, pos.u8, lexname.u8, base.txt of the full set (see Rows)
	NQueries = 1000   // rows in queries.f32, queries.txt
	GTWidth  = 100    // ids per query in gt10k.i32 / gt100k.i32
)

// EnvData overrides the data directory.
const EnvData = "VECLITE_DATA"

// Dir returns the data directory: $VECLITE_DATA; else shared/data/wordnet-minilm
// beside the checkout (../../shared/data/wordnet-minilm from go/), if it is there;
// else the checkout's 10k slice, data/wordnet-minilm-10k. The error says where it
// looked.
func Dir() (string, error) {
	dir := os.Getenv(EnvData)
	from := EnvData
	if dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok || !filepath.IsAbs(file) {
			return "", fmt.Errorf("wordnet-minilm data: source location unknown; set %s to the data directory", EnvData)
		}
		checkout := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..")) // go/internal/wordnet -> checkout
		dir = filepath.Join(checkout, "..", "shared", "data", "wordnet-minilm")
		from = "../shared/data/wordnet-minilm and data/wordnet-minilm-10k relative to " + checkout
		if _, err := os.Stat(filepath.Join(dir, "base.f16")); err != nil {
			dir = filepath.Join(checkout, "data", "wordnet-minilm-10k")
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "base.f16")); err != nil {
		return "", fmt.Errorf("wordnet-minilm data missing: %s/base.f16 not found (looked in %s; set %s to the "+
			"directory holding base.f16, pos.u8, lexname.u8, queries.f32, base.txt): %w", dir, from, EnvData, err)
	}
	return dir, nil
}

// Rows returns the number of base rows in dir: NBase in the full set, 10,000 in
// the repository's slice.
func Rows(dir string) (int, error) {
	st, err := os.Stat(filepath.Join(dir, "base.f16"))
	if err != nil {
		return 0, err
	}
	return int(st.Size() / (Dims * 2)), nil
}

// Base holds the first N base rows.
type Base struct {
	Vectors [][]float32 // decoded from float16
	Pos     []uint8     // 0 noun, 1 verb, 2 adjective, 3 adverb
	Lex     []uint8     // WordNet lexicographer file, 0..44
}

// LoadBase reads the first n rows of base.f16, pos.u8 and lexname.u8.
func LoadBase(dir string, n int) (*Base, error) {
	rows, err := Rows(dir)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > rows {
		return nil, fmt.Errorf("wordnet-minilm: %d rows asked, %s has %d", n, dir, rows)
	}
	raw, err := readPrefix(filepath.Join(dir, "base.f16"), n*Dims*2)
	if err != nil {
		return nil, err
	}
	b := &Base{Vectors: make([][]float32, n)}
	flat := make([]float32, n*Dims)
	for i := range flat {
		flat[i] = F16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	for i := range b.Vectors {
		b.Vectors[i] = flat[i*Dims : (i+1)*Dims : (i+1)*Dims]
	}
	if b.Pos, err = readPrefix(filepath.Join(dir, "pos.u8"), n); err != nil {
		return nil, err
	}
	if b.Lex, err = readPrefix(filepath.Join(dir, "lexname.u8"), n); err != nil {
		return nil, err
	}
	return b, nil
}

// LoadQueries reads the first n query vectors of queries.f32.
func LoadQueries(dir string, n int) ([][]float32, error) {
	if n < 0 || n > NQueries {
		return nil, fmt.Errorf("wordnet-minilm: %d queries asked, there are %d", n, NQueries)
	}
	raw, err := readPrefix(filepath.Join(dir, "queries.f32"), n*Dims*4)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, Dims)
		for j := range out[i] {
			out[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(i*Dims+j):]))
		}
	}
	return out, nil
}

// LoadGT10k reads the ground truth of the first n queries over the first 10,000
// base rows: 100 0-based base ids per query, nearest first.
func LoadGT10k(dir string, n int) ([][]int32, error) {
	raw, err := readPrefix(filepath.Join(dir, "gt10k.i32"), n*GTWidth*4)
	if err != nil {
		return nil, err
	}
	out := make([][]int32, n)
	for i := range out {
		out[i] = make([]int32, GTWidth)
		for j := range out[i] {
			out[i][j] = int32(binary.LittleEndian.Uint32(raw[4*(i*GTWidth+j):]))
		}
	}
	return out, nil
}

// LoadLines reads the first n lines of a text file (base.txt, queries.txt).
func LoadLines(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	lines := make([]string, 0, n)
	for len(lines) < n && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(lines) < n {
		return nil, fmt.Errorf("%s: %d lines, %d needed", path, len(lines), n)
	}
	return lines, nil
}

func readPrefix(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("%s: reading the first %d bytes: %w", path, n, err)
	}
	return buf, nil
}

// F16ToF32 decodes an IEEE 754 half-precision value.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	default: // zero or subnormal: mant * 2^-24, exact in float32
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
}
