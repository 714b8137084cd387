//! Vector values: JSON text or little-endian float32 BLOB in, canonical BLOB out.
//!
//! Pure Rust, no SQLite. Every error says exactly what is wrong (the byte offset in
//! bad JSON, the element that is not finite, the BLOB length).

use std::fmt::Write as _;

/// Largest number of elements a vector value may have (tables allow 1..=8192; the
/// scalar functions accept up to this many).
pub const MAX_ELEMENTS: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VectorError {
    #[error("invalid vector JSON at byte {pos}: {what}")]
    Json { pos: usize, what: String },
    #[error("vector BLOB length {len} is not a multiple of 4 (float32 elements)")]
    BlobLength { len: usize },
    #[error("vector is empty: a vector needs at least one element")]
    Empty,
    #[error("vector element {index} is {what}: only finite numbers are allowed")]
    NotFinite { index: usize, what: &'static str },
    #[error("vector has {actual} dimensions, expected {expected}")]
    Dimensions { expected: usize, actual: usize },
    #[error("vector has more than {max} elements", max = MAX_ELEMENTS)]
    TooLarge,
    #[error("{0}")]
    Type(String),
    #[error("out of memory for a vector of {0} elements")]
    OutOfMemory(usize),
}

fn check_finite(v: &[f32]) -> Result<(), VectorError> {
    for (index, x) in v.iter().enumerate() {
        if !x.is_finite() {
            let what = if x.is_nan() { "NaN" } else { "infinite" };
            return Err(VectorError::NotFinite { index, what });
        }
    }
    Ok(())
}

/// Decodes a little-endian float32 BLOB, checking length and finiteness.
pub fn from_blob(bytes: &[u8]) -> Result<Vec<f32>, VectorError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(VectorError::BlobLength { len: bytes.len() });
    }
    let n = bytes.len() / 4;
    if n == 0 {
        return Err(VectorError::Empty);
    }
    if n > MAX_ELEMENTS {
        return Err(VectorError::TooLarge);
    }
    let mut out = Vec::new();
    out.try_reserve_exact(n)
        .map_err(|_| VectorError::OutOfMemory(n))?;
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
    check_finite(&out)?;
    Ok(out)
}

/// Views a float32 BLOB in place when it is suitably aligned (no copy); None when
/// it is not (misaligned, wrong length, or a big-endian target). No value checks.
pub fn view_blob(bytes: &[u8]) -> Option<&[f32]> {
    if cfg!(target_endian = "little") && !bytes.is_empty() {
        bytemuck::try_cast_slice::<u8, f32>(bytes).ok()
    } else {
        None
    }
}

/// Decodes a BLOB known to be well formed into `out` (cleared first). Used on the hot
/// path of scans: no allocation once `out` has grown.
pub fn decode_into(bytes: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
}

/// Encodes to the canonical little-endian float32 BLOB.
pub fn to_blob(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Formats as JSON text: `[0.1,-2.0,0.0003]`. Each element is printed with the
/// shortest representation that reads back to the same float32.
pub fn to_json(v: &[f32]) -> String {
    let mut s = String::with_capacity(v.len() * 10 + 2);
    s.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        // `{:?}` of f32 is the shortest round-trip form and always has a '.' or 'e'.
        let _ = write!(s, "{x:?}");
    }
    s.push(']');
    s
}

/// Parses JSON text of the form `[number, number, ...]`.
pub fn parse_json(text: &str) -> Result<Vec<f32>, VectorError> {
    let b = text.as_bytes();
    let mut p = Parser { b, pos: 0 };
    p.skip_ws();
    if p.peek() != Some(b'[') {
        return Err(p.err(match p.peek() {
            None => "expected '[' but the text is empty".to_string(),
            // JSON.stringify of a typed array gives an object ({"0":1,"1":2}).
            Some(b'{') => "expected '[' but found '{' (an object: for a Float32Array use Buffer.from(arr.buffer) or Array.from(arr))".to_string(),
            Some(c) => format!("expected '[' but found {}", describe(c)),
        }));
    }
    p.pos += 1;
    let mut out: Vec<f32> = Vec::new();
    p.skip_ws();
    if p.peek() == Some(b']') {
        return Err(VectorError::Empty);
    }
    loop {
        p.skip_ws();
        let start = p.pos;
        let num = p.number()?;
        let x = num as f32;
        if !x.is_finite() {
            return Err(VectorError::Json {
                pos: start,
                what: format!(
                    "number {} is out of float32 range",
                    std::str::from_utf8(&b[start..p.pos]).unwrap_or("?")
                ),
            });
        }
        if out.len() >= MAX_ELEMENTS {
            return Err(VectorError::TooLarge);
        }
        if out.len() == out.capacity() {
            out.try_reserve(out.len().max(16))
                .map_err(|_| VectorError::OutOfMemory(out.len()))?;
        }
        out.push(x);
        p.skip_ws();
        match p.peek() {
            Some(b',') => p.pos += 1,
            Some(b']') => {
                p.pos += 1;
                break;
            }
            None => return Err(p.err("expected ',' or ']' but the text ended".into())),
            Some(c) => return Err(p.err(format!("expected ',' or ']' but found {}", describe(c)))),
        }
    }
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(p.err(format!("unexpected {} after the closing ']'", describe(c))));
    }
    Ok(out)
}

