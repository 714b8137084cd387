//! `CREATE VIRTUAL TABLE ... USING veclite(...)` arguments -> [`TableConfig`].
//!
//! Pure parsing: no SQLite calls. Every error names the argument that is wrong.

use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::hnsw::Quantize;

pub const MAX_DIMS: usize = 8192;
/// Tables smaller than this are searched exactly (measured: see BENCHMARKS.md).
pub const DEFAULT_EXACT_THRESHOLD: usize = 1000;
pub const RESERVED: &[&str] = &["distance", "k", "ef", "query", "rowid", "oid", "_rowid_"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    Text,
    Integer,
    Real,
    Blob,
}

impl ColType {
    pub fn sql(self) -> &'static str {
        match self {
            ColType::Text => "TEXT",
            ColType::Integer => "INTEGER",
            ColType::Real => "REAL",
            ColType::Blob => "BLOB",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaColumn {
    pub name: String,
    pub ty: ColType,
    /// Declared collation, if any (`COLLATE NOCASE`).
    pub collate: Option<String>,
    /// An auxiliary column (vec0's `+name type`): stored and returned, never indexed;
    /// the table takes no WHERE term on it (SQLite applies them).
    pub aux: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableConfig {
    pub vector_name: String,
    pub dims: usize,
    pub metric: Metric,
    pub m: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
    /// Below this many rows a KNN query scans exactly instead of walking the graph
    /// (0 = always use the graph).
    pub exact_threshold: usize,
    /// How the in-memory index keeps vectors (`quantize = none | int8`).
    pub quantize: Quantize,
    pub meta: Vec<MetaColumn>,
}

/// The module arguments of a stored `CREATE VIRTUAL TABLE ... USING veclite(...)`
/// statement, split at top-level commas as SQLite splits them for xCreate.
pub fn module_args(create_sql: &str) -> Option<Vec<String>> {
    let lower = create_sql.to_ascii_lowercase();
    let at = lower.find("using")?;
    let open = at + create_sql[at..].find('(')?;
    let close = create_sql.rfind(')')?;
    if close <= open {
        return None;
    }
    let inner = &create_sql[open + 1..close];
    let mut args = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0usize);
    for (i, ch) in inner.char_indices() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None => match ch {
                '\'' | '"' | '`' => quote = Some(ch),
                '[' => quote = Some(']'),
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    args.push(inner[start..i].trim().to_string());
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    let last = inner[start..].trim();
    if !last.is_empty() || !args.is_empty() {
        args.push(last.to_string());
    }
    Some(args)
}

/// Quotes an identifier for SQL: `"a""b"`.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Parses the module arguments (what SQLite passes as argv[3..]).
pub fn parse(args: &[&str]) -> Result<TableConfig> {
    let mut vector: Option<(String, usize)> = None;
    let mut metric: Option<Metric> = None;
    let mut m: Option<usize> = None;
    let mut efc: Option<usize> = None;
    let mut efs: Option<usize> = None;
    let mut exact: Option<usize> = None;
    let mut quantize: Option<Quantize> = None;
    let mut meta: Vec<MetaColumn> = Vec::new();
    let mut names: Vec<String> = Vec::new();

    for raw in args {
        let arg = raw.trim();
        if arg.is_empty() {
            return Err(Error::config(
                "veclite: empty argument in CREATE VIRTUAL TABLE",
            ));
        }
        // An option is `key = value` with a one-word key; `v float[3] distance_metric=cosine`
        // (vec0's spelling) is a column definition with an `=` in it.
        if let Some(eq) = top_level_eq(arg).filter(|&eq| {
            let key = arg[..eq].trim();
            !key.is_empty() && !key.contains(char::is_whitespace)
        }) {
            let key = arg[..eq].trim().to_ascii_lowercase();
            let val = unquote_value(arg[eq + 1..].trim());
            let dup = |name: &str| Error::config(format!("veclite: option '{name}' given twice"));
            match key.as_str() {
                "distance" | "metric" | "distance_metric" => {
                    if metric.is_some() {
                        return Err(dup("distance"));
                    }
                    metric = Some(Metric::parse(&val).ok_or_else(|| {
                        Error::config(format!(
                            "veclite: unknown distance '{val}': expected l2, cosine or dot"
                        ))
                    })?);
                }
                "m" => {
                    if m.is_some() {
                        return Err(dup("m"));
                    }
                    m = Some(int_option("m", &val, 2, 256)?);
                }
                "ef_construction" => {
                    if efc.is_some() {
                        return Err(dup("ef_construction"));
                    }
                    efc = Some(int_option("ef_construction", &val, 1, 10_000)?);
                }
                "ef_search" => {
                    if efs.is_some() {
                        return Err(dup("ef_search"));
                    }
                    efs = Some(int_option("ef_search", &val, 1, 10_000)?);
                }
                "exact_threshold" => {
                    if exact.is_some() {
                        return Err(dup("exact_threshold"));
                    }
                    exact = Some(int_option("exact_threshold", &val, 0, 1_000_000_000)?);
                }
                "quantize" => {
                    if quantize.is_some() {
                        return Err(dup("quantize"));
                    }
                    quantize = Some(Quantize::parse(&val).ok_or_else(|| {
                        Error::config(format!(
                            "veclite: unknown quantize '{val}': expected none or int8"
                        ))
                    })?);
                }
                _ => {
                    return Err(Error::config(format!(
                        "veclite: unknown option '{}': options are distance, m, ef_construction, ef_search, exact_threshold, quantize",
                        arg[..eq].trim()
                    )))
                }
            }
            continue;
        }
        // A column definition: [+]name type [COLLATE name] [PARTITION KEY], or the
        // vector column: name float[DIMS] [distance_metric=l2|cosine|dot].
        let (aux, arg) = match arg.strip_prefix('+') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, arg),
        };
        let (name, rest) = split_ident(arg)?;
        let lname = name.to_ascii_lowercase();
        if RESERVED.contains(&lname.as_str()) {
            return Err(Error::config(format!(
                "veclite: column name '{name}' is reserved (distance, k, ef, query, rowid, oid and _rowid_ cannot be column names)"
            )));
        }
        if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            return Err(Error::config(format!(
                "veclite: duplicate column name '{name}'"
            )));
        }
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(Error::config(format!(
                "veclite: column '{name}' needs a type: float[DIMS], text, integer, real or blob"
            )));
        }
        // `float[ 3 ]`, `float [3]`: no spaces inside the type.
        let rest = squeeze_brackets(rest);
        let words: Vec<&str> = rest.split_whitespace().collect();
        let ty = words[0];
        let lty = ty.to_ascii_lowercase();
        if let Some(dims) = parse_float_type(&lty) {
            let dims = dims.map_err(|e| Error::config(format!("veclite: column '{name}': {e}")))?;
            if aux {
                return Err(Error::config(format!(
                    "veclite: column '{name}': an auxiliary (+) column cannot be the vector column"
                )));
            }
            // vec0's column option: `distance_metric=cosine` (spaces around `=` allowed).
            let opts = words[1..].join(" ").replace(" =", "=").replace("= ", "=");
            for opt in opts.split_whitespace() {
                let val = opt
                    .split_once('=')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("distance_metric"))
                    .map(|(_, v)| unquote_value(v))
                    .ok_or_else(|| {
                        Error::config(format!(
                            "veclite: unexpected '{}' after the vector column type of '{name}' (only distance_metric=l2|cosine|dot may follow it)",
                            words[1..].join(" ")
                        ))
                    })?;
                if metric.is_some() {
                    return Err(Error::config("veclite: option 'distance' given twice"));
                }
                metric = Some(Metric::parse(&val).ok_or_else(|| {
                    Error::config(format!(
                        "veclite: unknown distance '{val}': expected l2, cosine or dot"
                    ))
                })?);
            }
            if let Some((first, _)) = &vector {
                return Err(Error::config(format!(
                    "veclite: only one vector column is allowed, found '{first}' and '{name}'"
                )));
            }
            vector = Some((name.clone(), dims));
            names.push(name);
            continue;
        }
        // veclite's names, then vec0's (int, int64, boolean, float, double, ...).
        let ty = match lty.as_str() {
            "text" => ColType::Text,
            "integer" => ColType::Integer,
            "real" => ColType::Real,
            "blob" => ColType::Blob,
            "int" | "int64" | "integer64" | "bool" | "boolean" => ColType::Integer,
            "float" | "double" | "float64" | "f64" => ColType::Real,
            _ => {
                return Err(Error::config(format!(
                    "veclite: unknown type '{ty}' for column '{name}': expected float[DIMS], text, integer, real or blob"
                )))
            }
        };
        // `partition key` (vec0) ends the definition; it is an indexed metadata column.
        let mut words = &words[1..];
        let mut partition = false;
        if let [head @ .., p, k] = words {
            if p.eq_ignore_ascii_case("partition") && k.eq_ignore_ascii_case("key") {
                partition = true;
                words = head;
            }
        }
        if partition && (aux || ty == ColType::Blob) {
            return Err(Error::config(format!(
                "veclite: column '{name}': a partition key must be a text, integer or real column, not {}",
                if aux { "an auxiliary (+) column" } else { "a blob" }
            )));
        }
        let collate = match words {
            [] => None,
            [c, coll] if c.eq_ignore_ascii_case("collate") => {
                if !coll.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                    return Err(Error::config(format!(
                        "veclite: bad collation name '{coll}' for column '{name}'"
                    )));
                }
                Some(coll.to_string())
            }
            _ => {
                return Err(Error::config(format!(
                    "veclite: unexpected '{}' in the definition of column '{name}' (only COLLATE name may follow the type)",
                    words.join(" ")
                )))
            }
        };
        names.push(name.clone());
        meta.push(MetaColumn {
            name,
            ty,
            collate,
            aux,
        });
    }
    let (vector_name, dims) = vector.ok_or_else(|| {
        let bare_float = args.iter().any(|a| {
            let w: Vec<&str> = a.split_whitespace().collect();
            w.len() == 2 && w[1].eq_ignore_ascii_case("float")
        });
        Error::config(format!(
            "veclite: no vector column: declare one as name float[DIMS], e.g. embedding float[384]{}",
            if bare_float {
                " (float without [DIMS] is a real metadata column, as in vec0)"
            } else {
                ""
            }
        ))
    })?;
    Ok(TableConfig {
        vector_name,
        dims,
        metric: metric.unwrap_or(Metric::L2),
        m: m.unwrap_or(16),
        ef_construction: efc.unwrap_or(200),
        ef_search: efs.unwrap_or(64),
        exact_threshold: exact.unwrap_or(DEFAULT_EXACT_THRESHOLD),
        quantize: quantize.unwrap_or_default(),
        meta,
    })
}

