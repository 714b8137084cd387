//! Pushed-down terms evaluated on the index's own copy of the metadata (the cells
//! of `hnsw::Column`), with SQLite's comparison rules, so a term selects exactly
//! the rows the same WHERE selects on `<t>_rows`:
//! * storage classes order NULL < INTEGER/REAL < TEXT < BLOB; an INTEGER and a
//!   REAL compare by exact value;
//! * the column's affinity applies to the bound value (INTEGER and REAL columns:
//!   a well-formed numeric text becomes a number; TEXT columns: a number becomes
//!   its text), as in a comparison between a column and a bound parameter; the
//!   conversions themselves are SQLite's (`CAST`, run by the planner);
//! * BINARY, NOCASE and RTRIM collations (declared or written in the query);
//!   other collations keep the SQL path;
//! * NULL makes every comparison but IS / IS NOT not true.
//!
//! Text and blob cells longer than `hnsw::PREFIX` hold only a prefix: a comparison
//! the prefix cannot decide answers [`Tri::Maybe`], and the caller evaluates the
//! row again with its stored values.

use std::cmp::Ordering;

use super::config::ColType;
use super::ffi::OwnedValue;
use super::plan::{Filter, Op};
use crate::hnsw::{Bytes, Cell};

/// A comparison's collation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coll {
    Binary,
    Nocase,
    Rtrim,
}

impl Coll {
    /// The built-in collation `name` (None: no collation given, BINARY); other
    /// collations are not evaluated here.
    pub fn of(name: Option<&str>) -> Option<Coll> {
        match name {
            None => Some(Coll::Binary),
            Some(n) if n.eq_ignore_ascii_case("binary") => Some(Coll::Binary),
            Some(n) if n.eq_ignore_ascii_case("nocase") => Some(Coll::Nocase),
            Some(n) if n.eq_ignore_ascii_case("rtrim") => Some(Coll::Rtrim),
            Some(_) => None,
        }
    }
}

/// The affinity a column gives the value it is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affinity {
    Numeric,
    Text,
    None,
}

impl Affinity {
    /// A metadata column's (None: the rowid, an INTEGER).
    pub fn of(ty: Option<ColType>) -> Affinity {
        match ty {
            None | Some(ColType::Integer) | Some(ColType::Real) => Affinity::Numeric,
            Some(ColType::Text) => Affinity::Text,
            Some(ColType::Blob) => Affinity::None,
        }
    }
}

/// What a bound value needs from SQLite before it is compared under an affinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cast {
    /// `CAST(? AS TEXT)`
    Text,
    /// `CAST(? AS NUMERIC)` (the value is a well-formed number, so this is what
    /// the affinity gives it, up to INTEGER vs REAL of an integral value, which
    /// compare equal).
    Numeric,
}

/// The conversion `v` needs under `aff`, if any.
pub fn cast_for(v: &OwnedValue, aff: Affinity) -> Option<Cast> {
    match (aff, v) {
        (Affinity::Text, OwnedValue::Integer(_) | OwnedValue::Real(_)) => Some(Cast::Text),
        (Affinity::Numeric, OwnedValue::Text(t)) if is_numeric_text(t) => Some(Cast::Numeric),
        _ => None,
    }
}

