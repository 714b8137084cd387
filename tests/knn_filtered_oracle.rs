//! Filtered KNN through the planner (graph walk or exact scan, chosen per query) on
//! wordnet-minilm (first 10k rows) with its real metadata and a derived integer
//! column, against a brute-force oracle: recall@10 >= 0.95 for every filter, at every
//! selectivity, and never fewer than min(k, matching rows) results.

mod common;
use common::*;

const N: usize = 10_000;
const NQ: usize = 100;
const K: usize = 10;

fn year(i: usize) -> i64 {
    1950 + ((i * 7919) % 75) as i64
}

#[test]
fn filtered_recall_at_every_selectivity() {
    let w = wordnet(N, NQ);
    let mut c = conn();
    c.execute_batch(
        "CREATE VIRTUAL TABLE docs USING veclite(embedding float[384], pos integer, lex integer, year integer, distance = cosine)",
    )
    .unwrap();
    let tx = c.transaction().unwrap();
    {
        let mut st = tx
            .prepare("INSERT INTO docs(rowid, embedding, pos, lex, year) VALUES (?, ?, ?, ?, ?)")
            .unwrap();
        for (i, v) in w.base.iter().enumerate() {
            st.execute(rusqlite::params![
                i as i64,
                blob(v),
                w.pos[i] as i64,
                w.lex[i] as i64,
                year(i)
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    let mut counts = [0usize; 45];
    for &l in &w.lex {
        counts[l as usize] += 1;
    }
    let mut by_size: Vec<usize> = (0..45).filter(|&l| counts[l] > 0).collect();
    by_size.sort_by_key(|&l| counts[l]);
    let (rarest, mid, biggest) = (
        by_size[0],
        by_size[by_size.len() / 2],
        *by_size.last().unwrap(),
    );
    type Keep<'a> = Box<dyn Fn(usize) -> bool + 'a>;
    let lex = &w.lex;
    let filters: Vec<(String, Keep)> = vec![
        ("".into(), Box::new(|_| true)),
        ("AND pos = 0".into(), Box::new(|i| w.pos[i] == 0)),
        ("AND pos != 0".into(), Box::new(|i| w.pos[i] != 0)),
        (
            "AND pos IN (1, 2)".into(),
            Box::new(|i| matches!(w.pos[i], 1 | 2)),
        ),
        ("AND pos = 3".into(), Box::new(|i| w.pos[i] == 3)),
        (
            format!("AND lex = {biggest}"),
            Box::new(move |i| lex[i] as usize == biggest),
        ),
        (
            format!("AND lex = {mid}"),
            Box::new(move |i| lex[i] as usize == mid),
        ),
        (
            format!("AND lex = {rarest}"),
            Box::new(move |i| lex[i] as usize == rarest),
        ),
        ("AND year >= 1960".into(), Box::new(|i| year(i) >= 1960)),
        (
            "AND year BETWEEN 1990 AND 1992".into(),
            Box::new(|i| (1990..=1992).contains(&year(i))),
        ),
        (
            "AND pos = 0 AND year < 2000".into(),
            Box::new(|i| w.pos[i] == 0 && year(i) < 2000),
        ),
        (
            "AND rowid IN (SELECT value FROM json_each('[3, 333, 3333]'))".into(),
            Box::new(|i| matches!(i, 3 | 333 | 3333)),
        ),
        ("AND rowid = 4321".into(), Box::new(|i| i == 4321)),
    ];
    for (f, keep) in &filters {
        let matching = (0..N).filter(|&i| keep(i)).count();
        let mut hit = 0usize;
        let mut want_total = 0usize;
        for q in &w.queries {
            let sql =
                format!("SELECT rowid FROM docs WHERE knn_match(embedding, ?1) AND k = {K} {f}");
            let got: Vec<i64> = c
                .prepare(&sql)
                .unwrap()
                .query_map([blob(q)], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            assert_eq!(
                got.len(),
                K.min(matching),
                "filter `{f}`: fewer rows than min(k, matching)"
            );
            assert!(
                got.iter().all(|&id| keep(id as usize)),
                "filter `{f}`: a row that does not match"
            );
            let mut all: Vec<(f32, usize)> = (0..N)
                .filter(|&i| keep(i))
                .map(|i| (cosine(q, &w.base[i]), i))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let kth = all
                .get(K.min(all.len()).saturating_sub(1))
                .map(|x| x.0)
                .unwrap_or(0.0);
            want_total += K.min(all.len());
            hit += got
                .iter()
                .filter(|&&id| cosine(q, &w.base[id as usize]) <= kth + 1e-6)
                .count();
        }
        let recall = if want_total == 0 {
            1.0
        } else {
            hit as f64 / want_total as f64
        };
        eprintln!("filter `{f}`: {matching} matching rows, recall@10 {recall:.3}");
        assert!(
            recall >= 0.95,
            "filter `{f}` ({matching} rows): recall {recall}"
        );
    }
    let info: String = c
        .query_row("SELECT veclite_info('docs')", [], |r| r.get(0))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert!(v["searches"]["graph"].as_u64().unwrap() > 0, "{info}");
    assert!(v["searches"]["exact"].as_u64().unwrap() > 0, "{info}");
}
