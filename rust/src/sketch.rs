//! Text → normal form → shingles → MinHash signature → band keys, per record and in parallel.
//!
//! Steps: `normalize` (ASCII fast path / NFKC), `shingle` (word or char n-gram hashes), `minhash`
//! (K-permutation signature, SIMD kernel), `lsh::band_key` per band. Records are processed in
//! blocks of 4096 on the caller's rayon pool with per-worker scratch buffers, and the keys are
//! written band-major (one contiguous column per band), which is what grouping sorts.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::lsh::{band_key, choose_bands, validate_bands, EMPTY_KEY};
use crate::minhash::{Kernel, MinHasher};
use crate::normalize::{normalize_into, normalize_words_into, NormalizeOptions};
use crate::shingle::{shingle_set, shingles_into, word_shingles_into, ShingleBuf, ShingleKind};
use crate::text::Texts;

/// Everything that determines a signature and its band keys; persisted in index headers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SketchParams {
    pub num_perm: usize,
    pub seed: u64,
    pub bands: usize,
    pub rows: usize,
    pub shingle: ShingleKind,
    pub normalize: NormalizeOptions,
}

impl SketchParams {
    /// Checks every value; bands/rows default from `threshold` (knee below it).
    pub fn new(
        num_perm: usize,
        seed: u64,
        threshold: f64,
        bands_rows: Option<(usize, usize)>,
        shingle: ShingleKind,
        normalize: NormalizeOptions,
    ) -> Result<Self> {
        if !(1..=4096).contains(&num_perm) {
            return Err(Error::param("num_perm", num_perm, "must be between 1 and 4096"));
        }
        let (bands, rows) = match bands_rows {
            Some((b, r)) => {
                validate_bands(num_perm, b, r)?;
                (b, r)
            }
            None => choose_bands(num_perm, threshold)?,
        };
        Ok(SketchParams { num_perm, seed, bands, rows, shingle: shingle.validate()?, normalize })
    }
}

/// Per-worker buffers, reused across records.
#[derive(Default)]
pub struct Scratch {
    norm: String,
    ends: Vec<u32>,
    shingle_buf: ShingleBuf,
    shingles: Vec<u64>,
    sig: Vec<u32>,
}

/// Computes signatures and band keys for one parameter set.
pub struct Sketcher {
    pub params: SketchParams,
    hasher: MinHasher,
}

/// Band keys of a corpus, band-major: `keys[band * n + record]`.
pub struct BandKeys {
    pub n: usize,
    pub bands: usize,
    pub keys: Vec<u64>,
}

impl BandKeys {
    pub fn band(&self, b: usize) -> &[u64] {
        &self.keys[b * self.n..(b + 1) * self.n]
    }
    pub fn is_empty_record(&self, i: usize) -> bool {
        self.bands == 0 || self.keys[i] == EMPTY_KEY
    }
}

const BLOCK: usize = 4096;

impl Sketcher {
    pub fn new(params: SketchParams, kernel: Kernel) -> Result<Self> {
        let hasher = MinHasher::new(params.num_perm, params.seed, kernel)?;
        Ok(Sketcher { params, hasher })
    }

    pub fn kernel(&self) -> Kernel {
        self.hasher.kernel()
    }

