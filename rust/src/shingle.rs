//! Shingles: the set a record is compared by, as 64-bit hashes, never as joined strings.
//!
//! Steps (Broder 1997, "On the resemblance and containment of documents"):
//! 1. Word n-grams: hash every word of the normalised text once (8-byte little-endian chunks
//!    folded by multiply-xor, then the MurmurHash3 finaliser), then combine each window of `n`
//!    word hashes as a weighted sum with distinct odd constants per position (independent
//!    multiplies, no dependency chain) and a final avalanche. A record with fewer than `n` words yields one shingle of all its
//!    words, so short records still compare, and differ when any word differs.
//! 2. Char n-grams: xxh3-64 of each window of `n` chars of the normalised text (spaces
//!    included), for scripts without word breaks.
//!
//! An empty normalised text has no shingles; callers treat such records as unique.

use xxhash_rust::xxh3::xxh3_64;

/// How a normalised text is cut into shingles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShingleKind {
    Word(usize),
    Char(usize),
}

impl ShingleKind {
    pub fn n(self) -> usize {
        match self {
            ShingleKind::Word(n) | ShingleKind::Char(n) => n,
        }
    }
    pub fn code(self) -> u8 {
        match self {
            ShingleKind::Word(_) => 0,
            ShingleKind::Char(_) => 1,
        }
    }
    pub fn from_code(code: u8, n: usize) -> Option<Self> {
        match code {
            0 => Some(ShingleKind::Word(n)),
            1 => Some(ShingleKind::Char(n)),
            _ => None,
        }
    }
    pub fn validate(self) -> crate::error::Result<Self> {
        let n = self.n();
        if n == 0 || n > 64 {
            return Err(crate::error::Error::param("ngram", n, "must be between 1 and 64"));
        }
        Ok(self)
    }
}

impl std::fmt::Display for ShingleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShingleKind::Word(n) => write!(f, "word:{n}"),
            ShingleKind::Char(n) => write!(f, "char:{n}"),
        }
    }
}

/// Reusable per-thread buffers.
#[derive(Default)]
pub struct ShingleBuf {
    words: Vec<u64>,
    bounds: Vec<usize>,
}

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// MurmurHash3's 64-bit finaliser: full avalanche, a bijection.
#[inline(always)]
pub fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Per-position odd multipliers of the window sum (splitmix64 outputs of 1..=64, forced odd).
static POSITION: [u64; 64] = {
    let mut t = [0u64; 64];
    let mut i = 0;
    while i < 64 {
        let mut z = (i as u64 + 1).wrapping_mul(MIX);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        t[i] = (z ^ (z >> 31)) | 1;
        i += 1;
    }
    t
};

#[inline(always)]
fn combine(window: &[u64]) -> u64 {
    let mut h = window.len() as u64;
    for (w, c) in window.iter().zip(POSITION.iter()) {
        h = h.wrapping_add(w.wrapping_mul(*c));
    }
    fmix64(h)
}

/// Hash of one word: 8-byte little-endian chunks folded by multiply-xor, length mixed in.
#[inline(always)]
pub fn word_hash(w: &[u8]) -> u64 {
    let mut h = (w.len() as u64).wrapping_mul(MIX);
    let mut chunks = w.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ v).wrapping_mul(0xff51_afd7_ed55_8ccd).rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    }
    fmix64(h)
}

/// Word shingles from a normalised text and its word end offsets (`normalize_words_into`).
pub fn word_shingles_into(norm: &str, ends: &[u32], n: usize, buf: &mut ShingleBuf, out: &mut Vec<u64>) {
    out.clear();
    if norm.is_empty() {
        return;
    }
    let bytes = norm.as_bytes();
    buf.words.clear();
    let mut start = 0usize;
    for &e in ends {
        buf.words.push(word_hash(&bytes[start..e as usize]));
        start = e as usize + 1;
    }
    push_windows(&buf.words, n, out);
}

