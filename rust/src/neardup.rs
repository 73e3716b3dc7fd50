//! Near-duplicate detection: the whole pipeline over one corpus (and optionally an index of
//! earlier corpora).
//!
//! Stages (each timed in `Stats`):
//! 1. `band_keys` — text → band keys (`sketch`), band-major, ~8 B per record per band.
//! 2. `index` — when an index is given, each record's band keys are looked up in it and the
//!    candidates verified on full signatures (the index keeps them).
//! 3. `group` — per band, sort-based grouping into star edges (`lsh::star_edges`), bands in
//!    parallel; edges merged, sorted and de-duplicated. Band keys are dropped afterwards.
//! 4. `verify` — only records on an edge are re-read, centre by centre: exact Jaccard of their
//!    shingle sets (default), or the signature estimate, or nothing; edges below the threshold
//!    are dropped. Re-reading keeps memory at the band keys instead of storing 512 B/record of
//!    signatures or ~1 KB/record of shingle sets.
//! 5. `cluster` — union-find, representative = lowest id or best score.

use std::time::Instant;

use rayon::prelude::*;

use crate::cluster::UnionFind;
use crate::error::{Error, Result};
use crate::index::MinHashIndex;
use crate::lsh::star_edges;
use crate::minhash::{estimate, Kernel};
use crate::shingle::jaccard_sorted;
use crate::sketch::{BandKeys, Scratch, SketchParams, Sketcher};
use crate::text::Texts;

/// How candidate pairs are confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Exact Jaccard of the shingle sets (re-shingles the records on an edge).
    Exact,
    /// MinHash estimate from full signatures (re-sketches the records on an edge).
    Signature,
    /// Every candidate pair is accepted (LSH only).
    None,
}