/// SQLite's test for "a text that numeric affinity converts" (`sqlite3AtoF`
/// returning > 0): optional white space, an optional sign, digits with an
/// optional decimal point (at least one digit), an optional complete exponent,
/// optional white space, nothing else.
pub fn is_numeric_text(t: &[u8]) -> bool {
    let space = |c: u8| c == b' ' || (0x09..=0x0d).contains(&c);
    let mut i = 0;
    let n = t.len();
    while i < n && space(t[i]) {
        i += 1;
    }
    if i < n && (t[i] == b'+' || t[i] == b'-') {
        i += 1;
    }
    let mut digits = 0;
    while i < n && t[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < n && t[i] == b'.' {
        i += 1;
        while i < n && t[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return false;
    }
    if i < n && (t[i] == b'e' || t[i] == b'E') {
        i += 1;
        if i < n && (t[i] == b'+' || t[i] == b'-') {
            i += 1;
        }
        let mut e = 0;
        while i < n && t[i].is_ascii_digit() {
            i += 1;
            e += 1;
        }
        if e == 0 {
            return false;
        }
    }
    while i < n && space(t[i]) {
        i += 1;
    }
    i == n
}

/// A value as a cell, whole (a bound value, or a row's stored value read back to
/// settle a [`Tri::Maybe`]).
pub fn whole_cell(v: &OwnedValue) -> Cell {
    match v {
        OwnedValue::Null => Cell::Null,
        OwnedValue::Integer(i) => Cell::Int(*i),
        OwnedValue::Real(r) => Cell::Real(*r),
        OwnedValue::Text(t) => Cell::Text(Bytes::whole(t)),
        OwnedValue::Blob(b) => Cell::Blob(Bytes::whole(b)),
    }
}

/// A stored value as the index keeps it (long text and blobs as a prefix).
pub fn stored_cell(v: &OwnedValue) -> Cell {
    match v {
        OwnedValue::Text(t) => Cell::Text(Bytes::new(t)),
        OwnedValue::Blob(b) => Cell::Blob(Bytes::new(b)),
        v => whole_cell(v),
    }
}

/// A three-valued answer: the prefix of a long value may leave it open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Maybe,
}

/// One term, compiled: the column (None: rowid), operator, collation and the
/// bound values with the column's affinity applied.
#[derive(Clone, Debug)]
pub struct Term {
    pub column: Option<usize>,
    pub op: Op,
    pub coll: Coll,
    pub values: Vec<Cell>,
    /// The term on an INTEGER cell, when every value is an INTEGER: plain i64
    /// comparisons (the common case of ids, days, categories).
    ints: Option<IntTest>,
}

/// A term whose values are all INTEGERs, tested on an INTEGER cell.
#[derive(Clone, Debug)]
enum IntTest {
    Eq(i64),
    Ne(i64),
    Lt(i64),
    Le(i64),
    Gt(i64),
    Ge(i64),
    In(Vec<i64>),
}

impl IntTest {
    fn new(op: Op, values: &[Cell]) -> Option<IntTest> {
        let ints: Option<Vec<i64>> = values
            .iter()
            .map(|v| match v {
                Cell::Int(i) => Some(*i),
                _ => None,
            })
            .collect();
        let ints = ints?;
        let one = ints.first().copied();
        Some(match op {
            Op::Eq | Op::Is => IntTest::Eq(one?),
            Op::Ne | Op::IsNot => IntTest::Ne(one?),
            Op::Lt => IntTest::Lt(one?),
            Op::Le => IntTest::Le(one?),
            Op::Gt => IntTest::Gt(one?),
            Op::Ge => IntTest::Ge(one?),
            Op::In if !ints.is_empty() => IntTest::In(ints),
            _ => return None,
        })
    }

    #[inline]
    fn test(&self, x: i64) -> bool {
        match self {
            IntTest::Eq(v) => x == *v,
            IntTest::Ne(v) => x != *v,
            IntTest::Lt(v) => x < *v,
            IntTest::Le(v) => x <= *v,
            IntTest::Gt(v) => x > *v,
            IntTest::Ge(v) => x >= *v,
            IntTest::In(vs) => vs.contains(&x),
        }
    }
}

impl Term {
    /// `filter` with its converted values; its collation is the one the plan
    /// names, else the column's `declared` one. None if that is not built in.
    pub fn new(filter: &Filter, declared: Option<&str>, values: Vec<Cell>) -> Option<Term> {
        Some(Term {
            column: filter.column,
            op: filter.op,
            coll: Coll::of(filter.collation.as_deref().or(declared))?,
            ints: IntTest::new(filter.op, &values),
            values,
        })
    }

    /// Whether every value is an INTEGER, so that [`int_holds`](Self::int_holds)
    /// decides the term on an INTEGER cell.
    pub fn has_ints(&self) -> bool {
        self.ints.is_some()
    }

    /// The values of an `IN` list whose values are all INTEGERs.
    pub fn int_list(&self) -> Option<&[i64]> {
        match &self.ints {
            Some(IntTest::In(vs)) => Some(vs),
            _ => None,
        }
    }

    /// The term on an INTEGER cell `x`, for a term with [`has_ints`](Self::has_ints)
    /// (false otherwise: ask [`eval`](Self::eval)).
    #[inline]
    pub fn int_holds(&self, x: i64) -> bool {
        self.ints.as_ref().is_some_and(|t| t.test(x))
    }

    /// Does `cell` (the row's value of this term's column) satisfy the term.
    #[inline]
    pub fn eval(&self, cell: &Cell) -> Tri {
        if let (Some(f), Cell::Int(x)) = (&self.ints, cell) {
            return tri(f.test(*x));
        }
        self.eval_any(cell)
    }

    /// [`eval`](Self::eval) for any cell and values.
    #[inline(never)]
    fn eval_any(&self, cell: &Cell) -> Tri {
        let first = self.values.first();
        match self.op {
            Op::IsNull => tri(matches!(cell, Cell::Null)),
            Op::NotNull => tri(!matches!(cell, Cell::Null)),
            Op::Is | Op::IsNot => {
                let v = first.unwrap_or(&Cell::Null);
                let same = match (cell, v) {
                    (Cell::Null, Cell::Null) => Tri::Yes,
                    (Cell::Null, _) | (_, Cell::Null) => Tri::No,
                    _ => match compare(cell, v, self.coll) {
                        Some(o) => tri(o == Ordering::Equal),
                        None => Tri::Maybe,
                    },
                };
                if self.op == Op::Is {
                    same
                } else {
                    not(same)
                }
            }
            Op::In => {
                if matches!(cell, Cell::Null) {
                    return Tri::No;
                }
                let mut r = Tri::No;
                for v in &self.values {
                    if matches!(v, Cell::Null) {
                        continue;
                    }
                    match compare(cell, v, self.coll) {
                        Some(Ordering::Equal) => return Tri::Yes,
                        Some(_) => {}
                        None => r = Tri::Maybe,
                    }
                }
                r
            }
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let Some(v) = first else {
                    return Tri::No;
                };
                if matches!(cell, Cell::Null) || matches!(v, Cell::Null) {
                    return Tri::No;
                }
                let Some(o) = compare(cell, v, self.coll) else {
                    return Tri::Maybe;
                };
                tri(match self.op {
                    Op::Eq => o == Ordering::Equal,
                    Op::Ne => o != Ordering::Equal,
                    Op::Lt => o == Ordering::Less,
                    Op::Le => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })
            }
        }
    }
}

