//! SQL values as vectors: JSON text or a little-endian float32 BLOB, with the
//! error wording every caller shares (functions, writes, KNN queries).

use super::ffi::{Value, ValueType};
use crate::error::{Error, Result};
use crate::vector::{self, VectorError};

/// Reads a vector argument: JSON text or float32 BLOB; NULL gives None.
pub fn arg_vector(fname: &str, v: Value<'_>) -> Result<Option<Vec<f32>>> {
    let r = match v.value_type() {
        ValueType::Null => return Ok(None),
        ValueType::Text => match std::str::from_utf8(v.text()) {
            Ok(s) => vector::parse_json(s),
            Err(_) => Err(VectorError::Type("vector text is not valid UTF-8".into())),
        },
        ValueType::Blob => vector::from_blob(v.blob()),
        ValueType::Integer => Err(VectorError::Type(
            "expected a vector (JSON text or float32 BLOB), got an integer".into(),
        )),
        ValueType::Float => Err(VectorError::Type(
            "expected a vector (JSON text or float32 BLOB), got a real".into(),
        )),
    };
    r.map(Some)
        .map_err(|e| Error::usage(format!("{fname}: {e}")))
}
