//! The scalar SQL functions of SPEC §4.

use super::args::arg_vector;
use super::ffi::sys::{SQLITE_DETERMINISTIC, SQLITE_DIRECTONLY, SQLITE_INNOCUOUS};
use super::ffi::{Db, Out, ScalarFn, Value, ValueType};
use crate::distance;
use crate::error::{Error, Result};
use crate::vector;

pub struct FuncDef {
    pub name: &'static str,
    pub n_args: i32,
    pub flags: i32,
    pub func: ScalarFn,
    /// Registered only when the environment variable VECLITE_TESTING=1 is set at load.
    pub testing_only: bool,
}

impl FuncDef {
    pub fn enabled(&self) -> bool {
        !self.testing_only || std::env::var("VECLITE_TESTING").as_deref() == Ok("1")
    }
}

const PURE: i32 = SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

const fn def(name: &'static str, n_args: i32, flags: i32, func: ScalarFn) -> FuncDef {
    FuncDef {
        name,
        n_args,
        flags,
        func,
        testing_only: false,
    }
}

pub static FUNCTIONS: &[FuncDef] = &[
    def("l2_distance", 2, PURE, l2_distance),
    def("cosine_distance", 2, PURE, cosine_distance),
    def("inner_product", 2, PURE, inner_product),
    def("vector", 1, PURE, vector_fn),
    def("vector_to_json", 1, PURE, vector_to_json),
    def("vector_dims", 1, PURE, vector_dims),
    def("vector_norm", 1, PURE, vector_norm),
    def("l2_normalize", 1, PURE, l2_normalize),
    def("veclite_version", 0, PURE, veclite_version),
    def("knn_match", 2, PURE, knn_match_outside),
    def("veclite_info", 1, SQLITE_INNOCUOUS, veclite_info),
    def("veclite_check", 1, SQLITE_INNOCUOUS, veclite_check),
    def("veclite_rebuild", 1, SQLITE_DIRECTONLY, veclite_rebuild),
    FuncDef {
        name: "veclite_test_panic",
        n_args: 0,
        flags: 0,
        func: test_panic,
        testing_only: true,
    },
];

type VecArg<'a> = std::borrow::Cow<'a, [f32]>;

/// A vector argument without copying when it is an aligned float32 BLOB. Such a view
/// skips the finiteness check; callers re-check with [`arg_vector`] when the result
/// is not finite, so bad input still gets its precise error.
fn arg_view<'a>(fname: &str, v: Value<'a>) -> Result<Option<VecArg<'a>>> {
    if v.value_type() == ValueType::Blob {
        if let Some(view) = vector::view_blob(v.blob()) {
            return Ok(Some(VecArg::Borrowed(view)));
        }
    }
    Ok(arg_vector(fname, v)?.map(VecArg::Owned))
}

fn two_vectors<'a>(fname: &str, a: &[Value<'a>]) -> Result<Option<(VecArg<'a>, VecArg<'a>)>> {
    let x = arg_view(fname, a[0])?;
    let y = arg_view(fname, a[1])?;
    match (x, y) {
        (Some(x), Some(y)) => {
            if x.len() != y.len() {
                return Err(Error::usage(format!(
                    "{fname}: vectors have different dimensions ({} and {})",
                    x.len(),
                    y.len()
                )));
            }
            Ok(Some((x, y)))
        }
        _ => Ok(None),
    }
}

/// A distance result; a non-finite one means an input held NaN or infinity (or the
/// sum overflowed): validate the inputs fully to report which.
fn finite(fname: &str, a: &[Value<'_>], d: f32) -> Result<Out> {
    if !d.is_finite() {
        arg_vector(fname, a[0])?;
        arg_vector(fname, a[1])?;
    }
    Ok(Out::Real(d as f64))
}

fn l2_distance(_: Db, a: &[Value<'_>]) -> Result<Out> {
    match two_vectors("l2_distance", a)? {
        Some((x, y)) => finite("l2_distance", a, distance::l2(&x, &y)),
        None => Ok(Out::Null),
    }
}

fn cosine_distance(_: Db, a: &[Value<'_>]) -> Result<Out> {
    match two_vectors("cosine_distance", a)? {
        Some((x, y)) => match distance::cosine_distance_checked(&x, &y) {
            Some(d) => finite("cosine_distance", a, d),
            None => Err(Error::usage("cosine_distance: undefined for a zero vector")),
        },
        None => Ok(Out::Null),
    }
}

fn inner_product(_: Db, a: &[Value<'_>]) -> Result<Out> {
    match two_vectors("inner_product", a)? {
        Some((x, y)) => finite("inner_product", a, distance::dot(&x, &y)),
        None => Ok(Out::Null),
    }
}

fn one(fname: &str, a: &[Value<'_>], f: impl FnOnce(Vec<f32>) -> Out) -> Result<Out> {
    Ok(match arg_vector(fname, a[0])? {
        Some(v) => f(v),
        None => Out::Null,
    })
}

fn vector_fn(_: Db, a: &[Value<'_>]) -> Result<Out> {
    one("vector", a, |v| Out::Blob(vector::to_blob(&v)))
}

fn vector_to_json(_: Db, a: &[Value<'_>]) -> Result<Out> {
    one("vector_to_json", a, |v| Out::Text(vector::to_json(&v)))
}

fn vector_dims(_: Db, a: &[Value<'_>]) -> Result<Out> {
    one("vector_dims", a, |v| Out::Integer(v.len() as i64))
}

fn vector_norm(_: Db, a: &[Value<'_>]) -> Result<Out> {
    one("vector_norm", a, |v| Out::Real(distance::norm_f64(&v)))
}

fn l2_normalize(_: Db, a: &[Value<'_>]) -> Result<Out> {
    // The zero vector has no direction; like pgvector, it is returned unchanged.
    one("l2_normalize", a, |mut v| {
        vector::normalize(&mut v);
        Out::Blob(vector::to_blob(&v))
    })
}

fn veclite_version(_: Db, _: &[Value<'_>]) -> Result<Out> {
    Ok(Out::Text(env!("CARGO_PKG_VERSION").to_string()))
}

/// knn_match() called anywhere but as a KNN constraint the table took over.
pub fn knn_match_outside(_: Db, _: &[Value<'_>]) -> Result<Out> {
    Err(Error::usage(
        "knn_match() can only be used in the WHERE clause of a query on a veclite table, \
         as knn_match(<vector column>, <query vector>) AND k = N",
    ))
}

fn veclite_info(db: Db, a: &[Value<'_>]) -> Result<Out> {
    if a[0].is_null() {
        return Ok(Out::Null);
    }
    let name = String::from_utf8_lossy(a[0].text()).into_owned();
    super::admin::table_info(db, &name).map(Out::Text)
}

fn veclite_check(db: Db, a: &[Value<'_>]) -> Result<Out> {
    if a[0].is_null() {
        return Ok(Out::Null);
    }
    let name = String::from_utf8_lossy(a[0].text()).into_owned();
    super::admin::table_check(db, &name).map(Out::Text)
}

fn veclite_rebuild(db: Db, a: &[Value<'_>]) -> Result<Out> {
    if a[0].is_null() {
        return Ok(Out::Null);
    }
    let name = String::from_utf8_lossy(a[0].text()).into_owned();
    super::admin::table_rebuild(db, &name).map(Out::Integer)
}

fn test_panic(_: Db, _: &[Value<'_>]) -> Result<Out> {
    panic!("veclite_test_panic() panics on purpose");
}
