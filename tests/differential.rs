//! Differential test against SQLite: random schemas, data and queries inside
//! waldb's SQL subset run on waldb and on SQLite (rusqlite, bundled, in
//! memory), and every outcome is compared.
//!
//! # What is generated
//!
//! A case is a schema (1–3 tables `t0..t2` of 1–4 columns `c0..c3`, typed
//! INTEGER/REAL/TEXT, some INTEGER PRIMARY KEY, UNIQUE, NOT NULL or with a
//! DEFAULT), a load phase of multi-row INSERTs, then a mix of INSERT (plain,
//! OR IGNORE, OR REPLACE), UPDATE, DELETE, CREATE [UNIQUE] INDEX and
//! queries. Queries are SELECT [DISTINCT] over one table, a comma join, a
//! JOIN … ON or a LEFT JOIN of two; WHERE; GROUP BY with HAVING and the
//! aggregates; ORDER BY (by position or by expression) with LIMIT/OFFSET;
//! scalar, EXISTS and IN subqueries (correlated or not); UNION [ALL],
//! EXCEPT and INTERSECT.
//!
//! Every expression is generated with a static type — integer, real, text or
//! boolean (an integer 0/1/NULL) — which keeps the comparison exact without
//! stepping on the two deliberate differences:
//!
//! - **Typing.** waldb's tables behave like SQLite `STRICT` tables, so the
//!   SQLite side creates its tables `STRICT`; values that do not fit a
//!   column are generated on purpose and both sides must reject them.
//! - **Real to text.** waldb renders reals in the 17th digit differently
//!   from SQLite's `%!.15g`, so no real reaches a text conversion (`CAST(…
//!   AS TEXT)`, `||`, text functions, comparison with a text column, storing
//!   into a TEXT column) unless it is a literal with a short exact decimal
//!   form; stored reals stay multiples of 1/4 (UPDATE only adds literals).
//!
//! Columns of one output column never mix integers and reals, so DISTINCT,
//! set operations, ORDER BY … LIMIT and min/max never have to choose between
//! `2` and `2.0`.
//!
//! # How results are compared
//!
//! Every statement must succeed on both or fail on both; a DML statement
//! must report the same number of changes, and after every DDL or DML
//! statement (failed or not) every table must hold the same rows. Query
//! results are compared value by value with their types (integers exactly,
//! reals to a relative 1e-9, text exactly):
//!
//! - as multisets, unless the ORDER BY is total and there is no LIMIT …;
//! - … and when there is an ORDER BY by position, the sort keys must also
//!   agree row by row; with LIMIT/OFFSET and an ORDER BY that does not cover
//!   every column only the keys are compared (ties may pick other rows), and
//!   with LIMIT but no positional ORDER BY only the row count;
//! - `group_concat` (order unspecified) only appears as a whole result
//!   column, is compared with its elements sorted, and its queries have no
//!   ORDER BY, LIMIT or DISTINCT.
//!
//! `PROPTEST_CASES` sets the number of cases (default [`DEFAULT_CASES`],
//! from a fixed seed so CI is repeatable; with `PROPTEST_CASES` set the seed
//! is random unless `PROPTEST_RNG_SEED` is); a failure is shrunk and printed as a minimal SQL script. Failing seeds are
//! kept in `proptest-regressions/differential.txt`.

mod common;

use std::cmp::Ordering;
use std::fmt;

use common::sqlite::{Rows, sqlite_rows, waldb_rows};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner};
use waldb::{Database, Value};

/// Cases per run when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 256;

/// Text values: short, ASCII, no commas (group_concat's separator), some
/// numeric-looking.
const TEXTS: &[&str] =
    &["", "a", "A", "ab", "aB", "b", "abc", "B%", "x_y", "12", "-3", "1.5", "007", " 4", "1e3", "zz"];

/// LIKE patterns.
const PATTERNS: &[&str] = &["a%", "%B", "_", "%", "a_", "1%", "%2%", "", "ab", "__", "%a%", "-%"];

// ---------------------------------------------------------------------------
// The generated case
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Int,
    Real,
    Text,
}

/// Expression kinds: the three column types and booleans.
const I: usize = 0;
const R: usize = 1;
const T: usize = 2;
const B: usize = 3;

#[derive(Clone, Copy, Debug)]
enum Lit {
    Null,
    Int(i64),
    Real(f64),
    Text(usize),
}

/// A value to store: `Nat` fits the column (chosen when the column is known);
/// the others are taken as they are and may not fit.
#[derive(Clone, Copy, Debug)]
enum V {
    Nat(u8),
    Null,
    Int(i64),
    Real(f64),
    Text(usize),
}

