//! Contamination index: word n-gram overlap with evaluation texts (Brown et al. 2020, GPT-3
//! appendix C, 13-grams by default).
//!
//! Steps:
//! 1. Build: normalise each eval text, hash its word n-grams (`shingle`, same hashing as
//!    near-dup), collect (gram, eval row) pairs, sort and de-duplicate them into a sorted gram
//!    column with a posting list of eval rows per gram. Identical posting lists are stored once
//!    (eval sets repeat items: without sharing, a query touching 1,000 grams of an item present
//!    2,000 times would walk 2M postings). An eval text shorter than `n` words contributes one
//!    gram of all its words (it then matches only a record equal to it).
//! 2. Query: each of a record's grams is looked up, as it comes, in an open-addressing table
//!    (grams are uniform hashes, so the top bits are the slot; linear probing at load ≤ 1/2 costs
//!    about one cache miss, where binary search over millions of grams costs ~20); only the found
//!    ones are sorted: the record gets the number of its distinct grams found and the sorted,
//!    distinct ids of the eval texts hit.
//!
//! Persisted like the MinHash index: header (magic, versions, n, normaliser), columns, checksum.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::minhash::ALGORITHM_VERSION;
use crate::normalize::{normalize_into, NormalizeOptions};
use crate::persist::{Header, Reader, Writer};
use crate::shingle::{shingles_into, ShingleBuf, ShingleKind};
use crate::text::Texts;

const MAGIC: &[u8; 8] = b"TSQANGX1";
const FORMAT_VERSION: u32 = 1;
const HEADER: Header =
    Header { magic: MAGIC, format_version: FORMAT_VERSION, algorithm_version: ALGORITHM_VERSION, what: "n-gram index" };

pub struct NgramIndex {
    n: usize,
    normalize: NormalizeOptions,
    /// Sorted distinct gram hashes (never 0: 0 marks an empty table slot).
    grams: Vec<u64>,
    /// Open-addressing table: slot → position in `grams` + 1 (0 = empty). Rebuilt on load.
    table: Vec<u32>,
    /// Posting list of each gram (index into `offsets`).
    list_of: Vec<u32>,
    /// `postings[offsets[l]..offsets[l+1]]` are the eval rows of posting list `l`.
    offsets: Vec<u64>,
    postings: Vec<u32>,
    ids: Vec<u64>,
}

/// Per-query result: distinct grams found, and the eval ids they belong to (CSR layout).
pub struct Overlaps {
    pub counts: Vec<u32>,
    pub offsets: Vec<i64>,
    pub ids: Vec<u64>,
}

fn grams_of(text: &str, n: usize, opts: NormalizeOptions, norm: &mut String, buf: &mut ShingleBuf, out: &mut Vec<u64>) {
    grams_unsorted(text, n, opts, norm, buf, out);
    out.sort_unstable();
    out.dedup();
}

/// The text's grams in text order, repeats kept (a query dedups only the few it finds).
fn grams_unsorted(
    text: &str,
    n: usize,
    opts: NormalizeOptions,
    norm: &mut String,
    buf: &mut ShingleBuf,
    out: &mut Vec<u64>,
) {
    normalize_into(text, opts, norm);
    shingles_into(norm, ShingleKind::Word(n), buf, out);
    for g in out.iter_mut() {
        *g = (*g).max(1);
    }
}

/// Slot table for `grams` (see step 2).
fn build_table(grams: &[u64]) -> Vec<u32> {
    let cap = (grams.len() * 2).next_power_of_two().max(2);
    let bits = cap.trailing_zeros();
    let mut table = vec![0u32; cap];
    for (pos, &g) in grams.iter().enumerate() {
        let mut slot = slot_of(g, bits);
        while table[slot] != 0 {
            slot = (slot + 1) & (cap - 1);
        }
        table[slot] = pos as u32 + 1;
    }
    table
}