#[inline]
/// The terms (all on one column) as one inclusive INTEGER range, when each is
/// `=`, `<`, `<=`, `>` or `>=` with an INTEGER value: on an INTEGER cell they hold
/// exactly when the value is in the range (a pass over a column tests two bounds).
pub fn int_range(terms: &[&Term]) -> Option<(i64, i64)> {
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    for t in terms {
        match t.ints.as_ref()? {
            IntTest::Eq(v) => {
                lo = lo.max(*v);
                hi = hi.min(*v);
            }
            IntTest::Ge(v) => lo = lo.max(*v),
            IntTest::Gt(v) => lo = lo.max(v.checked_add(1)?),
            IntTest::Le(v) => hi = hi.min(*v),
            IntTest::Lt(v) => hi = hi.min(v.checked_sub(1)?),
            IntTest::Ne(_) | IntTest::In(_) => return None,
        }
    }
    Some((lo, hi))
}

fn tri(b: bool) -> Tri {
    if b {
        Tri::Yes
    } else {
        Tri::No
    }
}

fn not(t: Tri) -> Tri {
    match t {
        Tri::Yes => Tri::No,
        Tri::No => Tri::Yes,
        Tri::Maybe => Tri::Maybe,
    }
}

/// The conjunction of `terms` for the row `rowid`, `cell(i)` giving its value of
/// metadata column `i`.
pub fn eval_all<'a>(terms: &[Term], rowid: i64, mut cell: impl FnMut(usize) -> &'a Cell) -> Tri {
    let rc = Cell::Int(rowid);
    let mut r = Tri::Yes;
    for t in terms {
        let c = match t.column {
            None => &rc,
            Some(i) => cell(i),
        };
        match t.eval(c) {
            Tri::No => return Tri::No,
            Tri::Maybe => r = Tri::Maybe,
            Tri::Yes => {}
        }
    }
    r
}

fn class(c: &Cell) -> u8 {
    match c {
        Cell::Null => 0,
        Cell::Int(_) | Cell::Real(_) => 1,
        Cell::Text(_) => 2,
        Cell::Blob(_) => 3,
    }
}

/// SQLite's order of two values under `coll` (None: a held prefix cannot tell).
#[inline]
pub fn compare(a: &Cell, b: &Cell, coll: Coll) -> Option<Ordering> {
    match (a, b) {
        (Cell::Int(x), Cell::Int(y)) => Some(x.cmp(y)),
        (Cell::Real(x), Cell::Real(y)) => Some(x.partial_cmp(y).unwrap_or(Ordering::Equal)),
        (Cell::Int(x), Cell::Real(y)) => Some(int_real(*x, *y)),
        (Cell::Real(x), Cell::Int(y)) => Some(int_real(*y, *x).reverse()),
        (Cell::Text(x), Cell::Text(y)) => bytes(x, y, coll),
        (Cell::Blob(x), Cell::Blob(y)) => bytes(x, y, Coll::Binary),
        _ => Some(class(a).cmp(&class(b))),
    }
}