/// An expression, typed by construction. Column references name a type and
/// an index that is resolved against the columns in scope when rendering.
#[derive(Clone, Debug)]
enum E {
    Lit(Lit),
    Col(Ty, u8),
    Neg(Box<E>),
    Not(Box<E>),
    Bin(&'static str, Box<E>, Box<E>),
    IsNull(Box<E>, bool),
    Between(Box<E>, Box<E>, Box<E>, bool),
    InList(Box<E>, Vec<E>, bool),
    InSub(Box<E>, Box<Sub>, bool),
    Exists(Box<Sub>, bool),
    Scalar(Box<Sub>),
    Like(Box<E>, Box<E>, bool),
    Case(Option<Box<E>>, Vec<(E, E)>, Option<Box<E>>),
    Cast(Box<E>, &'static str),
    Func(&'static str, Vec<E>),
    /// An aggregate; `None` is `count(*)`. Outside an aggregate context it is
    /// rendered as the per-row value of the same type.
    Agg(&'static str, bool, Option<Box<E>>),
}

/// A subquery over one table: `(SELECT item FROM t AS sN WHERE filter)`.
#[derive(Clone, Debug)]
struct Sub {
    table: u8,
    item: E,
    filter: Option<E>,
    /// For a scalar subquery: the item is a row value with `ORDER BY 1
    /// [DESC] LIMIT 1` instead of an aggregate.
    first: Option<bool>,
}

#[derive(Clone, Debug)]
struct ColDef {
    ty: Ty,
    pk: bool,
    unique: bool,
    not_null: bool,
    default: Option<V>,
}

#[derive(Clone, Debug)]
struct TableDef {
    cols: Vec<ColDef>,
}

#[derive(Clone, Debug)]
enum FromClause {
    None,
    One(u8, bool),
    Comma(u8, u8),
    Join(u8, u8, E),
    Left(u8, u8, E),
}

#[derive(Clone, Debug)]
enum Item {
    Expr(E),
    GroupConcat(E, bool),
}

#[derive(Clone, Debug)]
struct Select {
    distinct: bool,
    from: FromClause,
    filter: Option<E>,
    /// `Some`: an aggregate query with these GROUP BY keys (maybe none).
    group: Option<Vec<(Ty, u8)>>,
    having: Option<E>,
    /// `None` is `*`.
    items: Option<Vec<Item>>,
}

#[derive(Clone, Debug)]
enum Body {
    Single(Select),
    /// Plain selects with the same column types, joined by set operators.
    Compound(Vec<&'static str>, Vec<(bool, FromClause, Option<E>, Vec<E>)>),
}

#[derive(Clone, Debug)]
struct Query {
    body: Body,
    /// `ORDER BY` by position: (column, DESC, NULLS: 0 default, 1 first, 2 last).
    order: Vec<(u8, bool, u8)>,
    /// `ORDER BY expr [DESC]` instead (single non-DISTINCT selects only).
    order_expr: Option<(E, bool)>,
    limit: Option<(u8, Option<u8>)>,
}

#[derive(Clone, Debug)]
enum SetVal {
    Lit(V),
    Plus(V),
    Copy(u8),
    When(E, V),
}

#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant, reason = "a test case's operations; size does not matter")]
enum Op {
    Insert { table: u8, cols: Option<Vec<u8>>, rows: Vec<Vec<V>>, conflict: u8 },
    Update { table: u8, sets: Vec<(u8, SetVal)>, filter: Option<E> },
    Delete { table: u8, filter: Option<E> },
    Index { table: u8, cols: Vec<u8>, unique: bool },
    Query(Query),
}

#[derive(Clone)]
struct Case {
    tables: Vec<TableDef>,
    ops: Vec<Op>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in render_case(self) {
            writeln!(f, "{};", s.sql)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

type S<X> = BoxedStrategy<X>;

fn int_lit() -> S<i64> {
    prop_oneof![12 => -5i64..=20, 1 => select(vec![-100i64, 100, 1000, 2_147_483_648, -2_147_483_649])].boxed()
}

fn real_lit() -> S<f64> {
    (-24i32..=40).prop_map(|q| f64::from(q) / 4.0).boxed()
}

fn lit(k: usize) -> S<E> {
    let s = match k {
        I => int_lit().prop_map(Lit::Int).boxed(),
        R => real_lit().prop_map(Lit::Real).boxed(),
        T => (0..TEXTS.len()).prop_map(Lit::Text).boxed(),
        _ => select(vec![Lit::Int(0), Lit::Int(1)]).boxed(),
    };
    prop_oneof![9 => s, 1 => Just(Lit::Null)].prop_map(E::Lit).boxed()
}

fn col(ty: Ty) -> S<E> {
    any::<u8>().prop_map(move |i| E::Col(ty, i)).boxed()
}

fn bx(e: E) -> Box<E> {
    Box::new(e)
}

fn bin(ops: &'static [&'static str], a: S<E>, b: S<E>) -> S<E> {
    (select(ops), a, b).prop_map(|(o, a, b)| E::Bin(o, bx(a), bx(b))).boxed()
}

fn func(name: &'static str, args: Vec<S<E>>) -> S<E> {
    args.prop_map(move |a| E::Func(name, a)).boxed()
}

fn funcs(names: &'static [&'static str], args: Vec<S<E>>) -> S<E> {
    (select(names), args).prop_map(|(n, a)| E::Func(n, a)).boxed()
}

const ARITH: &[&str] = &["+", "-", "*", "/", "%"];
const CMP: &[&str] = &["=", "<>", "<", "<=", ">", ">=", "IS", "IS NOT"];

/// Expression strategies by depth and kind, for row contexts (`row`) and for
/// the items and HAVING of aggregate queries (`agg`).
#[derive(Clone)]
struct Gen {
    row: Vec<[S<E>; 4]>,
    agg: Vec<[S<E>; 4]>,
}

const MAX_DEPTH: usize = 3;

impl Gen {
    fn new() -> Gen {
        let mut g = Gen { row: vec![], agg: vec![] };
        for d in 0..=MAX_DEPTH {
            let row = [I, R, T, B].map(|k| if d == 0 { leaf(k) } else { g.row_level(d, k) });
            g.row.push(row);
            let agg = [I, R, T, B].map(|k| g.agg_level(d, k));
            g.agg.push(agg);
        }
        g
    }

    fn any_kind(&self, d: usize) -> S<E> {
        let p = &self.row[d];
        prop_oneof![p[I].clone(), p[R].clone(), p[T].clone(), p[B].clone()].boxed()
    }

    fn sub(&self, d: usize, item: S<E>, first: bool) -> S<Sub> {
        let first = if first { option::of(any::<bool>()).boxed() } else { Just(None).boxed() };
        (any::<u8>(), item, option::weighted(0.7, self.row[d][B].clone()), first)
            .prop_map(|(table, item, filter, first)| Sub { table, item, filter, first })
            .boxed()
    }

    fn scalar(&self, d: usize, k: usize) -> S<E> {
        let p = d - 1;
        prop_oneof![
            self.sub(p, self.agg[p][k].clone(), false),
            self.sub(p, self.row[p][k].clone(), true).prop_map(|mut s| {
                s.first.get_or_insert(false);
                s
            }),
        ]
        .prop_map(|s| E::Scalar(Box::new(s)))
        .boxed()
    }

    fn case(&self, d: usize, k: usize) -> S<E> {
        let p = &self.row[d - 1];
        let searched = (vec((p[B].clone(), p[k].clone()), 1..3), option::of(p[k].clone()))
            .prop_map(|(w, e)| E::Case(None, w, e.map(bx)));
        let simple = (0..3usize).prop_flat_map({
            let p = p.clone();
            move |ok| {
                let ok = [I, T, R][ok];
                (p[ok].clone(), vec((p[ok].clone(), p[k].clone()), 1..3), option::of(p[k].clone()))
            }
        });
        let simple = simple.prop_map(|(o, w, e)| E::Case(Some(bx(o)), w, e.map(bx)));
        prop_oneof![searched, simple].boxed()
    }

    /// coalesce / nullif / ifnull / iif / scalar min and max, all of kind `k`.
    fn choose(&self, d: usize, k: usize) -> S<E> {
        let p = &self.row[d - 1];
        prop_oneof![
            funcs(&["coalesce", "nullif", "ifnull", "max", "min"], vec![p[k].clone(), p[k].clone()]),
            func("coalesce", vec![p[k].clone(), p[k].clone(), p[k].clone()]),
            func("iif", vec![p[B].clone(), p[k].clone(), p[k].clone()]),
        ]
        .boxed()
    }

    fn row_level(&self, d: usize, k: usize) -> S<E> {
        let p = &self.row[d - 1];
        let (pi, pr, pt, pb) = (p[I].clone(), p[R].clone(), p[T].clone(), p[B].clone());
        match k {
            I => prop_oneof![
                4 => leaf(I),
                4 => bin(ARITH, pi.clone(), pi.clone()),
                1 => bin(&["&", "|"], pi.clone(), pi.clone()),
                1 => pi.clone().prop_map(|e| E::Neg(bx(e))),
                2 => pb.clone(),
                1 => func("abs", vec![pi.clone()]),
                1 => prop_oneof![pt.clone(), pi.clone()].prop_map(|e| E::Func("length", vec![e])),
                1 => func("instr", vec![pt.clone(), pt.clone()]),
                1 => prop_oneof![pr.clone(), pt.clone()].prop_map(|e| E::Cast(bx(e), "INTEGER")),
                2 => self.case(d, I),
                2 => self.choose(d, I),
                1 => self.scalar(d, I),
            ]
            .boxed(),
            R => prop_oneof![
                4 => leaf(R),
                3 => bin(ARITH, pr.clone(), prop_oneof![pr.clone(), pi.clone()].boxed()),
                1 => bin(ARITH, pi.clone(), pr.clone()),
                1 => pr.clone().prop_map(|e| E::Neg(bx(e))),
                1 => func("abs", vec![pr.clone()]),
                1 => (prop_oneof![pr.clone(), pi.clone()], option::of(0i64..=3)).prop_map(|(e, n)| {
                    let mut a = vec![e];
                    a.extend(n.map(|n| E::Lit(Lit::Int(n))));
                    E::Func("round", a)
                }),
                1 => prop_oneof![pi.clone(), pt.clone()].prop_map(|e| E::Cast(bx(e), "REAL")),
                2 => self.case(d, R),
                2 => self.choose(d, R),
                1 => self.scalar(d, R),
            ]
            .boxed(),
            T => prop_oneof![
                4 => leaf(T),
                2 => bin(&["||"], pt.clone(), prop_oneof![pt.clone(), pi.clone()].boxed()),
                2 => funcs(&["lower", "upper", "trim", "ltrim", "rtrim"], vec![pt.clone()]),
                1 => funcs(&["quote", "hex"], vec![prop_oneof![pt.clone(), pi.clone()].boxed()]),
                2 => (pt.clone(), pi.clone(), option::of(pi.clone())).prop_map(|(s, a, b)| {
                    let mut v = vec![s, a];
                    v.extend(b);
                    E::Func("substr", v)
                }),
                1 => func("replace", vec![pt.clone(), pt.clone(), pt.clone()]),
                1 => func("typeof", vec![self.any_kind(d - 1)]),
                1 => pi.clone().prop_map(|e| E::Cast(bx(e), "TEXT")),
                2 => self.case(d, T),
                2 => self.choose(d, T),
                1 => self.scalar(d, T),
            ]
            .boxed(),
            _ => prop_oneof![
                6 => self.compare(d),
                3 => bin(&["AND", "OR"], pb.clone(), pb.clone()),
                1 => pb.clone().prop_map(|e| E::Not(bx(e))),
                1 => pi.clone(),
                1 => (self.any_kind(d - 1), any::<bool>()).prop_map(|(e, n)| E::IsNull(bx(e), n)),
                2 => self.between(d),
                2 => self.in_list(d),
                2 => self.in_sub(d),
                1 => (self.sub(d - 1, Just(E::Lit(Lit::Int(1))).boxed(), false), any::<bool>())
                    .prop_map(|(s, n)| E::Exists(Box::new(s), n)),
                2 => (
                    prop_oneof![3 => pt.clone(), 1 => pi.clone()],
                    prop_oneof![3 => select(PATTERNS).prop_map(|p| E::Lit(Lit::Text(pattern_index(p)))), 1 => pt.clone()],
                    any::<bool>()
                )
                    .prop_map(|(e, p, n)| E::Like(bx(e), bx(p), n)),
            ]
            .boxed(),
        }
    }

    fn compare(&self, d: usize) -> S<E> {
        let p = &self.row[d - 1];
        let (pi, pr, pt) = (p[I].clone(), p[R].clone(), p[T].clone());
        prop_oneof![
            3 => bin(CMP, pi.clone(), pi.clone()),
            2 => bin(CMP, pr.clone(), prop_oneof![pr.clone(), pi.clone()].boxed()),
            2 => bin(CMP, pt.clone(), pt.clone()),
            2 => bin(CMP, pt.clone(), pi.clone()),
            1 => bin(CMP, pi.clone(), pt.clone()),
            // A text column against a real literal: the literal becomes text
            // (exactly: it is short).
            1 => bin(CMP, col(Ty::Text), real_lit().prop_map(|r| E::Lit(Lit::Real(r))).boxed()),
            // Text in arithmetic: converted by its numeric prefix.
            1 => bin(CMP, bin(&["+", "-", "*"], pt.clone(), pi.clone()), pi.clone()),
        ]
        .boxed()
    }

    fn between(&self, d: usize) -> S<E> {
        let p = self.row[d - 1].clone();
        (0..3usize, any::<bool>())
            .prop_flat_map(move |(k, n)| {
                let k = [I, R, T][k];
                (p[k].clone(), p[k].clone(), p[k].clone(), Just(n))
            })
            .prop_map(|(e, lo, hi, n)| E::Between(bx(e), bx(lo), bx(hi), n))
            .boxed()
    }

    fn in_list(&self, d: usize) -> S<E> {
        let p = self.row[d - 1].clone();
        (0..4usize, any::<bool>())
            .prop_flat_map(move |(k, n)| {
                // Kinds of (operand, list): same kind, or text against integers.
                let (a, b) = [(I, I), (R, R), (T, T), (T, I)][k];
                (p[a].clone(), vec(p[b].clone(), 0..4), Just(n))
            })
            .prop_map(|(e, l, n)| E::InList(bx(e), l, n))
            .boxed()
    }

    fn in_sub(&self, d: usize) -> S<E> {
        let p = self.row[d - 1].clone();
        let g = self.clone();
        (0..4usize, any::<bool>())
            .prop_flat_map(move |(k, n)| {
                let (a, b) = [(I, I), (R, R), (T, T), (I, T)][k];
                (p[a].clone(), g.sub(d - 1, g.row[d - 1][b].clone(), false), Just(n))
            })
            .prop_map(|(e, s, n)| E::InSub(bx(e), Box::new(s), n))
            .boxed()
    }

    /// Items and HAVING of aggregate queries: aggregates over row
    /// expressions, and expressions over aggregates and group keys.
    fn agg_level(&self, d: usize, k: usize) -> S<E> {
        let p = &self.row[d.min(2)];
        let (pi, pr, pt) = (p[I].clone(), p[R].clone(), p[T].clone());
        let ag = |names: &'static [&'static str], arg: S<E>| {
            (select(names), prop::bool::weighted(0.15), arg)
                .prop_map(|(n, dist, a)| E::Agg(n, dist, Some(bx(a))))
                .boxed()
        };
        let direct = match k {
            I => prop_oneof![
                2 => Just(E::Agg("count", false, None)),
                2 => ag(&["count"], self.any_kind(d.min(2))),
                3 => ag(&["sum", "min", "max"], pi.clone()),
                1 => leaf(I),
            ]
            .boxed(),
            R => prop_oneof![
                3 => ag(&["avg", "total"], prop_oneof![pi.clone(), pr.clone()].boxed()),
                3 => ag(&["sum", "min", "max"], pr.clone()),
                1 => leaf(R),
            ]
            .boxed(),
            T => prop_oneof![3 => ag(&["min", "max"], pt.clone()), 1 => leaf(T)].boxed(),
            _ => prop_oneof![
                bin(CMP, ag(&["count", "sum", "max"], pi.clone()), lit(I)),
                bin(CMP, ag(&["min", "max"], pt.clone()), lit(T)),
            ]
            .boxed(),
        };
        if d == 0 {
            return direct;
        }
        let a = &self.agg[d - 1];
        let (ai, ar, at, ab) = (a[I].clone(), a[R].clone(), a[T].clone(), a[B].clone());
        match k {
            I => {
                prop_oneof![4 => direct, 2 => bin(ARITH, ai.clone(), prop_oneof![ai.clone(), lit(I)].boxed()), 1 => ab]
                    .boxed()
            }
            R => prop_oneof![
                4 => direct,
                2 => bin(ARITH, ar.clone(), prop_oneof![ar.clone(), ai.clone()].boxed()),
                1 => (ar.clone(), 0i64..=2).prop_map(|(e, n)| E::Func("round", vec![e, E::Lit(Lit::Int(n))])),
            ]
            .boxed(),
            T => prop_oneof![
                4 => direct,
                1 => funcs(&["lower", "upper"], vec![at.clone()]),
                1 => func("typeof", vec![prop_oneof![ai.clone(), ar.clone()].boxed()]),
            ]
            .boxed(),
            _ => prop_oneof![
                3 => direct,
                2 => bin(CMP, ai.clone(), prop_oneof![ai.clone(), lit(I)].boxed()),
                1 => bin(CMP, ar.clone(), ai.clone()),
                1 => bin(CMP, at.clone(), at.clone()),
                2 => bin(&["AND", "OR"], ab.clone(), ab.clone()),
                1 => ab.clone().prop_map(|e| E::Not(bx(e))),
                1 => (ai, any::<bool>()).prop_map(|(e, n)| E::IsNull(bx(e), n)),
            ]
            .boxed(),
        }
    }

    fn from(&self) -> S<FromClause> {
        let on = self.row[2][B].clone();
        prop_oneof![
            1 => Just(FromClause::None),
            8 => (any::<u8>(), any::<bool>()).prop_map(|(t, a)| FromClause::One(t, a)),
            2 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| FromClause::Comma(a, b)),
            2 => (any::<u8>(), any::<u8>(), on.clone()).prop_map(|(a, b, e)| FromClause::Join(a, b, e)),
            2 => (any::<u8>(), any::<u8>(), on).prop_map(|(a, b, e)| FromClause::Left(a, b, e)),
        ]
        .boxed()
    }

    fn kinded(t: &[S<E>; 4]) -> S<Item> {
        prop_oneof![
            3 => t[I].clone().prop_map(Item::Expr),
            2 => t[R].clone().prop_map(Item::Expr),
            3 => t[T].clone().prop_map(Item::Expr),
            1 => t[B].clone().prop_map(Item::Expr),
        ]
        .boxed()
    }

    fn plain_select(&self) -> S<Select> {
        let items = prop_oneof![1 => Just(None), 8 => vec(Gen::kinded(&self.row[2]), 1..4).prop_map(Some)];
        (prop::bool::weighted(0.2), self.from(), option::weighted(0.7, self.row[3][B].clone()), items)
            .prop_map(|(distinct, from, filter, items)| Select {
                distinct,
                from,
                filter,
                group: None,
                having: None,
                items,
            })
            .boxed()
    }

    fn agg_select(&self) -> S<Select> {
        let a = &self.agg[2];
        let gc = (prop_oneof![3 => self.row[1][T].clone(), 1 => self.row[1][I].clone()], prop::bool::weighted(0.2))
            .prop_map(|(e, d)| Item::GroupConcat(e, d));
        let item = prop_oneof![8 => Gen::kinded(a), 1 => gc];
        let keys = vec((select(vec![Ty::Int, Ty::Real, Ty::Text]), any::<u8>()), 0..3);
        (
            prop::bool::weighted(0.1),
            self.from(),
            option::weighted(0.5, self.row[2][B].clone()),
            keys,
            option::weighted(0.4, a[B].clone()),
            vec(item, 1..4),
        )
            .prop_map(|(distinct, from, filter, keys, having, items)| Select {
                distinct,
                from,
                filter,
                group: Some(keys),
                having,
                items: Some(items),
            })
            .boxed()
    }

    fn compound(&self) -> S<Body> {
        let g = self.clone();
        (vec(0..4usize, 1..3), 2..4usize)
            .prop_flat_map(move |(kinds, n)| {
                let arm = {
                    let items: Vec<S<E>> = kinds.iter().map(|&k| g.row[2][k].clone()).collect();
                    (prop::bool::weighted(0.2), g.from(), option::weighted(0.6, g.row[2][B].clone()), items)
                };
                (vec(select(&["UNION", "UNION ALL", "EXCEPT", "INTERSECT"][..]), n - 1), vec(arm, n))
            })
            .prop_map(|(ops, arms)| Body::Compound(ops, arms))
            .boxed()
    }

    fn query(&self) -> S<Query> {
        let body = prop_oneof![
            5 => self.plain_select().prop_map(Body::Single),
            4 => self.agg_select().prop_map(Body::Single),
            2 => self.compound(),
        ];
        let order = prop_oneof![
            2 => Just(vec![]),
            3 => vec((any::<u8>(), any::<bool>(), prop_oneof![4 => Just(0u8), 1 => 1..=2u8]), 1..4),
        ];
        let order_expr = option::weighted(0.15, (self.row[1][I].clone(), any::<bool>()));
        let limit = option::weighted(0.3, (0u8..6, option::of(0u8..4)));
        (body, order, order_expr, limit)
            .prop_map(|(body, order, order_expr, limit)| Query { body, order, order_expr, limit })
            .boxed()
    }
}

fn pattern_index(p: &str) -> usize {
    // Patterns are stored after the texts in one index space.
    TEXTS.len() + PATTERNS.iter().position(|q| *q == p).expect("pattern from PATTERNS")
}

fn text_of(i: usize) -> &'static str {
    if i < TEXTS.len() { TEXTS[i] } else { PATTERNS[(i - TEXTS.len()) % PATTERNS.len()] }
}

fn leaf(k: usize) -> S<E> {
    match k {
        I => prop_oneof![3 => col(Ty::Int), 2 => lit(I)].boxed(),
        R => prop_oneof![3 => col(Ty::Real), 2 => lit(R)].boxed(),
        T => prop_oneof![3 => col(Ty::Text), 2 => lit(T)].boxed(),
        _ => prop_oneof![
            4 => bin(CMP, leaf(I), leaf(I)),
            2 => bin(CMP, leaf(T), leaf(T)),
            1 => bin(CMP, leaf(T), leaf(I)),
            1 => bin(CMP, leaf(R), leaf(I)),
            1 => (prop_oneof![col(Ty::Int), col(Ty::Real), col(Ty::Text)], any::<bool>())
                .prop_map(|(e, n)| E::IsNull(bx(e), n)),
            1 => lit(B),
        ]
        .boxed(),
    }
}

fn value() -> S<V> {
    prop_oneof![
        16 => any::<u8>().prop_map(V::Nat),
        3 => Just(V::Null),
        1 => int_lit().prop_map(V::Int),
        1 => real_lit().prop_map(V::Real),
        1 => (0..TEXTS.len()).prop_map(V::Text),
    ]
    .boxed()
}

fn table_def() -> S<TableDef> {
    let col = (
        select(vec![Ty::Int, Ty::Int, Ty::Real, Ty::Text, Ty::Text]),
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.2),
        option::weighted(0.2, value()),
    )
        .prop_map(|(ty, pk, unique, not_null, default)| ColDef { ty, pk, unique, not_null, default });
    vec(col, 1..5)
        .prop_map(|mut cols| {
            // At most one INTEGER PRIMARY KEY, on an INTEGER column.
            let mut seen = false;
            for c in &mut cols {
                c.pk = c.pk && c.ty == Ty::Int && !seen;
                seen |= c.pk;
                // SQLite ignores a DEFAULT on an INTEGER PRIMARY KEY (the
                // rowid is chosen); waldb uses it. Reported, not generated.
                if c.pk {
                    c.default = None;
                }
            }
            TableDef { cols }
        })
        .boxed()
}

fn insert() -> S<Op> {
    (
        any::<u8>(),
        option::weighted(0.3, vec(any::<u8>(), 1..4)),
        vec(vec(value(), 4), 1..6),
        prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
        .prop_map(|(table, cols, rows, conflict)| Op::Insert { table, cols, rows, conflict })
        .boxed()
}

fn case() -> S<Case> {
    let g = Gen::new();
    let set_val = prop_oneof![
        3 => value().prop_map(SetVal::Lit),
        2 => value().prop_map(SetVal::Plus),
        1 => any::<u8>().prop_map(SetVal::Copy),
        1 => (g.row[1][B].clone(), value()).prop_map(|(e, v)| SetVal::When(e, v)),
    ];
    let update = (any::<u8>(), vec((any::<u8>(), set_val), 1..3), option::weighted(0.85, g.row[2][B].clone()))
        .prop_map(|(table, sets, filter)| Op::Update { table, sets, filter });
    let delete = (any::<u8>(), option::weighted(0.9, g.row[2][B].clone()))
        .prop_map(|(table, filter)| Op::Delete { table, filter });
    let index = (any::<u8>(), vec(any::<u8>(), 1..3), prop::bool::weighted(0.4))
        .prop_map(|(table, cols, unique)| Op::Index { table, cols, unique })
        .boxed();
    let op = prop_oneof![
        3 => insert(),
        2 => update,
        1 => delete,
        1 => index.clone(),
        10 => g.query().prop_map(Op::Query),
    ];
    (vec(table_def(), 1..4), vec(index, 0..2), vec(insert(), 1..6), vec(op, 1..16))
        .prop_map(|(tables, idx, load, ops)| {
            let mut all = idx;
            all.extend(load);
            all.extend(ops);
            Case { tables, ops: all }
        })
        .boxed()
}

// ---------------------------------------------------------------------------
// Rendering to SQL
// ---------------------------------------------------------------------------

fn real_sql(r: f64) -> String {
    let s = if r.fract() == 0.0 { format!("{r:.1}") } else { format!("{r}") };
    if r < 0.0 { format!("({s})") } else { s }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn lit_sql(l: &Lit) -> String {
    match *l {
        Lit::Null => "NULL".into(),
        Lit::Int(i) if i < 0 => format!("({i})"),
        Lit::Int(i) => i.to_string(),
        Lit::Real(r) => real_sql(r),
        Lit::Text(i) => quote(text_of(i)),
    }
}

/// A literal of type `ty` standing in for a column reference with nothing to
/// refer to.
fn fallback(ty: Ty, i: u8) -> String {
    match ty {
        Ty::Int => (i64::from(i % 7) - 2).to_string(),
        Ty::Real => real_sql(f64::from(i % 9) / 2.0),
        Ty::Text => quote(TEXTS[usize::from(i) % TEXTS.len()]),
    }
}

/// A value that fits a column of type `ty`.
fn natural(c: &ColDef, n: u8) -> String {
    let wide = c.pk || c.unique;
    match c.ty {
        Ty::Int if c.pk && n.is_multiple_of(3) => "NULL".into(),
        Ty::Int if wide => lit_sql(&Lit::Int(i64::from(n) - 20)),
        Ty::Int => lit_sql(&Lit::Int(i64::from(n % 26) - 5)),
        Ty::Real if wide => real_sql(f64::from(n) / 4.0 - 10.0),
        Ty::Real => real_sql(f64::from(n % 41) / 4.0 - 3.0),
        Ty::Text => quote(TEXTS[usize::from(n) % TEXTS.len()]),
    }
}

fn v_sql(v: &V, c: &ColDef) -> String {
    match *v {
        V::Nat(n) => natural(c, n),
        V::Null => "NULL".into(),
        V::Int(i) => lit_sql(&Lit::Int(i)),
        V::Real(r) => real_sql(r),
        V::Text(i) => quote(TEXTS[i]),
    }
}

#[derive(Clone)]
struct ColRef {
    alias: String,
    col: usize,
}

struct Level {
    /// (qualifier, table index).
    scopes: Vec<(String, usize)>,
    /// `Some`: an aggregate context; only these columns may be referenced
    /// outside aggregates.
    keys: Option<Vec<(Ty, ColRef)>>,
}

struct Render<'a> {
    tables: &'a [TableDef],
    levels: Vec<Level>,
    /// Levels below this one are invisible (inside an aggregate's argument,
    /// so that the aggregate belongs to the query it appears in).
    min_level: usize,
    subs: usize,
}

impl Render<'_> {
    fn table(&self, t: u8) -> usize {
        usize::from(t) % self.tables.len()
    }

    fn candidates(&self, ty: Ty) -> Vec<ColRef> {
        let mut out = vec![];
        for l in (self.min_level..self.levels.len()).rev() {
            let level = &self.levels[l];
            match &level.keys {
                Some(keys) => out.extend(keys.iter().filter(|(t, _)| *t == ty).map(|(_, c)| c.clone())),
                None => {
                    for (alias, t) in &level.scopes {
                        for (i, c) in self.tables[*t].cols.iter().enumerate() {
                            if c.ty == ty {
                                out.push(ColRef { alias: alias.clone(), col: i });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn col_sql(&self, c: &ColRef) -> String {
        if self.levels.len() == 1 && self.levels[0].scopes.len() == 1 && !c.alias.starts_with('a') {
            format!("c{}", c.col)
        } else {
            format!("{}.c{}", c.alias, c.col)
        }
    }

    fn list(&mut self, es: &[E]) -> String {
        es.iter().map(|e| self.expr(e)).collect::<Vec<_>>().join(", ")
    }

    fn expr(&mut self, e: &E) -> String {
        match e {
            E::Lit(l) => lit_sql(l),
            E::Col(ty, i) => {
                let c = self.candidates(*ty);
                if c.is_empty() { fallback(*ty, *i) } else { self.col_sql(&c[usize::from(*i) % c.len()]) }
            }
            E::Neg(a) => format!("(-{})", self.expr(a)),
            E::Not(a) => format!("(NOT {})", self.expr(a)),
            E::Bin(op, a, b) => format!("({} {op} {})", self.expr(a), self.expr(b)),
            E::IsNull(a, n) => format!("({} IS {}NULL)", self.expr(a), if *n { "NOT " } else { "" }),
            E::Between(a, lo, hi, n) => {
                let not = if *n { "NOT " } else { "" };
                format!("({} {not}BETWEEN {} AND {})", self.expr(a), self.expr(lo), self.expr(hi))
            }
            E::InList(a, l, n) => {
                let not = if *n { "NOT " } else { "" };
                format!("({} {not}IN ({}))", self.expr(a), self.list(l))
            }
            E::InSub(a, s, n) => {
                let not = if *n { "NOT " } else { "" };
                format!("({} {not}IN {})", self.expr(a), self.sub(s, 'i'))
            }
            E::Exists(s, n) => format!("({}EXISTS {})", if *n { "NOT " } else { "" }, self.sub(s, 'e')),
            E::Scalar(s) => self.sub(s, 's'),
            E::Like(a, p, n) => format!("({} {}LIKE {})", self.expr(a), if *n { "NOT " } else { "" }, self.expr(p)),
            E::Case(op, whens, els) => {
                let mut s = String::from("CASE");
                if let Some(o) = op {
                    s += &format!(" {}", self.expr(o));
                }
                for (w, t) in whens {
                    s += &format!(" WHEN {} THEN {}", self.expr(w), self.expr(t));
                }
                if let Some(e) = els {
                    s += &format!(" ELSE {}", self.expr(e));
                }
                s + " END"
            }
            E::Cast(a, ty) => format!("CAST({} AS {ty})", self.expr(a)),
            E::Func(name, args) => format!("{name}({})", self.list(args)),
            E::Agg(name, distinct, arg) => self.agg(name, *distinct, arg.as_deref()),
        }
    }

    fn agg(&mut self, name: &str, distinct: bool, arg: Option<&E>) -> String {
        let top = self.levels.len() - 1;
        let keys = self.levels[top].keys.take();
        let saved_min = self.min_level;
        self.min_level = top;
        let a = arg.map(|a| self.expr(a));
        self.min_level = saved_min;
        let grouped = keys.is_some();
        self.levels[top].keys = keys;
        if !grouped {
            // A row context: the per-row value of the same type.
            return match (name, a) {
                (_, None) => "1".into(),
                ("count", Some(a)) => format!("({a} IS NOT NULL)"),
                ("avg" | "total", Some(a)) => format!("CAST({a} AS REAL)"),
                (_, Some(a)) => a,
            };
        }
        match a {
            None => "count(*)".into(),
            Some(a) => format!("{name}({}{a})", if distinct { "DISTINCT " } else { "" }),
        }
    }

    fn sub(&mut self, s: &Sub, kind: char) -> String {
        self.subs += 1;
        let alias = format!("s{}", self.subs);
        let t = self.table(s.table);
        self.levels.push(Level { scopes: vec![(alias.clone(), t)], keys: None });
        let filter = s.filter.as_ref().map(|f| format!(" WHERE {}", self.expr(f))).unwrap_or_default();
        let (item, tail) = match (kind, s.first) {
            ('e', _) => ("1".to_string(), String::new()),
            ('s', Some(desc)) => {
                (self.expr(&s.item), format!(" ORDER BY 1{} LIMIT 1", if desc { " DESC" } else { "" }))
            }
            ('s', None) => {
                self.levels.last_mut().expect("pushed above").keys = Some(vec![]);
                (self.expr(&s.item), String::new())
            }
            _ => (self.expr(&s.item), String::new()),
        };
        self.levels.pop();
        format!("(SELECT {item} FROM t{t} AS {alias}{filter}{tail})")
    }

    /// Push the FROM clause's level; returns its SQL.
    fn from(&mut self, f: &FromClause) -> String {
        let (scopes, join) = match f {
            FromClause::None => (vec![], None),
            FromClause::One(t, aliased) => {
                let t = self.table(*t);
                let q = if *aliased { "a".to_string() } else { format!("t{t}") };
                (vec![(q, t)], None)
            }
            FromClause::Comma(a, b) => {
                (vec![("a".into(), self.table(*a)), ("b".into(), self.table(*b))], Some((",", None)))
            }
            FromClause::Join(a, b, on) => {
                (vec![("a".into(), self.table(*a)), ("b".into(), self.table(*b))], Some((" JOIN", Some(on))))
            }
            FromClause::Left(a, b, on) => {
                (vec![("a".into(), self.table(*a)), ("b".into(), self.table(*b))], Some((" LEFT JOIN", Some(on))))
            }
        };
        let sql = match (&scopes[..], join) {
            ([], _) => String::new(),
            ([(q, t)], _) if q.starts_with('t') => format!(" FROM t{t}"),
            ([(q, t)], _) => format!(" FROM t{t} AS {q}"),
            ([(qa, ta), (qb, tb)], Some((j, _))) => format!(" FROM t{ta} AS {qa}{j} t{tb} AS {qb}"),
            _ => unreachable!("one or two scopes"),
        };
        self.levels.push(Level { scopes, keys: None });
        match join {
            Some((_, Some(on))) => format!("{sql} ON {}", self.expr(on)),
            _ => sql,
        }
    }

    fn where_sql(&mut self, f: Option<&E>) -> String {
        f.map(|f| format!(" WHERE {}", self.expr(f))).unwrap_or_default()
    }

    /// A select; returns SQL, the number of columns and which columns are
    /// group_concat results.
    fn select(&mut self, s: &Select, order_expr: Option<&(E, bool)>) -> (String, usize, Vec<bool>) {
        let from = self.from(&s.from);
        let filter = self.where_sql(s.filter.as_ref());
        let mut group = String::new();
        if let Some(keys) = &s.group {
            let mut refs: Vec<(Ty, ColRef)> = vec![];
            for (ty, i) in keys {
                let c = self.candidates(*ty);
                if c.is_empty() {
                    continue;
                }
                let c = c[usize::from(*i) % c.len()].clone();
                if !refs.iter().any(|(_, r)| r.alias == c.alias && r.col == c.col) {
                    refs.push((*ty, c));
                }
            }
            if !refs.is_empty() {
                let cols: Vec<String> = refs.iter().map(|(_, c)| self.col_sql(c)).collect();
                group = format!(" GROUP BY {}", cols.join(", "));
            }
            self.levels.last_mut().expect("pushed by from").keys = Some(refs);
        }
        let (items, ncols, concat) = match &s.items {
            None => {
                let level = self.levels.last().expect("pushed by from");
                let n: usize = level.scopes.iter().map(|(_, t)| self.tables[*t].cols.len()).sum();
                // `SELECT *` without FROM is an error; give it a column.
                if n == 0 { ("1".to_string(), 1, vec![false]) } else { ("*".to_string(), n, vec![false; n]) }
            }
            Some(items) => {
                let mut sql = vec![];
                let mut concat = vec![];
                for it in items {
                    match it {
                        Item::Expr(e) => {
                            sql.push(self.expr(e));
                            concat.push(false);
                        }
                        Item::GroupConcat(e, d) => {
                            let a = self.agg("group_concat", *d, Some(e));
                            concat.push(a.starts_with("group_concat"));
                            sql.push(a);
                        }
                    }
                }
                (sql.join(", "), items.len(), concat)
            }
        };
        let having = match (&s.having, group.is_empty()) {
            (Some(h), false) => format!(" HAVING {}", self.expr(h)),
            _ => String::new(),
        };
        let order = order_expr
            .map(|(e, desc)| format!(" ORDER BY {}{}", self.expr(e), if *desc { " DESC" } else { "" }))
            .unwrap_or_default();
        self.levels.pop();
        let distinct = if s.distinct { "DISTINCT " } else { "" };
        (format!("SELECT {distinct}{items}{from}{filter}{group}{having}{order}"), ncols, concat)
    }
}

/// What the comparison needs to know about a query.
#[derive(Clone, Debug)]
struct Meta {
    /// group_concat columns (compared with their elements sorted).
    concat: Vec<bool>,
    /// ORDER BY positions (0-based).
    keys: Vec<usize>,
    /// The ORDER BY covers every column.
    total: bool,
    limit: bool,
    /// ORDER BY by expression (not comparable row by row).
    order_expr: bool,
}

fn render_query(tables: &[TableDef], q: &Query) -> (String, Meta) {
    let mut r = Render { tables, levels: vec![], min_level: 0, subs: 0 };
    let (mut sql, ncols, concat, single_plain) = match &q.body {
        Body::Single(s) => {
            let plain = s.group.is_none() && !s.distinct;
            let oe = if plain { q.order_expr.as_ref() } else { None };
            let (sql, n, c) = r.select(s, oe);
            (sql, n, c, plain && oe.is_some())
        }
        Body::Compound(ops, arms) => {
            let mut parts = vec![];
            let mut n = 0;
            for (i, (distinct, from, filter, items)) in arms.iter().enumerate() {
                let items = items.iter().map(|e| Item::Expr(e.clone())).collect::<Vec<_>>();
                n = items.len();
                let s = Select {
                    distinct: *distinct,
                    from: from.clone(),
                    filter: filter.clone(),
                    group: None,
                    having: None,
                    items: Some(items),
                };
                if i > 0 {
                    parts.push(ops[i - 1].to_string());
                }
                parts.push(r.select(&s, None).0);
            }
            (parts.join(" "), n, vec![false; n], false)
        }
    };
    let has_concat = concat.iter().any(|c| *c);
    if has_concat {
        // group_concat's order is unspecified: no DISTINCT, ORDER BY or LIMIT.
        sql = sql.replacen("SELECT DISTINCT ", "SELECT ", 1);
        return (sql, Meta { concat, keys: vec![], total: false, limit: false, order_expr: false });
    }
    let mut keys = vec![];
    if !single_plain {
        let mut terms = vec![];
        for (c, desc, nulls) in &q.order {
            let c = usize::from(*c) % ncols;
            if keys.contains(&c) {
                continue;
            }
            keys.push(c);
            let dir = if *desc { " DESC" } else { "" };
            let nulls = ["", " NULLS FIRST", " NULLS LAST"][usize::from(*nulls)];
            terms.push(format!("{}{dir}{nulls}", c + 1));
        }
        if !terms.is_empty() {
            sql += &format!(" ORDER BY {}", terms.join(", "));
        }
    }
    if let Some((l, o)) = q.limit {
        sql += &format!(" LIMIT {l}");
        if let Some(o) = o {
            sql += &format!(" OFFSET {o}");
        }
    }
    let total = keys.len() == ncols;
    (sql, Meta { concat, keys, total, limit: q.limit.is_some(), order_expr: single_plain })
}

enum Kind {
    /// DDL or DML: compare outcome, changes and table contents.
    Change,
    Query(Meta),
}

struct Stmt {
    sql: String,
    /// The SQLite text when it differs (STRICT tables).
    sqlite: Option<String>,
    kind: Kind,
}

fn render_case(c: &Case) -> Vec<Stmt> {
    let mut out = vec![];
    for (i, t) in c.tables.iter().enumerate() {
        let cols: Vec<String> = t
            .cols
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let mut s = format!("c{j} {}", ["INTEGER", "REAL", "TEXT"][c.ty as usize]);
                if c.pk {
                    s += " PRIMARY KEY";
                }
                if c.unique {
                    s += " UNIQUE";
                }
                if c.not_null {
                    s += " NOT NULL";
                }
                if let Some(d) = &c.default {
                    let v = match d {
                        V::Nat(n) => natural(&ColDef { pk: false, ..c.clone() }, *n),
                        _ => "NULL".into(),
                    };
                    s += &format!(" DEFAULT {v}");
                }
                s
            })
            .collect();
        let sql = format!("CREATE TABLE t{i}({})", cols.join(", "));
        out.push(Stmt { sqlite: Some(format!("{sql} STRICT")), sql, kind: Kind::Change });
    }
    let ntables = c.tables.len();
    let mut nindex = 0;
    for op in &c.ops {
        let (sql, kind) = match op {
            Op::Insert { table, cols, rows, conflict } => {
                let ti = usize::from(*table) % ntables;
                let t = &c.tables[ti];
                let targets: Vec<usize> = match cols {
                    None => (0..t.cols.len()).collect(),
                    Some(cs) => {
                        let mut v = vec![];
                        for c in cs {
                            let c = usize::from(*c) % t.cols.len();
                            if !v.contains(&c) {
                                v.push(c);
                            }
                        }
                        v
                    }
                };
                let list = match cols {
                    None => String::new(),
                    Some(_) => format!("({})", targets.iter().map(|c| format!("c{c}")).collect::<Vec<_>>().join(", ")),
                };
                let rows: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        let vals: Vec<String> =
                            targets.iter().enumerate().map(|(k, &c)| v_sql(&r[k % r.len()], &t.cols[c])).collect();
                        format!("({})", vals.join(", "))
                    })
                    .collect();
                let or = ["", " OR IGNORE", " OR REPLACE"][usize::from(*conflict % 3)];
                (format!("INSERT{or} INTO t{ti}{list} VALUES {}", rows.join(", ")), Kind::Change)
            }
            Op::Update { table, sets, filter } => {
                let ti = usize::from(*table) % ntables;
                let t = &c.tables[ti];
                let mut r = Render {
                    tables: &c.tables,
                    levels: vec![Level { scopes: vec![(format!("t{ti}"), ti)], keys: None }],
                    min_level: 0,
                    subs: 0,
                };
                let mut done = vec![];
                let mut parts = vec![];
                for (col, v) in sets {
                    let ci = usize::from(*col) % t.cols.len();
                    if done.contains(&ci) {
                        continue;
                    }
                    done.push(ci);
                    let cd = &t.cols[ci];
                    // Unique columns take constants only: `c = c + 1` may
                    // conflict or not depending on the order rows are visited.
                    let v = if cd.unique || cd.pk {
                        match v {
                            SetVal::Lit(v) | SetVal::Plus(v) | SetVal::When(_, v) => SetVal::Lit(*v),
                            SetVal::Copy(n) => SetVal::Lit(V::Nat(*n)),
                        }
                    } else {
                        v.clone()
                    };
                    let rhs = match &v {
                        SetVal::Lit(v) => v_sql(v, cd),
                        SetVal::Plus(v) if cd.ty == Ty::Text => format!("c{ci} || {}", v_sql(v, cd)),
                        SetVal::Plus(v) => format!("c{ci} + {}", v_sql(v, cd)),
                        SetVal::Copy(n) => {
                            let same: Vec<usize> = (0..t.cols.len()).filter(|&k| t.cols[k].ty == cd.ty).collect();
                            format!("c{}", same[usize::from(*n) % same.len()])
                        }
                        SetVal::When(e, v) => format!("CASE WHEN {} THEN {} ELSE c{ci} END", r.expr(e), v_sql(v, cd)),
                    };
                    parts.push(format!("c{ci} = {rhs}"));
                }
                let w = r.where_sql(filter.as_ref());
                (format!("UPDATE t{ti} SET {}{w}", parts.join(", ")), Kind::Change)
            }
            Op::Delete { table, filter } => {
                let ti = usize::from(*table) % ntables;
                let mut r = Render {
                    tables: &c.tables,
                    levels: vec![Level { scopes: vec![(format!("t{ti}"), ti)], keys: None }],
                    min_level: 0,
                    subs: 0,
                };
                let w = r.where_sql(filter.as_ref());
                (format!("DELETE FROM t{ti}{w}"), Kind::Change)
            }
            Op::Index { table, cols, unique } => {
                let ti = usize::from(*table) % ntables;
                let n = c.tables[ti].cols.len();
                let mut v: Vec<usize> = vec![];
                for c in cols {
                    let c = usize::from(*c) % n;
                    if !v.contains(&c) {
                        v.push(c);
                    }
                }
                let list = v.iter().map(|c| format!("c{c}")).collect::<Vec<_>>().join(", ");
                let u = if *unique { "UNIQUE " } else { "" };
                nindex += 1;
                (format!("CREATE {u}INDEX i{nindex} ON t{ti}({list})"), Kind::Change)
            }
            Op::Query(q) => {
                let (sql, meta) = render_query(&c.tables, q);
                (sql, Kind::Query(meta))
            }
        };
        out.push(Stmt { sql, sqlite: None, kind });
    }
    out
}

// ---------------------------------------------------------------------------
// Running and comparing
// ---------------------------------------------------------------------------

fn close(x: f64, y: f64) -> bool {
    x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
}

/// Same type and value (reals to a relative 1e-9).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Real(x), Value::Real(y)) => close(*x, *y),
        _ => a == b,
    }
}

/// Equal as sort keys: integers and reals compare by value.
fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Integer(i), Value::Real(r)) | (Value::Real(r), Value::Integer(i)) => close(*i as f64, *r),
        _ => same(a, b),
    }
}