#[inline]
fn slot_of(g: u64, bits: u32) -> usize {
    (g >> (64 - bits)) as usize
}

impl NgramIndex {
    /// Step 1. `ids` default to row positions.
    pub fn build<T: Texts + ?Sized>(
        texts: &T,
        ids: Option<&[u64]>,
        n: usize,
        normalize: NormalizeOptions,
    ) -> Result<Self> {
        if !(1..=64).contains(&n) {
            return Err(Error::param("n", n, "must be between 1 and 64"));
        }
        if let Some(ids) = ids {
            if ids.len() != texts.len() {
                return Err(Error::Input(format!("ids has {} values for {} texts", ids.len(), texts.len())));
            }
        }
        if texts.len() > u32::MAX as usize {
            return Err(Error::Input(format!("{} eval texts exceed {}", texts.len(), u32::MAX)));
        }
        let per_text: Vec<Vec<u64>> = (0..texts.len())
            .into_par_iter()
            .map_init(
                || (String::new(), ShingleBuf::default()),
                |(norm, buf), i| {
                    let mut out = Vec::new();
                    grams_of(texts.text(i).unwrap_or(""), n, normalize, norm, buf, &mut out);
                    out
                },
            )
            .collect();
        let mut pairs: Vec<(u64, u32)> =
            per_text.iter().enumerate().flat_map(|(row, g)| g.iter().map(move |&h| (h, row as u32))).collect();
        drop(per_text);
        pairs.par_sort_unstable();
        let mut grams = Vec::new();
        let mut list_of = Vec::new();
        let mut offsets = vec![0u64];
        let mut postings: Vec<u32> = Vec::new();
        let mut lists: HashMap<u64, Vec<u32>> = HashMap::new();
        for run in pairs.chunk_by(|a, b| a.0 == b.0) {
            let rows: Vec<u32> = run.iter().map(|p| p.1).collect();
            let key = xxh3_64(&rows.iter().flat_map(|r| r.to_le_bytes()).collect::<Vec<u8>>());
            let same = lists.get(&key).and_then(|cands| {
                cands
                    .iter()
                    .copied()
                    .find(|&l| postings[offsets[l as usize] as usize..offsets[l as usize + 1] as usize] == rows[..])
            });
            let l = match same {
                Some(l) => l,
                None => {
                    let l = (offsets.len() - 1) as u32;
                    postings.extend_from_slice(&rows);
                    offsets.push(postings.len() as u64);
                    lists.entry(key).or_default().push(l);
                    l
                }
            };
            grams.push(run[0].0);
            list_of.push(l);
        }
        drop(pairs);
        if grams.len() >= u32::MAX as usize {
            return Err(Error::Input(format!("{} distinct n-grams exceed the index limit", grams.len())));
        }
        let ids = ids.map_or_else(|| (0..texts.len() as u64).collect(), <[u64]>::to_vec);
        let table = build_table(&grams);
        Ok(NgramIndex { n, normalize, grams, table, list_of, offsets, postings, ids })
    }

    pub fn n(&self) -> usize {
        self.n
    }
    pub fn normalize(&self) -> NormalizeOptions {
        self.normalize
    }
    pub fn num_grams(&self) -> usize {
        self.grams.len()
    }
    pub fn num_texts(&self) -> usize {
        self.ids.len()
    }

    /// Position of gram `g` in `grams`.
    fn find(&self, g: u64) -> Option<usize> {
        let cap = self.table.len();
        let mut slot = slot_of(g, cap.trailing_zeros());
        loop {
            let p = self.table[slot];
            if p == 0 {
                return None;
            }
            if self.grams[p as usize - 1] == g {
                return Some(p as usize - 1);
            }
            slot = (slot + 1) & (cap - 1);
        }
    }

