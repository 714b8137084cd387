//! xBestIndex: constraints -> [`Plan`]; and the plan's text form (idxStr).
//!
//! The idxStr is what EXPLAIN QUERY PLAN shows, so it is written for people and
//! parsed back in xFilter. Grammar (tokens separated by one space):
//!
//! ```text
//! plan   := kind { arg } [ "per-query" ] [ "novec" ]
//! kind   := "knn" | "scan"
//! arg    := "q" | "k" | "ef" | "limit" | "offset" | filter      -- one per xFilter argv, in order
//! filter := op "(" column ")" [ ":" collation ]
//! op     := eq | ne | lt | le | gt | ge | is | isnot | isnull | notnull | in
//! column := "rowid" | a metadata column name, with ' ', '(', ')', ':', '%' escaped as %XX
//! ```
//! For example `knn q k eq(category) ge(year)`: a KNN query whose `category = ?` and
//! `year >= ?` terms are applied inside the search. `novec` means the query does not
//! read the vector column. `per-query` (KNN plans with filters) means the search
//! path is chosen at run time, per query, from the bound values (see planner.rs).

use super::config::TableConfig;
use super::ffi::sys as ffi;
use super::ffi::IndexInfo;
use crate::error::{Error, Result};

/// The idxStr token of a KNN plan whose path is chosen per query.
const PER_QUERY: &str = "per-query";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Is,
    IsNot,
    IsNull,
    NotNull,
    In,
}

const OPS: &[(Op, &str)] = &[
    (Op::Eq, "eq"),
    (Op::Ne, "ne"),
    (Op::Lt, "lt"),
    (Op::Le, "le"),
    (Op::Gt, "gt"),
    (Op::Ge, "ge"),
    (Op::Is, "is"),
    (Op::IsNot, "isnot"),
    (Op::IsNull, "isnull"),
    (Op::NotNull, "notnull"),
    (Op::In, "in"),
];

impl Op {
    fn name(self) -> &'static str {
        OPS.iter()
            .find(|(o, _)| *o == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }
    /// SQL for `<lhs> <op> <rhs>`; `rhs` is the parameter text.
    pub fn sql(self, lhs: &str, rhs: &str) -> String {
        match self {
            Op::Eq => format!("{lhs} = {rhs}"),
            Op::Ne => format!("{lhs} != {rhs}"),
            Op::Lt => format!("{lhs} < {rhs}"),
            Op::Le => format!("{lhs} <= {rhs}"),
            Op::Gt => format!("{lhs} > {rhs}"),
            Op::Ge => format!("{lhs} >= {rhs}"),
            Op::Is => format!("{lhs} IS {rhs}"),
            Op::IsNot => format!("{lhs} IS NOT {rhs}"),
            Op::IsNull => format!("{lhs} IS NULL"),
            Op::NotNull => format!("{lhs} IS NOT NULL"),
            Op::In => format!("{lhs} IN ({rhs})"),
        }
    }
}

/// A metadata or rowid term the plan took over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// None = rowid, Some(i) = metadata column i (0-based among metadata columns).
    pub column: Option<usize>,
    pub op: Op,
    /// The comparison's collation when it is not BINARY.
    pub collation: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Query,
    K,
    Ef,
    Limit,
    Offset,
    Filter(Filter),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub knn: bool,
    /// One entry per xFilter argument, in order.
    pub args: Vec<Arg>,
    /// The query reads the vector column.
    pub reads_vector: bool,
}

impl Plan {
    pub fn encode(&self, cfg: &TableConfig) -> String {
        let mut t: Vec<String> = vec![if self.knn { "knn" } else { "scan" }.to_string()];
        for a in &self.args {
            t.push(match a {
                Arg::Query => "q".into(),
                Arg::K => "k".into(),
                Arg::Ef => "ef".into(),
                Arg::Limit => "limit".into(),
                Arg::Offset => "offset".into(),
                Arg::Filter(f) => {
                    let col = match f.column {
                        None => "rowid".to_string(),
                        Some(i) => escape(&cfg.meta[i].name),
                    };
                    let mut s = format!("{}({})", f.op.name(), col);
                    if let Some(c) = &f.collation {
                        s.push(':');
                        s.push_str(&escape(c));
                    }
                    s
                }
            });
        }
        if self.knn && self.args.iter().any(|a| matches!(a, Arg::Filter(_))) {
            // EXPLAIN says so: the path (exact over the matching rows, a filtered
            // walk, two hops) is chosen by xFilter from the bound values.
            t.push(PER_QUERY.into());
        }
        if !self.reads_vector {
            t.push("novec".into());
        }
        t.join(" ")
    }

