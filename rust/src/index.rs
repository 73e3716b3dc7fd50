//! Persistent MinHash index: band tables plus full signatures of earlier corpora (other runs,
//! other tasks, the seeds), so a new corpus is deduplicated against them.
//!
//! File format (little-endian), version `FORMAT_VERSION`:
//! ```text
//! magic "TSQAMHX1" | format u32 | algorithm u32 | seed u64 | num_perm u32 | bands u32 | rows u32
//! | shingle kind u8 | ngram u32 | keep_digits u8 | n u64
//! | ids [u64; n] | signatures [u32; n * num_perm]
//! | per band: n_b u64, keys [u64; n_b], rows [u32; n_b]   (sorted by key, then row)
//! | xxh3-64 of everything before it
//! ```
//! Band tables are stored (not recomputed) so loading is a read; the header is checked against
//! the caller's parameters and any difference is refused, naming the parameter.

use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::lsh::band_key;
use crate::minhash::{Kernel, ALGORITHM_VERSION};
use crate::normalize::NormalizeOptions;
use crate::persist::{Header, Reader, Writer};
use crate::shingle::ShingleKind;
use crate::sketch::{SketchParams, Sketcher};
use crate::text::Texts;

const MAGIC: &[u8; 8] = b"TSQAMHX1";
pub const FORMAT_VERSION: u32 = 1;
const HEADER: Header = Header {
    magic: MAGIC,
    format_version: FORMAT_VERSION,
    algorithm_version: ALGORITHM_VERSION,
    what: "MinHash index",
};

/// One band's table: keys sorted, `rows[i]` the index row of `keys[i]`.
#[derive(Clone, Default)]
struct Table {
    keys: Vec<u64>,
    rows: Vec<u32>,
}

pub struct MinHashIndex {
    params: SketchParams,
    ids: Vec<u64>,
    sigs: Vec<u32>,
    tables: Vec<Table>,
}

impl MinHashIndex {
    pub fn new(params: SketchParams) -> Self {
        MinHashIndex { params, ids: Vec::new(), sigs: Vec::new(), tables: vec![Table::default(); params.bands] }
    }

    pub fn params(&self) -> &SketchParams {
        &self.params
    }
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    pub fn id(&self, row: u32) -> u64 {
        self.ids[row as usize]
    }
    pub fn signature(&self, row: u32) -> &[u32] {
        let k = self.params.num_perm;
        &self.sigs[row as usize * k..(row as usize + 1) * k]
    }

    /// Rows whose band `band` has key `key`.
    pub fn lookup(&self, band: usize, key: u64) -> &[u32] {
        let t = &self.tables[band];
        let lo = t.keys.partition_point(|&k| k < key);
        let hi = lo + t.keys[lo..].partition_point(|&k| k == key);
        &t.rows[lo..hi]
    }

    /// Refuses `requested` unless it equals the parameters the index was built with.
    pub fn check_params(&self, requested: &SketchParams) -> Result<()> {
        let (s, r) = (&self.params, requested);
        let checks: [(&'static str, String, String); 6] = [
            ("num_perm", s.num_perm.to_string(), r.num_perm.to_string()),
            ("seed", s.seed.to_string(), r.seed.to_string()),
            ("bands", s.bands.to_string(), r.bands.to_string()),
            ("rows", s.rows.to_string(), r.rows.to_string()),
            ("ngram", s.shingle.to_string(), r.shingle.to_string()),
            ("keep_digits", s.normalize.keep_digits.to_string(), r.normalize.keep_digits.to_string()),
        ];
        for (name, stored, requested) in checks {
            if stored != requested {
                return Err(Error::Mismatch { name, stored, requested });
            }
        }
        Ok(())
    }

    /// Adds the records of `texts` with their ids (positions offset by the current size when
    /// `ids` is None). Records without shingles are skipped: they can never match. Returns how
    /// many were added.
    pub fn add<T: Texts + ?Sized>(&mut self, texts: &T, ids: Option<&[u64]>, kernel: Kernel) -> Result<usize> {
        if let Some(ids) = ids {
            if ids.len() != texts.len() {
                return Err(Error::Input(format!("ids has {} values for {} records", ids.len(), texts.len())));
            }
        }
        if self.ids.len() + texts.len() > u32::MAX as usize {
            return Err(Error::Input(format!("index would exceed {} records", u32::MAX)));
        }
        let sketcher = Sketcher::new(self.params, kernel)?;
        let k = self.params.num_perm;
        let sigs = sketcher.signatures(texts);
        let base = self.ids.len() as u64;
        let first_row = self.ids.len() as u32;
        for (i, row) in sigs.chunks_exact(k).enumerate() {
            if row.iter().all(|&v| v == u32::MAX) {
                continue;
            }
            self.ids.push(ids.map_or(base + i as u64, |ids| ids[i]));
            self.sigs.extend_from_slice(row);
        }
        let rows = self.params.rows;
        let (sigs, ids_len) = (&self.sigs, self.ids.len() as u32);
        self.tables.par_iter_mut().enumerate().for_each(|(b, t)| {
            let mut pairs: Vec<(u64, u32)> = t.keys.iter().copied().zip(t.rows.iter().copied()).collect();
            pairs.extend(
                (first_row..ids_len).map(|r| (band_key(&sigs[r as usize * k..(r as usize + 1) * k], b, rows), r)),
            );
            pairs.sort_unstable();
            (t.keys, t.rows) = pairs.into_iter().unzip();
        });
        Ok((ids_len - first_row) as usize)
    }

    /// Writes the index to `path` (see the module docs for the format).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut w = start_file(path, &self.params, self.ids.len())?;
        w.u64s(&self.ids)?;
        w.u32s(&self.sigs)?;
        for t in &self.tables {
            w.u64(t.keys.len() as u64)?;
            w.u64s(&t.keys)?;
            w.u32s(&t.rows)?;
        }
        w.finish()
    }