fn rank(v: &Value) -> (u8, f64) {
    match v {
        Value::Null => (0, 0.0),
        Value::Integer(i) => (1, *i as f64),
        // Rounded so that reals within the tolerance sort alike.
        Value::Real(r) => (2, format!("{r:.8e}").parse().unwrap_or(*r)),
        Value::Text(_) => (3, 0.0),
        Value::Blob(_) => (4, 0.0),
    }
}

fn cmp_value(a: &Value, b: &Value) -> Ordering {
    let ((ra, xa), (rb, xb)) = (rank(a), rank(b));
    ra.cmp(&rb).then(xa.total_cmp(&xb)).then_with(|| match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        // Reals equal when rounded still sort by their exact values, or
        // rows differing only in them would keep each engine's order.
        (Value::Real(x), Value::Real(y)) => x.total_cmp(y),
        _ => Ordering::Equal,
    })
}

fn sorted(rows: &Rows) -> Rows {
    let mut r = rows.clone();
    r.sort_by(|a, b| a.iter().zip(b).map(|(x, y)| cmp_value(x, y)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal));
    r
}

fn rows_match(a: &Rows, b: &Rows, eq: impl Fn(&Value, &Value) -> bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(u, v)| eq(u, v)))
}

fn normalize_concat(rows: &mut Rows, concat: &[bool]) {
    for row in rows {
        for (v, c) in row.iter_mut().zip(concat) {
            if let (true, Value::Text(s)) = (c, &*v) {
                let mut parts: Vec<&str> = s.split(',').collect();
                parts.sort_unstable();
                *v = Value::Text(parts.join(","));
            }
        }
    }
}