/// An INTEGER against a REAL, exactly (as SQLite does with a long double).
#[inline]
fn int_real(i: i64, r: f64) -> Ordering {
    if r.is_nan() {
        return Ordering::Less;
    }
    if r < -9_223_372_036_854_775_808.0 {
        return Ordering::Greater;
    }
    if r >= 9_223_372_036_854_775_808.0 {
        return Ordering::Less;
    }
    let t = r.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal if r > t => Ordering::Less,
        Ordering::Equal if r < t => Ordering::Greater,
        o => o,
    }
}

fn fold(c: u8, coll: Coll) -> u8 {
    if coll == Coll::Nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

/// Two texts (or blobs, BINARY) under `coll`; either may be a prefix.
fn bytes(a: &Bytes, b: &Bytes, coll: Coll) -> Option<Ordering> {
    let (x, y) = (a.held(), b.held());
    if !a.truncated() && !b.truncated() {
        return Some(whole(x, y, coll));
    }
    if coll == Coll::Rtrim {
        // Trailing spaces past the prefix could still be all there is.
        return None;
    }
    let n = x.len().min(y.len());
    for i in 0..n {
        let (p, q) = (fold(x[i], coll), fold(y[i], coll));
        if p != q {
            return Some(p.cmp(&q));
        }
    }
    // Equal over the shorter held part: decided only if that side is whole (a
    // proper prefix of the other, which is longer).
    let a_whole_short = !a.truncated() && x.len() == n;
    let b_whole_short = !b.truncated() && y.len() == n;
    if a_whole_short || b_whole_short {
        Some(a.len().cmp(&b.len()))
    } else {
        None
    }
}

/// Two whole texts under `coll` (SQLite's binCollFunc, nocaseCollatingFunc and
/// rtrimCollFunc).
fn whole(x: &[u8], y: &[u8], coll: Coll) -> Ordering {
    match coll {
        Coll::Binary => x.cmp(y),
        Coll::Nocase => {
            let n = x.len().min(y.len());
            for i in 0..n {
                let (p, q) = (x[i].to_ascii_lowercase(), y[i].to_ascii_lowercase());
                if p != q {
                    return p.cmp(&q);
                }
            }
            x.len().cmp(&y.len())
        }
        Coll::Rtrim => {
            let trim = |s: &[u8]| {
                let mut n = s.len();
                while n > 0 && s[n - 1] == b' ' {
                    n -= 1;
                }
                n
            };
            x[..trim(x)].cmp(&y[..trim(y)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_text_follows_sqlite_atof() {
        for t in ["1", " 12 ", "-3.5", "+.5", "1.", "1e5", "1E-2", "\t7\n"] {
            assert!(is_numeric_text(t.as_bytes()), "{t:?}");
        }
        for t in [
            "", " ", ".", "1e", "1e+", "0x10", "12abc", "1 2", "inf", "NaN", "--1",
        ] {
            assert!(!is_numeric_text(t.as_bytes()), "{t:?}");
        }
    }

    #[test]
    fn int_real_exact() {
        assert_eq!(
            int_real(i64::MAX, 9_223_372_036_854_775_807.0),
            Ordering::Less
        );
        assert_eq!(int_real(3, 3.0), Ordering::Equal);
        assert_eq!(int_real(3, 3.5), Ordering::Less);
        assert_eq!(int_real(-3, -3.5), Ordering::Greater);
        assert_eq!(int_real(i64::MIN, -9.3e18), Ordering::Greater);
    }

    #[test]
    fn prefixes_decide_what_they_can() {
        let long = Bytes::new(&[b'a'; 40]);
        let short = Bytes::whole(b"b");
        assert_eq!(bytes(&long, &short, Coll::Binary), Some(Ordering::Less));
        assert_eq!(
            bytes(&long, &Bytes::whole(b"aaa"), Coll::Binary),
            Some(Ordering::Greater)
        );
        assert_eq!(bytes(&long, &Bytes::whole(&[b'a'; 40]), Coll::Binary), None);
        assert_eq!(bytes(&long, &short, Coll::Rtrim), None);
    }
}
