//! Locality-sensitive hashing of MinHash signatures by banding (Indyk & Motwani 1998; Leskovec,
//! Rajaraman, Ullman, "Mining of Massive Datasets", ch. 3.4).
//!
//! Steps:
//! 1. Choose `bands × rows` from the threshold: the sharpest curve (most rows) whose detection
//!    probability `1 - (1 - t^rows)^bands` at the threshold `t` is still ≥ 98.5%, i.e. the knee
//!    of the S-curve sits *below* the threshold and candidates are verified afterwards. (Putting
//!    the knee at the threshold, as datasketch's optimiser does, loses half the pairs there.)
//! 2. Band key: a 64-bit hash of the band's `rows` slots and the band number (u32 keys collide
//!    at tens of millions of records). Key 0 is reserved for "no shingles".
//! 3. Grouping, per band: partition `(key, id)` pairs by the key's top bits (one counting pass),
//!    sort each cache-sized partition, and emit star edges `(lowest id of the run, member)` —
//!    O(n) edges, never all pairs of a bucket.

use crate::error::{Error, Result};
use crate::shingle::fmix64;

/// Recall the band choice guarantees at the threshold itself.
pub const TARGET_RECALL: f64 = 0.985;

/// Probability that a pair of Jaccard similarity `j` shares at least one band key.
pub fn detection_probability(j: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - j.powi(rows as i32)).powi(bands as i32)
}

/// `(bands, rows)` for `num_perm` slots and `threshold`, knee below the threshold (step 1).
pub fn choose_bands(num_perm: usize, threshold: f64) -> Result<(usize, usize)> {
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(Error::param("threshold", threshold, "must be in (0, 1]"));
    }
    for rows in (1..=num_perm).rev() {
        let bands = num_perm / rows;
        if detection_probability(threshold, bands, rows) >= TARGET_RECALL {
            return Ok((bands, rows));
        }
    }
    Ok((num_perm, 1))
}

/// Checks user-given bands/rows against `num_perm`.
pub fn validate_bands(num_perm: usize, bands: usize, rows: usize) -> Result<()> {
    if bands == 0 || rows == 0 {
        return Err(Error::param("bands", format!("{bands}x{rows}"), "bands and rows must be at least 1"));
    }
    if bands * rows > num_perm {
        return Err(Error::param(
            "bands",
            format!("{bands}x{rows}"),
            format!("bands*rows = {} exceeds num_perm = {num_perm}", bands * rows),
        ));
    }
    Ok(())
}

/// The key of band `band` (step 2); never 0.
#[inline]
pub fn band_key(sig: &[u32], band: usize, rows: usize) -> u64 {
    let mut h = (band as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F);
    for &v in &sig[band * rows..(band + 1) * rows] {
        h = (h ^ u64::from(v)).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(31);
    }
    fmix64(h).max(1)
}

/// The reserved key of a record without shingles: such records join no bucket.
pub const EMPTY_KEY: u64 = 0;

/// Star edges of one band (step 3), packed as `centre << 32 | member`, appended to `out`.
pub fn star_edges(keys: &[u64], out: &mut Vec<u64>) {
    let n = keys.len();
    // Partitions of ~1k pairs fit in L1/L2 while sorted.
    let bits = (usize::BITS - (n / 1024).leading_zeros()).min(16);
    let shift = 64 - bits;
    let parts = 1usize << bits;
    let part = |k: u64| if bits == 0 { 0 } else { (k >> shift) as usize };
    let mut starts = vec![0usize; parts + 1];
    for &k in keys {
        if k != EMPTY_KEY {
            starts[part(k) + 1] += 1;
        }
    }
    for p in 0..parts {
        starts[p + 1] += starts[p];
    }
    let mut fill = starts.clone();
    let mut pairs = vec![(0u64, 0u32); starts[parts]];
    for (id, &k) in keys.iter().enumerate() {
        if k != EMPTY_KEY {
            let p = part(k);
            pairs[fill[p]] = (k, id as u32);
            fill[p] += 1;
        }
    }
    for p in 0..parts {
        let chunk = &mut pairs[starts[p]..starts[p + 1]];
        chunk.sort_unstable_by_key(|&(k, _)| k);
        for run in chunk.chunk_by(|x, y| x.0 == y.0) {
            if run.len() < 2 {
                continue;
            }
            let centre = run.iter().map(|&(_, id)| id).min().unwrap_or(0);
            out.extend(
                run.iter().filter(|&&(_, id)| id != centre).map(|&(_, id)| (u64::from(centre) << 32) | u64::from(id)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knee_sits_below_threshold() {
        assert_eq!(choose_bands(128, 0.8).unwrap(), (18, 7));
        assert_eq!(choose_bands(256, 0.8).unwrap(), (32, 8));
        for t in [0.5, 0.7, 0.8, 0.9, 0.95] {
            let (b, r) = choose_bands(128, t).unwrap();
            assert!(detection_probability(t, b, r) >= TARGET_RECALL);
            assert!(b * r <= 128);
        }
        assert!(choose_bands(128, 0.0).is_err());
        assert!(choose_bands(128, f64::NAN).is_err());
        assert!(validate_bands(128, 20, 7).is_err());
    }

    #[test]
    fn star_edges_connect_runs_to_lowest_id() {
        let keys = [5, 9, 5, 0, 0, 7, 5, 9];
        let mut out = Vec::new();
        star_edges(&keys, &mut out);
        out.sort_unstable();
        let pairs: Vec<(u64, u64)> = out.iter().map(|e| (e >> 32, e & 0xFFFF_FFFF)).collect();
        // Empty keys (0) never pair; run {0,2,6} → stars from 0; run {1,7} → 1–7.
        assert_eq!(pairs, vec![(0, 2), (0, 6), (1, 7)]);
    }

    #[test]
    fn star_edges_scale_linearly_on_one_bucket() {
        let keys = vec![42u64; 10_000];
        let mut out = Vec::new();
        star_edges(&keys, &mut out);
        assert_eq!(out.len(), 9_999);
        let mut keys: Vec<u64> = (1..=50_000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1).collect();
        keys[40_000] = keys[7];
        out.clear();
        star_edges(&keys, &mut out);
        assert_eq!(out, vec![(7u64 << 32) | 40_000]);
    }
}