/// `None` when the results agree; otherwise what differs.
fn compare_rows(mut w: Rows, mut s: Rows, m: &Meta) -> Option<&'static str> {
    normalize_concat(&mut w, &m.concat);
    normalize_concat(&mut s, &m.concat);
    if w.len() != s.len() {
        return Some("row counts differ");
    }
    if !m.keys.is_empty() {
        let proj =
            |r: &Rows| -> Rows { r.iter().map(|row| m.keys.iter().map(|&k| row[k].clone()).collect()).collect() };
        if !rows_match(&proj(&w), &proj(&s), same_key) {
            return Some("ORDER BY keys differ");
        }
    }
    let deterministic = !m.limit || (m.total && !m.order_expr);
    if deterministic && !rows_match(&sorted(&w), &sorted(&s), same) {
        return Some("rows differ");
    }
    None
}

fn show(r: &Result<Rows, String>) -> String {
    match r {
        Err(e) => format!("error: {e}"),
        Ok(rows) => {
            let lines: Vec<String> = rows.iter().take(40).map(|r| format!("  {r:?}")).collect();
            let more = if rows.len() > 40 { format!("\n  … {} rows in all", rows.len()) } else { String::new() };
            format!("{} rows\n{}{more}", rows.len(), lines.join("\n"))
        }
    }
}