fn push_windows(words: &[u64], n: usize, out: &mut Vec<u64>) {
    if words.len() <= n {
        out.push(combine(words));
    } else if n == 5 {
        // The default, unrolled.
        let c = &POSITION;
        out.extend(words.windows(5).map(|w| {
            fmix64(
                5u64.wrapping_add(w[0].wrapping_mul(c[0]))
                    .wrapping_add(w[1].wrapping_mul(c[1]))
                    .wrapping_add(w[2].wrapping_mul(c[2]))
                    .wrapping_add(w[3].wrapping_mul(c[3]))
                    .wrapping_add(w[4].wrapping_mul(c[4])),
            )
        }));
    } else {
        out.extend(words.windows(n).map(combine));
    }
}

/// Appends the shingle hashes of the normalised text `norm` to `out` (cleared first).
pub fn shingles_into(norm: &str, kind: ShingleKind, buf: &mut ShingleBuf, out: &mut Vec<u64>) {
    out.clear();
    if norm.is_empty() {
        return;
    }
    match kind {
        ShingleKind::Word(n) => {
            buf.words.clear();
            buf.words.extend(norm.as_bytes().split(|&b| b == b' ').map(word_hash));
            push_windows(&buf.words, n, out);
        }
        ShingleKind::Char(n) => {
            let bytes = norm.as_bytes();
            if norm.is_ascii() {
                if bytes.len() <= n {
                    out.push(xxh3_64(bytes));
                } else {
                    out.extend(bytes.windows(n).map(xxh3_64));
                }
                return;
            }
            buf.bounds.clear();
            buf.bounds.extend(norm.char_indices().map(|(i, _)| i));
            buf.bounds.push(bytes.len());
            let chars = buf.bounds.len() - 1;
            if chars <= n {
                out.push(xxh3_64(bytes));
            } else {
                out.extend((0..=chars - n).map(|i| xxh3_64(&bytes[buf.bounds[i]..buf.bounds[i + n]])));
            }
        }
    }
}

/// The sorted, de-duplicated shingle set (for exact Jaccard).
pub fn shingle_set(norm: &str, kind: ShingleKind, buf: &mut ShingleBuf) -> Vec<u64> {
    let mut out = Vec::new();
    shingles_into(norm, kind, buf, &mut out);
    out.sort_unstable();
    out.dedup();
    out
}

/// Exact Jaccard of two sorted, de-duplicated sets. Two empty sets have similarity 0 (nothing
/// to compare), so empty records never merge.
pub fn jaccard_sorted(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (a.len() + b.len() - inter) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str, kind: ShingleKind) -> Vec<u64> {
        shingle_set(s, kind, &mut ShingleBuf::default())
    }

    #[test]
    fn word_shingles_count_windows() {
        let mut out = Vec::new();
        shingles_into("a b c d e f", ShingleKind::Word(3), &mut ShingleBuf::default(), &mut out);
        assert_eq!(out.len(), 4);
        shingles_into("a b", ShingleKind::Word(3), &mut ShingleBuf::default(), &mut out);
        assert_eq!(out.len(), 1);
        shingles_into("", ShingleKind::Word(3), &mut ShingleBuf::default(), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn word_order_matters_inside_a_shingle() {
        assert_ne!(set("a b c", ShingleKind::Word(3)), set("c b a", ShingleKind::Word(3)));
        assert_ne!(set("what is 2", ShingleKind::Word(5)), set("what is 3", ShingleKind::Word(5)));
    }

    #[test]
    fn jaccard_of_known_sets() {
        let a = set("a b c d e f g h", ShingleKind::Word(1));
        let b = set("a b c d e f x y", ShingleKind::Word(1));
        assert!((jaccard_sorted(&a, &b) - 6.0 / 10.0).abs() < 1e-12);
        assert_eq!(jaccard_sorted(&a, &a), 1.0);
        assert_eq!(jaccard_sorted(&[], &[]), 0.0);
    }

    #[test]
    fn char_shingles_handle_multibyte() {
        let mut out = Vec::new();
        shingles_into("ab数学c", ShingleKind::Char(2), &mut ShingleBuf::default(), &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(out[3], xxh3_64("学c".as_bytes()));
    }
}
