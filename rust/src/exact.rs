//! Exact deduplication: a 128-bit hash per record, keep the first occurrence.
//!
//! Steps:
//! 1. Hash each record with xxh3-128 — of its normal form (`normalize`, the default) or of its
//!    raw bytes; for several fields, of each field's length and bytes in order, so ("ab", "c")
//!    and ("a", "bc") differ. 128 bits make an accidental collision negligible (~n²/2^129), which
//!    a Bloom filter would not (it drops unique records at its false-positive rate).
//! 2. Sort (hash, row) pairs in parallel; in each run of equal hashes the lowest row is kept and
//!    every other row points to it.

use rayon::prelude::*;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

use crate::error::{Error, Result};
use crate::normalize::{normalize_into, NormalizeOptions};
use crate::text::Texts;

pub struct ExactDedup {
    pub hashes: Vec<u128>,
    pub is_duplicate: Vec<bool>,
    /// Row of the first record with the same hash (itself when kept).
    pub first: Vec<u32>,
}

/// Step 1 over `fields` (one or more columns of equal length).
pub fn hash_records(fields: &[&dyn Texts], normalize: Option<NormalizeOptions>) -> Result<Vec<u128>> {
    let Some(first) = fields.first() else {
        return Err(Error::Input("exact dedup needs at least one column".into()));
    };
    let n = first.len();
    if let Some(bad) = fields.iter().position(|f| f.len() != n) {
        return Err(Error::Input(format!("column {bad} has {} rows, column 0 has {n}", fields[bad].len())));
    }
    if n > u32::MAX as usize {
        return Err(Error::Input(format!("{n} records exceed the limit of {} per call", u32::MAX)));
    }
    let hashes = (0..n)
        .into_par_iter()
        .map_init(String::new, |buf, i| {
            if fields.len() == 1 {
                return match normalize {
                    Some(opts) => {
                        normalize_into(fields[0].text(i).unwrap_or(""), opts, buf);
                        xxh3_128(buf.as_bytes())
                    }
                    None => xxh3_128(fields[0].text(i).unwrap_or("").as_bytes()),
                };
            }
            let mut h = Xxh3::new();
            for f in fields {
                let bytes = match normalize {
                    Some(opts) => {
                        normalize_into(f.text(i).unwrap_or(""), opts, buf);
                        buf.as_bytes()
                    }
                    None => f.text(i).unwrap_or("").as_bytes(),
                };
                h.update(&(bytes.len() as u64).to_le_bytes());
                h.update(bytes);
            }
            h.digest128()
        })
        .collect();
    Ok(hashes)
}

/// Step 2.
pub fn keep_first(hashes: Vec<u128>) -> ExactDedup {
    let n = hashes.len();
    let mut order: Vec<(u128, u32)> = hashes.iter().enumerate().map(|(i, &h)| (h, i as u32)).collect();
    order.par_sort_unstable();
    let mut first: Vec<u32> = (0..n as u32).collect();
    for run in order.chunk_by(|a, b| a.0 == b.0) {
        let keep = run[0].1;
        for &(_, row) in &run[1..] {
            first[row as usize] = keep;
        }
    }
    let is_duplicate = first.iter().enumerate().map(|(i, &f)| f as usize != i).collect();
    ExactDedup { hashes, is_duplicate, first }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_of_normalised_equals() {
        let texts = vec!["Hello, World!", "b", "hello world", "HELLO   WORLD?", "b ", ""];
        let h = hash_records(&[&texts], Some(NormalizeOptions::default())).unwrap();
        let r = keep_first(h);
        assert_eq!(r.first, vec![0, 1, 0, 0, 1, 5]);
        let raw = keep_first(hash_records(&[&texts], None).unwrap());
        assert_eq!(raw.first, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn fields_are_length_prefixed() {
        let a = vec!["ab", "a", "ab"];
        let b = vec!["c", "bc", "c"];
        let short = vec!["c"];
        let r = keep_first(hash_records(&[&a, &b], None).unwrap());
        assert_eq!(r.first, vec![0, 1, 0]);
        assert!(hash_records(&[&a, &short], None).is_err());
        assert!(hash_records(&[], None).is_err());
    }
}