fn run_case(c: &Case) -> Result<(), TestCaseError> {
    let w = Database::open_in_memory().map_err(|e| TestCaseError::fail(format!("waldb open: {e}")))?;
    let s = rusqlite::Connection::open_in_memory().map_err(|e| TestCaseError::fail(format!("sqlite open: {e}")))?;
    let stmts = render_case(c);
    let fail = |i: usize, what: String| -> TestCaseError {
        TestCaseError::fail(format!("statement {} disagrees: {what}\n    {};", i + 1, stmts[i].sql))
    };
    for (i, st) in stmts.iter().enumerate() {
        match &st.kind {
            Kind::Change => {
                let rw = w.execute(&st.sql, ()).map_err(|e| e.to_string());
                let rs = s.execute(st.sqlite.as_deref().unwrap_or(&st.sql), []).map_err(|e| e.to_string());
                let differ = match (&rw, &rs) {
                    (Ok(a), Ok(b)) => a != b && st.sqlite.is_none() && !st.sql.starts_with("CREATE"),
                    (Err(_), Err(_)) => false,
                    _ => true,
                };
                if differ {
                    return Err(fail(i, format!("waldb {rw:?}, sqlite {rs:?}")));
                }
                for t in 0..c.tables.len() {
                    let q = format!("SELECT * FROM t{t}");
                    let (a, b) = (waldb_rows(&w, &q), sqlite_rows(&s, &q));
                    let ok = match (&a, &b) {
                        (Ok(a), Ok(b)) => rows_match(&sorted(a), &sorted(b), same),
                        // Not created yet.
                        (Err(_), Err(_)) => true,
                        _ => false,
                    };
                    if !ok {
                        return Err(fail(
                            i,
                            format!(
                                "afterwards t{t} differs (statement: waldb {rw:?}, sqlite {rs:?})\nwaldb: {}\nsqlite: {}",
                                show(&a),
                                show(&b)
                            ),
                        ));
                    }
                }
            }
            Kind::Query(m) => {
                let (a, b) = (waldb_rows(&w, &st.sql), sqlite_rows(&s, &st.sql));
                let why = match (&a, &b) {
                    (Ok(x), Ok(y)) => compare_rows(x.clone(), y.clone(), m),
                    (Err(_), Err(_)) => None,
                    _ => Some("one failed"),
                };
                if let Some(why) = why {
                    return Err(fail(i, format!("{why}\nwaldb: {}\nsqlite: {}", show(&a), show(&b))));
                }
            }
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES)
}

#[test]
fn waldb_agrees_with_sqlite() {
    // Parsing and planning recurse; give them the stack the parser asks for.
    let h = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let config = Config {
                cases: cases(),
                max_shrink_iters: 20_000,
                max_shrink_time: 60_000,
                failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
                    "proptest-regressions/differential.txt",
                ))),
                ..Config::default()
            };
            // The default run (CI) is the same every time; a run with
            // PROPTEST_CASES (by hand) explores new ground unless
            // PROPTEST_RNG_SEED pins it.
            let config =
                if std::env::var_os("PROPTEST_CASES").is_none() && std::env::var_os("PROPTEST_RNG_SEED").is_none() {
                    Config { rng_seed: RngSeed::Fixed(0x5EED_CA5E), ..config }
                } else {
                    config
                };
            let mut runner = TestRunner::new(config);
            match runner.run(&case(), |c| run_case(&c)) {
                Ok(()) => {}
                Err(TestError::Fail(why, c)) => {
                    panic!("{why}\n\nminimal failing script (SQLite's tables are STRICT):\n{c:?}")
                }
                Err(e) => panic!("{e}"),
            }
        })
        .expect("spawn test thread");
    if let Err(e) = h.join() {
        std::panic::resume_unwind(e);
    }
}