fn int_option(name: &str, val: &str, lo: usize, hi: usize) -> Result<usize> {
    match val.parse::<usize>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(Error::config(format!(
            "veclite: option {name} must be an integer from {lo} to {hi}, got '{val}'"
        ))),
    }
}

/// Removes whitespace around and inside `[...]`, so a type is one word.
fn squeeze_brackets(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut inside = false;
    for c in s.chars() {
        match c {
            '[' => {
                while out.ends_with(char::is_whitespace) {
                    out.pop();
                }
                inside = true;
                out.push(c);
            }
            ']' => {
                inside = false;
                out.push(c);
            }
            c if inside && c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// `float[384]` -> Some(Ok(384)); other types -> None.
fn parse_float_type(ty: &str) -> Option<std::result::Result<usize, String>> {
    if ty == "float" {
        return None; // vec0's REAL metadata type
    }
    let inner = ty
        .strip_prefix("float32")
        .or_else(|| ty.strip_prefix("float"))
        .or_else(|| ty.strip_prefix("f32"))?
        .trim();
    if inner.is_empty() {
        return Some(Err(
            "vector type needs dimensions: float[DIMS], e.g. float[384]".to_string(),
        ));
    }
    let inner = inner.strip_prefix('[')?.strip_suffix(']')?.trim();
    Some(match inner.parse::<usize>() {
        Ok(d) if (1..=MAX_DIMS).contains(&d) => Ok(d),
        _ => Err(format!(
            "vector dimensions must be an integer from 1 to {MAX_DIMS}, got '{inner}'"
        )),
    })
}

fn top_level_eq(arg: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in arg.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '[' => quote = Some(']'),
                '=' => return Some(i),
                _ => {}
            },
        }
    }
    None
}