    /// Step 2.
    pub fn query<T: Texts + ?Sized>(&self, texts: &T) -> Overlaps {
        let per: Vec<(u32, Vec<u64>)> = (0..texts.len())
            .into_par_iter()
            .map_init(
                || (String::new(), ShingleBuf::default(), Vec::new()),
                |(norm, buf, grams), i| {
                    // Every gram looked up as it comes; only the found ones (few) are sorted to
                    // count the distinct ones: a gram's position in the index is unique.
                    grams_unsorted(texts.text(i).unwrap_or(""), self.n, self.normalize, norm, buf, grams);
                    let mut found: Vec<u32> = grams.iter().filter_map(|g| self.find(*g)).map(|p| p as u32).collect();
                    found.sort_unstable();
                    found.dedup();
                    let count = found.len() as u32;
                    let mut hit_lists: Vec<u32> = found.iter().map(|&p| self.list_of[p as usize]).collect();
                    hit_lists.sort_unstable();
                    hit_lists.dedup();
                    let mut hit: Vec<u64> = Vec::new();
                    for &l in &hit_lists {
                        let rows =
                            &self.postings[self.offsets[l as usize] as usize..self.offsets[l as usize + 1] as usize];
                        hit.extend(rows.iter().map(|&r| self.ids[r as usize]));
                    }
                    hit.sort_unstable();
                    hit.dedup();
                    (count, hit)
                },
            )
            .collect();
        let mut offsets = Vec::with_capacity(per.len() + 1);
        offsets.push(0i64);
        let mut ids = Vec::new();
        let mut counts = Vec::with_capacity(per.len());
        for (c, hit) in per {
            counts.push(c);
            ids.extend_from_slice(&hit);
            offsets.push(ids.len() as i64);
        }
        Overlaps { counts, offsets, ids }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut w = Writer::create(path)?;
        HEADER.write(&mut w)?;
        w.u32(self.n as u32)?;
        w.u8(u8::from(self.normalize.keep_digits))?;
        w.u64(self.grams.len() as u64)?;
        w.u64s(&self.grams)?;
        w.u32s(&self.list_of)?;
        w.u64(self.offsets.len() as u64)?;
        w.u64s(&self.offsets)?;
        w.u64(self.postings.len() as u64)?;
        w.u32s(&self.postings)?;
        w.u64(self.ids.len() as u64)?;
        w.u64s(&self.ids)?;
        w.finish()
    }