/// Replays a script on both databases and prints every result, for
/// investigating a failure: `WALDB_DIFF_SCRIPT=file cargo test --test
/// differential replay -- --ignored --nocapture`. Statements end with `;` at
/// the end of a line; SQLite's tables are made STRICT as in the test.
#[test]
#[ignore = "a tool: needs WALDB_DIFF_SCRIPT"]
fn replay() {
    let Some(path) = std::env::var_os("WALDB_DIFF_SCRIPT") else { return };
    let script = std::fs::read_to_string(path).expect("read WALDB_DIFF_SCRIPT");
    let w = Database::open_in_memory().expect("open waldb");
    let s = rusqlite::Connection::open_in_memory().expect("open sqlite");
    for stmt in script.split(";\n").map(str::trim).filter(|t| !t.is_empty()) {
        println!("{stmt};");
        let upper = stmt.to_ascii_uppercase();
        if upper.starts_with("SELECT") || upper.starts_with("VALUES") || upper.starts_with("WITH") {
            println!("waldb:  {}\nsqlite: {}", show(&waldb_rows(&w, stmt)), show(&sqlite_rows(&s, stmt)));
        } else {
            let ss = if upper.starts_with("CREATE TABLE") { format!("{stmt} STRICT") } else { stmt.to_string() };
            println!("waldb:  {:?}\nsqlite: {:?}", w.execute(stmt, ()), s.execute(&ss, []));
        }
    }
}