    /// Reads an index; when `expected` is given, refuses one built with other parameters.
    pub fn load(path: &Path, expected: Option<&SketchParams>) -> Result<Self> {
        let mut r = Reader::open(path)?;
        HEADER.read(&mut r, path)?;
        let bad = |what: &str| HEADER.bad(path, what);
        let seed = r.u64()?;
        let num_perm = r.u32()? as usize;
        let bands = r.u32()? as usize;
        let rows = r.u32()? as usize;
        let kind = r.u8()?;
        let ngram = r.u32()? as usize;
        let keep_digits = r.u8()? != 0;
        let shingle = ShingleKind::from_code(kind, ngram).ok_or_else(|| bad(&format!("shingle kind {kind}")))?;
        if num_perm == 0 || bands == 0 || rows == 0 || bands * rows > num_perm {
            return Err(bad(&format!("inconsistent header num_perm={num_perm} bands={bands} rows={rows}")));
        }
        let params = SketchParams { num_perm, seed, bands, rows, shingle, normalize: NormalizeOptions { keep_digits } };
        let n = r.len(u64::MAX / 8)?;
        let ids = r.u64s(n)?;
        let sigs = r.u32s(n.checked_mul(num_perm).ok_or_else(|| bad("size overflow"))?)?;
        let mut tables = Vec::with_capacity(bands);
        for _ in 0..bands {
            let m = r.len(u64::MAX / 8)?;
            let keys = r.u64s(m)?;
            let rows_col = r.u32s(m)?;
            if rows_col.iter().any(|&x| x as usize >= n) || keys.windows(2).any(|w| w[0] > w[1]) {
                return Err(bad("corrupt band table"));
            }
            tables.push(Table { keys, rows: rows_col });
        }
        r.finish()?;
        let index = MinHashIndex { params, ids, sigs, tables };
        if let Some(expected) = expected {
            index.check_params(expected)?;
        }
        Ok(index)
    }
}

/// Creates `path` and writes the header and record count up to the ids (shared with the
/// streaming writer of `spill`, which must produce the same bytes).
pub(crate) fn start_file(path: &Path, p: &SketchParams, n: usize) -> Result<Writer> {
    let mut w = Writer::create(path)?;
    HEADER.write(&mut w)?;
    w.u64(p.seed)?;
    w.u32(p.num_perm as u32)?;
    w.u32(p.bands as u32)?;
    w.u32(p.rows as u32)?;
    w.u8(p.shingle.code())?;
    w.u32(p.shingle.n() as u32)?;
    w.u8(u8::from(p.normalize.keep_digits))?;
    w.u64(n as u64)?;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(seed: u64) -> SketchParams {
        SketchParams::new(64, seed, 0.8, None, ShingleKind::Word(3), NormalizeOptions::default()).unwrap()
    }

    #[test]
    fn save_load_round_trip_and_refusals() {
        let dir = std::env::temp_dir().join(format!("tsqa-index-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.idx");
        let mut idx = MinHashIndex::new(params(5));
        let texts = ["the quick brown fox jumps over the lazy dog", "", "a completely different sentence here"];
        assert_eq!(idx.add(&texts[..], Some(&[10, 11, 12]), Kernel::detect()).unwrap(), 2);
        idx.save(&path).unwrap();
        let back = MinHashIndex::load(&path, Some(&params(5))).unwrap();
        assert_eq!(back.ids, idx.ids);
        assert_eq!(back.sigs, idx.sigs);
        for b in 0..idx.tables.len() {
            assert_eq!(back.tables[b].keys, idx.tables[b].keys);
            assert_eq!(back.tables[b].rows, idx.tables[b].rows);
        }
        match MinHashIndex::load(&path, Some(&params(6))) {
            Err(Error::Mismatch { name, .. }) => assert_eq!(name, "seed"),
            _ => panic!("seed mismatch accepted"),
        }
        // Truncation and corruption are caught by the length checks and the checksum.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(matches!(MinHashIndex::load(&path, None), Err(Error::Format(_))));
        let mut flipped = bytes.clone();
        flipped[60] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(matches!(MinHashIndex::load(&path, None), Err(Error::Format(_))));
        std::fs::write(&path, b"nonsense").unwrap();
        assert!(matches!(MinHashIndex::load(&path, None), Err(Error::Format(_))));
        assert!(matches!(MinHashIndex::load(&dir.join("missing.idx"), None), Err(Error::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