fn unquote_value(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// Splits a leading identifier (bare, "double", `back` or [bracket] quoted) off `s`.
fn split_ident(s: &str) -> Result<(String, &str)> {
    let first = s.chars().next().unwrap_or(' ');
    let close = match first {
        '"' => Some('"'),
        '`' => Some('`'),
        '[' => Some(']'),
        _ => None,
    };
    if let Some(close) = close {
        let mut name = String::new();
        let mut it = s.char_indices().skip(1).peekable();
        while let Some((i, c)) = it.next() {
            if c == close {
                if close != ']' && it.peek().map(|&(_, n)| n) == Some(close) {
                    name.push(close);
                    it.next();
                    continue;
                }
                if name.is_empty() {
                    return Err(Error::config("veclite: empty column name"));
                }
                return Ok((name, &s[i + c.len_utf8()..]));
            }
            name.push(c);
        }
        return Err(Error::config(format!(
            "veclite: unterminated quoted name in '{s}'"
        )));
    }
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    if end == 0 {
        return Err(Error::config(format!(
            "veclite: cannot read a column name in '{s}'"
        )));
    }
    Ok((s[..end].to_string(), &s[end..]))
}

/// A tuning constant, overridden by environment variable `var` when it holds a
/// value `valid` accepts (read once per constant by the caller, for calibrating
/// on other hardware; see BENCHMARKS.md).
pub fn tuning<T: std::str::FromStr>(var: &str, default: T, valid: impl Fn(&T) -> bool) -> T {
    std::env::var(var)
        .ok()
        .and_then(|s| s.trim().parse::<T>().ok())
        .filter(|v| valid(v))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(args: &[&str]) -> String {
        parse(args).unwrap_err().to_string()
    }

    #[test]
    fn full_example() {
        let c = parse(&[
            "embedding float[384]",
            "category text",
            "year integer",
            "distance = cosine",
            "m = 16",
            "ef_construction = 200",
            "ef_search = 64",
        ])
        .unwrap();
        assert_eq!(c.vector_name, "embedding");
        assert_eq!(c.dims, 384);
        assert_eq!(c.metric, Metric::Cosine);
        assert_eq!(c.meta.len(), 2);
        assert_eq!(c.meta[1].ty, ColType::Integer);
    }

    #[test]
    fn defaults_and_quoting() {
        let c = parse(&["\"my vec\" FLOAT[3]", "[tag] TEXT collate nocase"]).unwrap();
        assert_eq!(c.vector_name, "my vec");
        assert_eq!(c.metric, Metric::L2);
        assert_eq!((c.m, c.ef_construction, c.ef_search), (16, 200, 64));
        assert_eq!(c.meta[0].name, "tag");
        assert_eq!(c.meta[0].collate.as_deref(), Some("nocase"));
    }

    #[test]
    fn vec0_spellings() {
        let c = parse(&[
            "movie_id integer partition key",
            "synopsis_embedding float32[768] distance_metric=cosine",
            "genre text",
            "num_reviews int",
            "mean_rating float",
            "violent boolean",
            "+title text",
            "+ \"raw data\" blob",
        ])
        .unwrap();
        assert_eq!(
            (c.vector_name.as_str(), c.dims),
            ("synopsis_embedding", 768)
        );
        assert_eq!(c.metric, Metric::Cosine);
        let tys: Vec<(ColType, bool)> = c.meta.iter().map(|m| (m.ty, m.aux)).collect();
        use ColType::*;
        assert_eq!(
            tys,
            [
                (Integer, false),
                (Text, false),
                (Integer, false),
                (Real, false),
                (Integer, false),
                (Text, true),
                (Blob, true)
            ]
        );
        assert_eq!(c.meta[6].name, "raw data");
        for spelling in [
            "v float[3] distance_metric = l2",
            "v float[3]  DISTANCE_METRIC= L2",
        ] {
            assert_eq!(parse(&[spelling]).unwrap().metric, Metric::L2);
        }
        assert_eq!(
            parse(&["v float[3]", "distance_metric = dot"])
                .unwrap()
                .metric,
            Metric::Dot
        );
        assert!(err(&["v float[3] distance_metric=l1"]).contains("unknown distance 'l1'"));
        assert!(
            err(&["v float[3] distance_metric=cosine", "distance = l2"]).contains("given twice")
        );
        assert!(err(&["v float[3] colour=red"]).contains("only distance_metric"));
        assert!(err(&["+v float[3]"]).contains("auxiliary (+) column cannot be the vector"));
        assert!(err(&["v float[3]", "+t text partition key"]).contains("partition key must be"));
        assert!(err(&["v float[3]", "b blob partition key"]).contains("partition key must be"));
        assert!(err(&["a float"]).contains("float without [DIMS] is a real metadata column"));
        assert!(err(&["a float32"]).contains("needs dimensions"));
        let c = parse(&["v float[3]", "u text collate nocase partition key"]).unwrap();
        assert_eq!(c.meta[0].collate.as_deref(), Some("nocase"));
        assert!(!c.meta[0].aux);
    }

    #[test]
    fn errors() {
        assert!(err(&[]).contains("no vector column"));
        assert!(err(&["a float[3]", "b float[3]"]).contains("only one vector column"));
        assert!(err(&["a float[0]"]).contains("from 1 to 8192"));
        assert_eq!(parse(&["a float[ 3 ]"]).unwrap().dims, 3);
        assert_eq!(parse(&["a float [3]", "b text"]).unwrap().dims, 3);
        assert!(err(&["a float[8193]"]).contains("from 1 to 8192"));
        assert!(err(&["a f32"]).contains("needs dimensions"));
        assert!(err(&["a float[3]", "A text"]).contains("duplicate column name 'A'"));
        assert!(err(&["a float[3]", "distance text"]).contains("reserved"));
        assert!(err(&["a float[3]", "k integer"]).contains("reserved"));
        assert!(err(&["a float[3]", "b varchar"]).contains("unknown type 'varchar'"));
        assert!(err(&["a float[3]", "b"]).contains("needs a type"));
        assert!(err(&["a float[3]", "foo = 1"]).contains("unknown option 'foo'"));
        assert!(err(&["a float[3]", "distance = manhattan"]).contains("unknown distance"));
        assert!(err(&["a float[3]", "m = 1"]).contains("option m must be"));
        assert!(err(&["a float[3]", "m = x"]).contains("option m must be"));
        assert!(err(&["a float[3]", "m = 8", "m = 9"]).contains("given twice"));
        assert!(err(&["a float[3]", "b text primary key"]).contains("unexpected"));
    }
}