    /// Reads an index; `expected_n`, when given, must equal the stored n-gram size.
    pub fn load(path: &Path, expected_n: Option<usize>) -> Result<Self> {
        let mut r = Reader::open(path)?;
        HEADER.read(&mut r, path)?;
        let bad = |what: &str| HEADER.bad(path, what);
        let n = r.u32()? as usize;
        let keep_digits = r.u8()? != 0;
        let g = r.len(u64::MAX / 16)?;
        let grams = r.u64s(g)?;
        let list_of = r.u32s(g)?;
        let nl = r.len(u64::MAX / 8)?;
        let offsets = r.u64s(nl)?;
        let p = r.len(u64::MAX / 4)?;
        let postings = r.u32s(p)?;
        let m = r.len(u64::MAX / 8)?;
        let ids = r.u64s(m)?;
        r.finish()?;
        let sorted = grams.windows(2).all(|w| w[0] < w[1]);
        let offsets_ok = offsets.windows(2).all(|w| w[0] <= w[1])
            && offsets.last() == Some(&(p as u64))
            && offsets.first() == Some(&0);
        let lists_ok = list_of.iter().all(|&l| (l as usize) + 1 < offsets.len());
        if !sorted || !offsets_ok || !lists_ok || postings.iter().any(|&x| x as usize >= m) {
            return Err(bad("corrupt tables"));
        }
        if let Some(want) = expected_n {
            if want != n {
                return Err(Error::Mismatch { name: "n", stored: n.to_string(), requested: want.to_string() });
            }
        }
        if sorted && grams.first() == Some(&0) {
            return Err(bad("corrupt tables"));
        }
        let table = build_table(&grams);
        Ok(NgramIndex { n, normalize: NormalizeOptions { keep_digits }, grams, table, list_of, offsets, postings, ids })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_overlapping_eval_items_and_round_trips() {
        let eval = vec![
            "Which planet is known as the red planet in our solar system?",
            "What is the capital city of France and its largest city?",
            "Paris",
        ];
        let idx = NgramIndex::build(&eval, Some(&[100, 200, 300]), 5, NormalizeOptions::default()).unwrap();
        let queries = vec![
            "Q: which PLANET is known as the red planet? A: Mars",
            "completely unrelated text with many words in it",
            "paris",
            "",
        ];
        let o = idx.query(&queries);
        assert_eq!(o.counts, vec![4, 0, 1, 0]);
        assert_eq!(o.offsets, vec![0, 1, 1, 2, 2]);
        assert_eq!(o.ids, vec![100, 300]);
        let path = std::env::temp_dir().join(format!("tsqa-ngram-{}.idx", std::process::id()));
        idx.save(&path).unwrap();
        let back = NgramIndex::load(&path, Some(5)).unwrap();
        assert_eq!(back.query(&queries).counts, o.counts);
        assert!(matches!(NgramIndex::load(&path, Some(13)), Err(Error::Mismatch { .. })));
        std::fs::remove_file(&path).unwrap();
        assert!(NgramIndex::build(&eval, None, 0, NormalizeOptions::default()).is_err());
    }

    #[test]
    fn query_counts_distinct_grams_as_a_set_intersection_does() {
        // Small vocabularies: queries repeat grams (a copied phrase twice must count once).
        let words = ["red", "planet", "mars", "capital", "paris", "the", "of"];
        let mut state = 11u64;
        let mut text = |len: usize| {
            (0..len)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    words[(state >> 33) as usize % words.len()]
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let eval: Vec<String> = (0..20).map(|i| text(4 + i % 9)).collect();
        let queries: Vec<String> = (0..200).map(|i| text(i % 25)).collect();
        let idx = NgramIndex::build(&eval, None, 3, NormalizeOptions::default()).unwrap();
        let o = idx.query(&queries);
        let opts = NormalizeOptions::default();
        let (mut norm, mut buf) = (String::new(), ShingleBuf::default());
        let mut set_of = |t: &str| {
            let mut g = Vec::new();
            grams_of(t, 3, opts, &mut norm, &mut buf, &mut g);
            g.into_iter().collect::<std::collections::BTreeSet<u64>>()
        };
        let eval_sets: Vec<_> = eval.iter().map(|t| set_of(t)).collect();
        for (q, query) in queries.iter().enumerate() {
            let mine = set_of(query);
            let all: std::collections::BTreeSet<u64> = eval_sets.iter().flatten().copied().collect();
            assert_eq!(o.counts[q] as usize, mine.intersection(&all).count(), "{query:?}");
            let hit: Vec<u64> = (0..eval.len() as u64).filter(|&e| !eval_sets[e as usize].is_disjoint(&mine)).collect();
            assert_eq!(&o.ids[o.offsets[q] as usize..o.offsets[q + 1] as usize], hit.as_slice(), "{query:?}");
        }
    }

    #[test]
    fn repeated_eval_items_share_posting_lists() {
        let item = "the same benchmark question appears many times in this evaluation split";
        let mut eval: Vec<&str> = vec![item; 50];
        eval.push("a different question about something else entirely in the split");
        let idx = NgramIndex::build(&eval, None, 5, NormalizeOptions::default()).unwrap();
        // All grams of the repeated item share one list of 50 rows; the other item has its own.
        assert_eq!(idx.offsets.len() - 1, 2);
        assert_eq!(idx.postings.len(), 51);
        let o = idx.query(&vec![item]);
        assert_eq!(o.ids, (0..50).collect::<Vec<u64>>());
        assert_eq!(o.counts, vec![7]);
    }
}