    pub fn decode(s: &str, cfg: &TableConfig) -> Result<Plan> {
        let bad = || Error::usage(format!("veclite: malformed plan '{s}'"));
        let mut it = s.split(' ');
        let knn = match it.next() {
            Some("knn") => true,
            Some("scan") => false,
            _ => return Err(bad()),
        };
        let mut plan = Plan {
            knn,
            args: Vec::new(),
            reads_vector: true,
        };
        for tok in it {
            let arg = match tok {
                "q" => Arg::Query,
                "k" => Arg::K,
                "ef" => Arg::Ef,
                "limit" => Arg::Limit,
                "offset" => Arg::Offset,
                "novec" => {
                    plan.reads_vector = false;
                    continue;
                }
                PER_QUERY => continue,
                _ => {
                    let open = tok.find('(').ok_or_else(bad)?;
                    let close = tok.rfind(')').ok_or_else(bad)?;
                    if close < open {
                        return Err(bad());
                    }
                    let op = OPS
                        .iter()
                        .find(|(_, n)| *n == &tok[..open])
                        .map(|(o, _)| *o)
                        .ok_or_else(bad)?;
                    let name = unescape(&tok[open + 1..close]).ok_or_else(bad)?;
                    let column = if name == "rowid" {
                        None
                    } else {
                        Some(
                            cfg.meta
                                .iter()
                                .position(|m| m.name == name)
                                .ok_or_else(bad)?,
                        )
                    };
                    let rest = &tok[close + 1..];
                    let collation = if rest.is_empty() {
                        None
                    } else {
                        Some(unescape(rest.strip_prefix(':').ok_or_else(bad)?).ok_or_else(bad)?)
                    };
                    Arg::Filter(Filter {
                        column,
                        op,
                        collation,
                    })
                }
            };
            plan.args.push(arg);
        }
        Ok(plan)
    }
}

fn escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        match c {
            ' ' | '(' | ')' | ':' | '%' => o.push_str(&format!("%{:02X}", c as u32)),
            _ => o.push(c),
        }
    }
    o
}

fn unescape(s: &str) -> Option<String> {
    let mut o = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            o.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            o.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(o).ok()
}

/// Column layout of the declared vtab: vector, metadata..., distance, query, k, ef.
pub struct Layout {
    pub n_meta: usize,
}

impl Layout {
    pub fn vector(&self) -> i32 {
        0
    }
    pub fn meta(&self, i: i32) -> Option<usize> {
        if i >= 1 && (i as usize) <= self.n_meta {
            Some(i as usize - 1)
        } else {
            None
        }
    }
    pub fn distance(&self) -> i32 {
        self.n_meta as i32 + 1
    }
    pub fn query(&self) -> i32 {
        self.n_meta as i32 + 2
    }
    pub fn k(&self) -> i32 {
        self.n_meta as i32 + 3
    }
    pub fn ef(&self) -> i32 {
        self.n_meta as i32 + 4
    }
}

const OP_LIMIT: u8 = ffi::SQLITE_INDEX_CONSTRAINT_LIMIT;
const OP_OFFSET: u8 = ffi::SQLITE_INDEX_CONSTRAINT_OFFSET;

