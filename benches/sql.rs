//! SQL execution benchmarks (criterion) on an in-memory database, so the
//! figures are CPU only — parsing and planning, row inserts, point lookups
//! and scans — and a regression shows in the SQL layer, not the disk. The
//! side-by-side comparison with SQLite on real files is `benches/compare/`.
//!
//! Run: `cargo bench --bench sql`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use waldb::Database;

/// Rows of the table the lookups and scans read.
const ROWS: i64 = 20_000;

fn v_of(id: i64) -> String {
    format!("{id:0>100}")
}

fn k_of(id: i64) -> i64 {
    (id * 7919) % ROWS
}

fn loaded() -> Database {
    let db = Database::open_in_memory().expect("open");
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)", ()).expect("create");
    let tx = db.transaction().expect("begin");
    {
        let mut st = tx.prepare("INSERT INTO t VALUES (?, ?, ?)").expect("prepare");
        for id in 1..=ROWS {
            st.execute((id, k_of(id), v_of(id))).expect("insert");
        }
    }
    tx.commit().expect("commit");
    db
}

fn bench(c: &mut Criterion) {
    let db = loaded();
    c.bench_function("prepare: parse and plan a join with a filter", |b| {
        b.iter(|| {
            db.prepare("SELECT a.v, b.k FROM t a JOIN t b ON a.k = b.id WHERE a.id BETWEEN ? AND ?").expect("prepare")
        })
    });
    let mut by_id = db.prepare("SELECT v FROM t WHERE id = ?").expect("prepare");
    let mut id = 0;
    c.bench_function("lookup by primary key", |b| {
        b.iter(|| {
            id = id % ROWS + 1;
            let v: String = by_id.query_row([id], |r| r.get(0)).expect("lookup");
            assert_eq!(v.len(), 100);
        })
    });
    c.bench_function("scan: count(*), sum(k), avg(length(v))", |b| {
        b.iter(|| {
            let n: i64 =
                db.query_row("SELECT count(*), sum(k), avg(length(v)) FROM t", (), |r| r.get(0)).expect("scan");
            assert_eq!(n, ROWS);
        })
    });
    c.bench_function("scan with a filter: k BETWEEN, no index", |b| {
        b.iter(|| {
            let n: i64 = db
                .query_row("SELECT count(*) FROM t WHERE k BETWEEN ? AND ?", (0, ROWS / 10), |r| r.get(0))
                .expect("scan");
            assert!(n > 0);
        })
    });
    c.bench_function("100 inserts in one transaction", |b| {
        b.iter_batched(
            || {
                let db = Database::open_in_memory().expect("open");
                db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)", ()).expect("create");
                db
            },
            |db| {
                let tx = db.transaction().expect("begin");
                {
                    let mut st = tx.prepare("INSERT INTO t VALUES (?, ?, ?)").expect("prepare");
                    for id in 1..=100 {
                        st.execute((id, k_of(id), v_of(id))).expect("insert");
                    }
                }
                tx.commit().expect("commit");
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