impl Verify {
    pub fn parse(name: &str) -> Result<Verify> {
        match name {
            "exact" => Ok(Verify::Exact),
            "signature" => Ok(Verify::Signature),
            "none" => Ok(Verify::None),
            _ => Err(Error::param("verify", format!("'{name}'"), "expected one of 'exact', 'signature', 'none'")),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct DedupParams {
    pub sketch: SketchParams,
    pub threshold: f64,
    pub verify: Verify,
    pub kernel: Kernel,
}

/// Seconds per stage and counts, for progress reports and benchmarks.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub band_keys_s: f64,
    pub index_s: f64,
    pub group_s: f64,
    pub verify_s: f64,
    pub cluster_s: f64,
    pub candidate_pairs: usize,
    pub verified_pairs: usize,
    pub index_matches: usize,
}

pub struct NearDup {
    pub cluster_id: Vec<u32>,
    pub is_duplicate: Vec<bool>,
    /// Representative of the record's cluster, or -1 when the record is kept.
    pub duplicate_of: Vec<i64>,
    pub cluster_size: Vec<u32>,
    /// Id (as stored in the index) of the earliest index record this one duplicates, or -1.
    pub index_match: Vec<i64>,
    pub stats: Stats,
}

/// Runs stages 1–5 on the current rayon pool.
pub fn near_dedup<T: Texts + ?Sized>(
    texts: &T,
    params: &DedupParams,
    scores: Option<&[f64]>,
    index: Option<&MinHashIndex>,
) -> Result<NearDup> {
    let n = texts.len();
    if n > u32::MAX as usize {
        return Err(Error::Input(format!("{n} records exceed the limit of {} per call", u32::MAX)));
    }
    if let Some(s) = scores {
        if s.len() != n {
            return Err(Error::Input(format!("scores has {} values for {n} records", s.len())));
        }
    }
    if let Some(idx) = index {
        idx.check_params(&params.sketch)?;
    }
    let sketcher = Sketcher::new(params.sketch, params.kernel)?;
    let mut stats = Stats::default();

    let t = Instant::now();
    let keys = sketcher.band_keys(texts);
    stats.band_keys_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    // Allocated only with an index: 8 B/record less at the memory peak (grouping) otherwise.
    let index_match = match index {
        Some(idx) if !idx.is_empty() => Some(match_index(texts, &keys, &sketcher, idx, params.threshold)),
        _ => None,
    };
    stats.index_matches = index_match.as_ref().map_or(0, |m| m.iter().filter(|&&m| m >= 0).count());
    stats.index_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let edges = group(&keys);
    drop(keys);
    stats.candidate_pairs = edges.len();
    stats.group_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let edges = verify(texts, edges, &sketcher, params);
    stats.verified_pairs = edges.len();
    stats.verify_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut uf = UnionFind::new(n);
    for e in &edges {
        uf.union((e >> 32) as u32, *e as u32);
    }
    let clusters = uf.clusters(scores);
    let duplicate_of: Vec<i64> = (0..n)
        .map(|i| if clusters.representative[i] as usize == i { -1 } else { i64::from(clusters.representative[i]) })
        .collect();
    let index_match = index_match.unwrap_or_else(|| vec![-1; n]);
    let is_duplicate = (0..n).map(|i| duplicate_of[i] >= 0 || index_match[i] >= 0).collect();
    stats.cluster_s = t.elapsed().as_secs_f64();
    Ok(NearDup {
        cluster_id: clusters.representative,
        is_duplicate,
        duplicate_of,
        cluster_size: clusters.size,
        index_match,
        stats,
    })
}

/// Stage 3: star edges of every band, merged and de-duplicated (sorted, so deterministic).
pub fn group(keys: &BandKeys) -> Vec<u64> {
    let per_band: Vec<Vec<u64>> = (0..keys.bands)
        .into_par_iter()
        .map(|b| {
            let mut out = Vec::new();
            star_edges(keys.band(b), &mut out);
            out.sort_unstable();
            out
        })
        .collect();
    let mut edges: Vec<u64> = per_band.concat();
    edges.par_sort_unstable();
    edges.dedup();
    edges
}

/// Largest number of edges one verification task handles (a bucket of 10k identical records is
/// split so both cores share it).
const VERIFY_CHUNK: usize = 256;

/// Stage 4: keeps the edges whose similarity reaches the threshold. Edges arrive sorted by
/// centre; each task re-reads its centre once and its members one by one, so nothing per record
/// is stored (the shingle sets of every record on an edge would cost ~1.2 KB each).
pub(crate) fn verify<T: Texts + ?Sized>(
    texts: &T,
    edges: Vec<u64>,
    sketcher: &Sketcher,
    params: &DedupParams,
) -> Vec<u64> {
    if params.verify == Verify::None || edges.is_empty() {
        return edges;
    }
    let text = |id: u64| texts.text(id as usize).unwrap_or("");
    let tasks: Vec<&[u64]> = edges.chunk_by(|a, b| a >> 32 == b >> 32).flat_map(|g| g.chunks(VERIFY_CHUNK)).collect();
    let t = params.threshold;
    let keep: Vec<Vec<u64>> = match params.verify {
        Verify::Exact => tasks
            .par_iter()
            .map_init(Scratch::default, |s, task| {
                let centre_text = text(task[0] >> 32);
                let centre = sketcher.shingle_set(centre_text, s);
                task.iter()
                    .copied()
                    .filter(|&e| {
                        // Byte-identical copies (common: the bucket of identical records) need no shingling.
                        let member = text(e & 0xFFFF_FFFF);
                        (member == centre_text && !centre.is_empty())
                            || jaccard_sorted(&centre, &sketcher.shingle_set(member, s)) >= t
                    })
                    .collect()
            })
            .collect(),
        _ => tasks
            .par_iter()
            .map_init(
                || (Scratch::default(), Vec::new()),
                |(s, centre), task| {
                    centre.clear();
                    let centre_text = text(task[0] >> 32);
                    match sketcher.sketch(centre_text, s) {
                        Some(sig) => centre.extend_from_slice(sig),
                        None => return Vec::new(),
                    }
                    task.iter()
                        .copied()
                        .filter(|&e| {
                            let member = text(e & 0xFFFF_FFFF);
                            member == centre_text
                                || sketcher.sketch(member, s).is_some_and(|sig| estimate(centre, sig) >= t)
                        })
                        .collect()
                },
            )
            .collect(),
    };
    keep.concat()
}

/// Stage 2 alone, for a stream of shards: per record, the lowest id of a verified match in
/// `index`, or -1.
pub fn index_matches<T: Texts + ?Sized>(
    texts: &T,
    index: &MinHashIndex,
    threshold: f64,
    kernel: Kernel,
) -> Result<Vec<i64>> {
    if index.is_empty() {
        return Ok(vec![-1; texts.len()]);
    }
    let sketcher = Sketcher::new(*index.params(), kernel)?;
    let keys = sketcher.band_keys(texts);
    Ok(match_index(texts, &keys, &sketcher, index, threshold))
}

/// Stage 2: for each record, the lowest index id among verified candidates sharing a band key.
pub(crate) fn match_index<T: Texts + ?Sized>(
    texts: &T,
    keys: &BandKeys,
    sketcher: &Sketcher,
    idx: &MinHashIndex,
    threshold: f64,
) -> Vec<i64> {
    (0..keys.n)
        .into_par_iter()
        .map_init(
            || (Scratch::default(), Vec::new()),
            |(scratch, cands), i| {
                if keys.is_empty_record(i) {
                    return -1;
                }
                cands.clear();
                for b in 0..keys.bands {
                    cands.extend_from_slice(idx.lookup(b, keys.band(b)[i]));
                }
                if cands.is_empty() {
                    return -1;
                }
                cands.sort_unstable();
                cands.dedup();
                let Some(sig) = sketcher.sketch(texts.text(i).unwrap_or(""), scratch) else { return -1 };
                cands
                    .iter()
                    .filter(|&&row| estimate(sig, idx.signature(row)) >= threshold)
                    .map(|&row| idx.id(row) as i64)
                    .min()
                    .unwrap_or(-1)
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormalizeOptions;
    use crate::shingle::ShingleKind;

    fn params(verify: Verify) -> DedupParams {
        let sketch = SketchParams::new(128, 7, 0.8, None, ShingleKind::Word(3), NormalizeOptions::default()).unwrap();
        DedupParams { sketch, threshold: 0.8, verify, kernel: Kernel::detect() }
    }

    fn corpus() -> Vec<String> {
        let base = "a farmer has seventeen sheep and all but nine run away how many sheep remain in the field at the end of the day";
        vec![
            base.to_string(),
            format!("{base}!"),                    // identical after normalisation
            base.replace("seventeen", "eighteen"), // one word changed: J = 19/25
            "completely different text about the orbit of mars and its two small moons phobos and deimos".into(),
            "".into(),
            "".into(),
            format!("{base} yes"), // one word appended: J = 22/23
        ]
    }

    #[test]
    fn finds_planted_duplicates_with_lowest_id_representative() {
        let texts = corpus();
        let r = near_dedup(&texts, &params(Verify::Exact), None, None).unwrap();
        assert_eq!(r.duplicate_of, vec![-1, 0, -1, -1, -1, -1, 0]);
        assert_eq!(r.cluster_id, vec![0, 0, 2, 3, 4, 5, 0]);
        assert_eq!(r.cluster_size, vec![3, 3, 1, 1, 1, 1, 3]);
        assert_eq!(r.is_duplicate, vec![false, true, false, false, false, false, true]);
    }

    #[test]
    fn scores_choose_the_representative() {
        let texts = corpus();
        let scores = [0.1, 0.2, 0.0, 0.0, 0.0, 0.0, 0.9];
        let r = near_dedup(&texts, &params(Verify::Exact), Some(&scores), None).unwrap();
        assert_eq!(r.duplicate_of, vec![6, 6, -1, -1, -1, -1, -1]);
        assert!(near_dedup(&texts, &params(Verify::Exact), Some(&[1.0]), None).is_err());
    }

    #[test]
    fn verification_modes_agree_on_clear_cases() {
        let texts = corpus();
        for v in [Verify::Signature, Verify::None] {
            let r = near_dedup(&texts, &params(v), None, None).unwrap();
            assert_eq!(r.duplicate_of[1], 0);
            assert_eq!(r.duplicate_of[3], -1);
        }
    }
}