/// Chooses the plan for one xBestIndex call. Returns Ok(false) when the usable
/// constraints cannot make a plan (SQLite then tries another join order).
pub fn best_index(info: &mut IndexInfo<'_>, cfg: &TableConfig, est_rows: f64) -> Result<bool> {
    let lay = Layout {
        n_meta: cfg.meta.len(),
    };
    let cons = info.constraints();
    let is_knn = |c: &super::ffi::Constraint| {
        (c.column == lay.vector()
            && (c.op == ffi::SQLITE_INDEX_CONSTRAINT_FUNCTION
                || c.op == ffi::SQLITE_INDEX_CONSTRAINT_MATCH))
            || (c.column == lay.query() && c.op == ffi::SQLITE_INDEX_CONSTRAINT_EQ)
    };
    // KNN needs its query (and k) usable in this call; otherwise this join order is
    // not plannable for us.
    if cons.iter().any(|c| is_knn(c) && !c.usable) {
        return Ok(false);
    }
    if cons.iter().any(|c| {
        !c.usable
            && (c.column == lay.k() || c.column == lay.ef())
            && c.op == ffi::SQLITE_INDEX_CONSTRAINT_EQ
    }) {
        return Ok(false);
    }
    let mut args: Vec<(usize, Arg, bool)> = Vec::new(); // (constraint, arg, omit)
    let knn_c = cons.iter().position(is_knn);
    if let Some(i) = knn_c {
        args.push((i, Arg::Query, true));
        if let Some(i) = cons.iter().position(|c| {
            c.usable && c.column == lay.k() && c.op == ffi::SQLITE_INDEX_CONSTRAINT_EQ
        }) {
            args.push((i, Arg::K, true));
        } else if let Some(i) = cons.iter().position(|c| c.usable && c.op == OP_LIMIT) {
            args.push((i, Arg::Limit, false));
            if let Some(j) = cons.iter().position(|c| c.usable && c.op == OP_OFFSET) {
                args.push((j, Arg::Offset, false));
            }
        }
        if let Some(i) = cons.iter().position(|c| {
            c.usable && c.column == lay.ef() && c.op == ffi::SQLITE_INDEX_CONSTRAINT_EQ
        }) {
            args.push((i, Arg::Ef, true));
        }
    }
    let mut n_eq = 0;
    let mut n_range = 0;
    let mut rowid_eq = false;
    for (i, c) in cons.iter().enumerate() {
        if !c.usable {
            continue;
        }
        let column = if c.column == -1 {
            None
        } else if let Some(m) = lay.meta(c.column) {
            if cfg.meta[m].aux {
                continue; // auxiliary columns are not filterable: SQLite applies the term
            }
            Some(m)
        } else {
            continue;
        };
        let op = match c.op {
            ffi::SQLITE_INDEX_CONSTRAINT_EQ => {
                if info.take_in_list(i) {
                    Op::In
                } else {
                    Op::Eq
                }
            }
            ffi::SQLITE_INDEX_CONSTRAINT_NE => Op::Ne,
            ffi::SQLITE_INDEX_CONSTRAINT_LT => Op::Lt,
            ffi::SQLITE_INDEX_CONSTRAINT_LE => Op::Le,
            ffi::SQLITE_INDEX_CONSTRAINT_GT => Op::Gt,
            ffi::SQLITE_INDEX_CONSTRAINT_GE => Op::Ge,
            ffi::SQLITE_INDEX_CONSTRAINT_IS => Op::Is,
            ffi::SQLITE_INDEX_CONSTRAINT_ISNOT => Op::IsNot,
            ffi::SQLITE_INDEX_CONSTRAINT_ISNULL => Op::IsNull,
            ffi::SQLITE_INDEX_CONSTRAINT_ISNOTNULL => Op::NotNull,
            _ => continue,
        };
        match op {
            Op::Eq | Op::Is | Op::In | Op::IsNull => n_eq += 1,
            _ => n_range += 1,
        }
        if column.is_none() && op == Op::Eq {
            if knn_c.is_some() && !info.rhs_known(i) {
                // `t.rowid = other.x` from a join: taken, it would make SQLite run
                // `other` first and the search once per row of it, each the k
                // nearest of one row (and SQLite tries no plan with the other join
                // terms but not this one). SQLite applies it to the k rows instead.
                continue;
            }
            rowid_eq = true;
        }
        // SQLite hands `!=`, `<>` and `IS NOT` to a virtual table as a copy of the
        // comparison without its left operand, so sqlite3_vtab_collation() reports
        // BINARY for them whatever the column's collation. Filter those with the
        // column's declared collation and let SQLite check the term again (omit = 0),
        // so a looser collation named in the query can only remove rows, never add
        // wrong ones (README, "Known limits").
        let no_collation_info = matches!(op, Op::Ne | Op::IsNot);
        let collation = match column {
            Some(_) if no_collation_info => None,
            Some(m) => {
                // Name the collation only when it differs from the column's own, e.g.
                // `tag = 'x' COLLATE BINARY` on a NOCASE column.
                let c = info.collation(i);
                let declared = cfg.meta[m].collate.as_deref().unwrap_or("BINARY");
                if c.eq_ignore_ascii_case(declared) {
                    None
                } else {
                    Some(c)
                }
            }
            None => None,
        };
        args.push((
            i,
            Arg::Filter(Filter {
                column,
                op,
                collation,
            }),
            !no_collation_info,
        ));
    }
    // LIMIT may stand for k only when the table evaluates every other term
    // itself: a term SQLite checks after us would leave fewer than LIMIT rows.
    // Otherwise the query streams rows in distance order and LIMIT stops it.
    let all_taken = cons.iter().enumerate().all(|(i, c)| {
        c.op == OP_LIMIT || c.op == OP_OFFSET || args.iter().any(|(j, _, _)| *j == i)
    });
    if !all_taken {
        args.retain(|(_, a, _)| !matches!(a, Arg::Limit | Arg::Offset));
    }
    for (n, (i, _, omit)) in args.iter().enumerate() {
        info.set_usage(*i, n as i32 + 1, *omit);
    }
    let knn = knn_c.is_some();
    let plan = Plan {
        knn,
        args: args.into_iter().map(|(_, a, _)| a).collect(),
        reads_vector: info.col_used() & 1 != 0,
    };
    if knn {
        let has_k = plan.args.iter().any(|a| matches!(a, Arg::K | Arg::Limit));
        let ob = info.order_by();
        let consumed = match ob.as_slice() {
            [(c, false)] => *c == lay.distance(),
            [(c, false), (r, false)] => *c == lay.distance() && *r == -1,
            _ => false,
        };
        info.set_order_by_consumed(consumed);
        // Without k the rows stream in distance order (as many as SQLite reads).
        let mut cost = if has_k { 100.0 } else { 1000.0 };
        // Each filter taken makes the plan a little cheaper, so that of two plans
        // SQLite keeps the one that filters inside the search: a join condition on
        // a metadata column (`t.pos = a.pos`, with `a` outer) becomes a filter of
        // the search rather than a condition SQLite applies to the k results.
        let n_filters = plan
            .args
            .iter()
            .filter(|a| matches!(a, Arg::Filter(_)))
            .count();
        cost *= 0.9f64.powi(n_filters as i32);
        info.set_cost(cost, 10);
        info.set_idx_num(1);
    } else {
        let mut rows = est_rows.max(1.0);
        for _ in 0..n_eq {
            rows /= 10.0;
        }
        for _ in 0..n_range {
            rows /= 3.0;
        }
        if rowid_eq {
            rows = 1.0;
            info.set_unique();
        }
        info.set_cost(rows.max(1.0) * 2.0, rows.max(1.0) as i64);
        info.set_idx_num(0);
    }
    info.set_idx_str(&plan.encode(cfg));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::config::parse;

    #[test]
    fn encode_decode_roundtrip() {
        let cfg = parse(&["v float[2]", "\"a b(c)\" text", "year integer"]).unwrap();
        let plan = Plan {
            knn: true,
            args: vec![
                Arg::Query,
                Arg::K,
                Arg::Filter(Filter {
                    column: Some(0),
                    op: Op::In,
                    collation: Some("NOCASE".into()),
                }),
                Arg::Filter(Filter {
                    column: None,
                    op: Op::Eq,
                    collation: None,
                }),
                Arg::Filter(Filter {
                    column: Some(1),
                    op: Op::Ge,
                    collation: None,
                }),
            ],
            reads_vector: false,
        };
        let s = plan.encode(&cfg);
        assert_eq!(
            s,
            "knn q k in(a%20b%28c%29):NOCASE eq(rowid) ge(year) per-query novec"
        );
        assert_eq!(Plan::decode(&s, &cfg).unwrap(), plan);
    }

    #[test]
    fn decode_rejects_garbage() {
        let cfg = parse(&["v float[2]", "a text"]).unwrap();
        for s in [
            "",
            "x",
            "knn zz",
            "knn eq(b)",
            "knn eq(a",
            "knn xx(a)",
            "scan eq(a)x",
            "knn eq(%G1)",
        ] {
            assert!(Plan::decode(s, &cfg).is_err(), "{s}");
        }
    }
}