    /// The signature of one text, left in `scratch.sig`; returns false when it has no shingles.
    pub fn sketch<'s>(&self, text: &str, scratch: &'s mut Scratch) -> Option<&'s [u32]> {
        match self.params.shingle {
            ShingleKind::Word(n) => {
                normalize_words_into(text, self.params.normalize, &mut scratch.norm, &mut scratch.ends);
                word_shingles_into(&scratch.norm, &scratch.ends, n, &mut scratch.shingle_buf, &mut scratch.shingles);
            }
            ShingleKind::Char(_) => {
                normalize_into(text, self.params.normalize, &mut scratch.norm);
                shingles_into(&scratch.norm, self.params.shingle, &mut scratch.shingle_buf, &mut scratch.shingles);
            }
        }
        if scratch.shingles.is_empty() {
            return None;
        }
        scratch.sig.resize(self.params.num_perm, 0);
        self.hasher.signature_into(&scratch.shingles, &mut scratch.sig);
        Some(&scratch.sig)
    }

    /// The sorted shingle set of one text (exact verification).
    pub fn shingle_set(&self, text: &str, scratch: &mut Scratch) -> Vec<u64> {
        normalize_into(text, self.params.normalize, &mut scratch.norm);
        shingle_set(&scratch.norm, self.params.shingle, &mut scratch.shingle_buf)
    }

    /// Signatures of all records, row-major `n × num_perm`; records without shingles get
    /// all-`u32::MAX` rows. Nulls must have been rejected by the caller.
    pub fn signatures<T: Texts + ?Sized>(&self, texts: &T) -> Vec<u32> {
        let k = self.params.num_perm;
        let mut out = vec![u32::MAX; texts.len() * k];
        out.par_chunks_mut(BLOCK * k).enumerate().for_each_init(Scratch::default, |scratch, (blk, rows)| {
            for (r, row) in rows.chunks_exact_mut(k).enumerate() {
                if let Some(sig) = self.sketch(texts.text(blk * BLOCK + r).unwrap_or(""), scratch) {
                    row.copy_from_slice(sig);
                }
            }
        });
        out
    }

    /// `band_keys` and `signatures` of the same records, each record sketched once.
    pub fn band_keys_and_signatures<T: Texts + ?Sized>(&self, texts: &T) -> (BandKeys, Vec<u32>) {
        let (n, bands, rows, k) = (texts.len(), self.params.bands, self.params.rows, self.params.num_perm);
        let mut sigs = vec![u32::MAX; n * k];
        let mut has = vec![false; n];
        sigs.par_chunks_mut(k).zip(has.par_iter_mut()).enumerate().for_each_init(
            Scratch::default,
            |scratch, (i, (out, has))| {
                if let Some(sig) = self.sketch(texts.text(i).unwrap_or(""), scratch) {
                    out.copy_from_slice(sig);
                    *has = true;
                }
            },
        );
        let mut keys = vec![EMPTY_KEY; bands * n];
        keys.par_chunks_mut(n.max(1)).enumerate().for_each(|(b, column)| {
            for (i, key) in column.iter_mut().enumerate() {
                if has[i] {
                    *key = band_key(&sigs[i * k..(i + 1) * k], b, rows);
                }
            }
        });
        (BandKeys { n, bands, keys }, sigs)
    }

    /// Band keys of all records (band-major).
    pub fn band_keys<T: Texts + ?Sized>(&self, texts: &T) -> BandKeys {
        let (n, bands, rows) = (texts.len(), self.params.bands, self.params.rows);
        let mut keys = vec![EMPTY_KEY; bands * n];
        if n > 0 {
            let blocks = n.div_ceil(BLOCK);
            let mut per_block: Vec<Vec<&mut [u64]>> = (0..blocks).map(|_| Vec::with_capacity(bands)).collect();
            for column in keys.chunks_mut(n) {
                for (blk, part) in column.chunks_mut(BLOCK).enumerate() {
                    per_block[blk].push(part);
                }
            }
            per_block.into_par_iter().enumerate().for_each_init(Scratch::default, |scratch, (blk, mut cols)| {
                let len = cols.first().map_or(0, |c| c.len());
                for r in 0..len {
                    if let Some(sig) = self.sketch(texts.text(blk * BLOCK + r).unwrap_or(""), scratch) {
                        for (b, col) in cols.iter_mut().enumerate() {
                            col[r] = band_key(sig, b, rows);
                        }
                    }
                }
            });
        }
        BandKeys { n, bands, keys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketcher(kernel: Kernel) -> Sketcher {
        let p = SketchParams::new(128, 1, 0.8, None, ShingleKind::Word(3), NormalizeOptions::default()).unwrap();
        Sketcher::new(p, kernel).unwrap()
    }

    #[test]
    fn band_keys_and_signatures_equal_each_alone() {
        let mut texts: Vec<String> = (0..5000).map(|i| format!("question {} about {} pears", i % 89, i)).collect();
        texts[3] = "?!".into();
        let s = sketcher(Kernel::detect());
        let (keys, sigs) = s.band_keys_and_signatures(&texts);
        assert_eq!(keys.keys, s.band_keys(&texts).keys);
        assert_eq!(sigs, s.signatures(&texts));
        assert!(keys.is_empty_record(3) && !keys.is_empty_record(4));
        let (none, no_sigs) = s.band_keys_and_signatures(&Vec::<String>::new());
        assert!(none.keys.is_empty() && no_sigs.is_empty());
    }

    #[test]
    fn band_keys_match_signatures_and_skip_empty() {
        let texts: Vec<String> = (0..10_000).map(|i| format!("question {} about {} apples", i % 97, i)).collect();
        let mut texts = texts;
        texts[5] = "?!".into();
        let s = sketcher(Kernel::detect());
        let keys = s.band_keys(&texts);
        let sigs = s.signatures(&texts);
        assert!(keys.is_empty_record(5));
        assert!(sigs[5 * 128..6 * 128].iter().all(|&v| v == u32::MAX));
        for i in [0usize, 4095, 4096, 9999] {
            for b in 0..keys.bands {
                assert_eq!(keys.band(b)[i], band_key(&sigs[i * 128..(i + 1) * 128], b, s.params.rows));
            }
        }
    }

    #[test]
    fn thread_count_and_kernel_do_not_change_keys() {
        let texts: Vec<String> =
            (0..20_000).map(|i| format!("what is {} plus {}? the answer is {}", i, i * 7, i * 8)).collect();
        let reference = crate::error::with_pool(Some(1), || sketcher(Kernel::Scalar).band_keys(&texts).keys).unwrap();
        for threads in [2, 3, 8] {
            let got =
                crate::error::with_pool(Some(threads), || sketcher(Kernel::detect()).band_keys(&texts).keys).unwrap();
            assert!(got == reference, "threads={threads}");
        }
    }
}