fn describe(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("'{}'", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
    fn err(&self, what: String) -> VectorError {
        VectorError::Json {
            pos: self.pos,
            what,
        }
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
    fn digits(&mut self) -> usize {
        let s = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - s
    }
    /// A JSON number (RFC 8259 grammar), returned as f64.
    fn number(&mut self) -> Result<f64, VectorError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            None => return Err(self.err("expected a number but the text ended".into())),
            Some(c) => return Err(self.err(format!("expected a number but found {}", describe(c)))),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("expected a digit after '.'".into()));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("expected a digit in the exponent".into()));
            }
        }
        let s = std::str::from_utf8(&self.b[start..self.pos]).expect("ASCII digits");
        s.parse::<f64>().map_err(|_| VectorError::Json {
            pos: start,
            what: format!("bad number {s}"),
        })
    }
}

/// Checks a decoded vector against a table's dimensions.
pub fn check_dims(v: &[f32], expected: usize) -> Result<(), VectorError> {
    if v.len() != expected {
        return Err(VectorError::Dimensions {
            expected,
            actual: v.len(),
        });
    }
    Ok(())
}

/// Normalises in place; returns false for the zero vector (left untouched).
pub fn normalize(v: &mut [f32]) -> bool {
    // In f64: a huge component would overflow the f32 norm (and leave the vector
    // unnormalised, so it would look near to everything), a tiny one underflow it.
    let n = crate::distance::norm_f64(v);
    if n == 0.0 || !n.is_finite() {
        return false;
    }
    // (times the reciprocal: the f64 product differs from the quotient by at most
    // an ulp of f64, which the rounding to f32 almost never sees; divisions would
    // cost more than the rest of a load's per-vector work)
    let inv = 1.0 / n;
    for x in v.iter_mut() {
        *x = (f64::from(*x) * inv) as f32;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_roundtrip() {
        let v = parse_json(" [0.1, -2, 3e-4 ,1E2]").unwrap();
        assert_eq!(v, vec![0.1f32, -2.0, 3e-4, 100.0]);
        assert_eq!(parse_json(&to_json(&v)).unwrap(), v);
    }

    #[test]
    fn json_object_gets_a_hint() {
        let e = parse_json(" {\"0\": 1}").unwrap_err().to_string();
        assert!(
            e.starts_with("invalid vector JSON at byte 1: expected '[' but found '{'"),
            "{e}"
        );
        assert!(
            e.ends_with("use Buffer.from(arr.buffer) or Array.from(arr))"),
            "{e}"
        );
    }

    #[test]
    fn json_errors_name_the_byte() {
        assert_eq!(
            parse_json("[1, 2,, 3]").unwrap_err().to_string(),
            "invalid vector JSON at byte 6: expected a number but found ','"
        );
        assert_eq!(
            parse_json("[1 2]").unwrap_err().to_string(),
            "invalid vector JSON at byte 3: expected ',' or ']' but found '2'"
        );
        assert_eq!(parse_json("[]").unwrap_err(), VectorError::Empty);
        assert!(parse_json("[1e39]")
            .unwrap_err()
            .to_string()
            .contains("out of float32 range"));
        assert!(parse_json("[1] x")
            .unwrap_err()
            .to_string()
            .contains("after the closing"));
        assert!(parse_json("").is_err());
        assert!(parse_json("[NaN]").is_err());
        assert!(parse_json("[01]").is_err());
        assert!(parse_json("[1.]").is_err());
    }

    #[test]
    fn blob_checks() {
        assert_eq!(
            from_blob(&[0, 0, 0]).unwrap_err(),
            VectorError::BlobLength { len: 3 }
        );
        assert_eq!(from_blob(&[]).unwrap_err(), VectorError::Empty);
        let nan = to_blob(&[1.0, f32::NAN]);
        assert_eq!(
            from_blob(&nan).unwrap_err().to_string(),
            "vector element 1 is NaN: only finite numbers are allowed"
        );
        let v = vec![1.5f32, -0.25];
        assert_eq!(from_blob(&to_blob(&v)).unwrap(), v);
    }
}
