//! K-permutation MinHash (Broder 1997; Broder, Charikar, Frieze, Mitzenmacher 2000).
//!
//! Definition, identical on every CPU: slot `i` of the signature of a shingle set `S` is
//! `min over x in S of ((a_i * x + b_i) mod 2^64) >> 32`, with `a_i` odd and `a_i, b_i` drawn
//! from splitmix64 seeded by `seed` — the 2-universal multiply-add-shift family (Dietzfelbinger
//! 1996). Taking the minimum on the 64-bit value and shifting once is equal to minimising the
//! shifted values because the shift is monotone; it saves one instruction per update.
//!
//! Kernels (chosen at run time, all bit-identical because the arithmetic is integer-exact):
//! - `Scalar`: the definition, slot by slot — the reference the others are tested against.
//! - `Avx2` / `Avx512`: blocks of 32 slots kept in registers while every shingle is broadcast
//!   against them; the same Rust source compiled with the wider target features.

use crate::error::{Error, Result};

/// Bumped whenever the definition above (or the shingle/band hashing) changes; stored in every
/// persisted index so old indexes are refused instead of silently mismatching.
pub const ALGORITHM_VERSION: u32 = 1;

/// The SIMD kernel that computes signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Scalar,
    Avx2,
    Avx512,
}

impl Kernel {
    /// The widest kernel this CPU supports.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") {
                return Kernel::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
        }
        Kernel::Scalar
    }

    /// Parses "auto" | "scalar" | "avx2" | "avx512"; a kernel this CPU lacks is an error.
    pub fn parse(name: &str) -> Result<Kernel> {
        let k = match name {
            "auto" => return Ok(Kernel::detect()),
            "scalar" => Kernel::Scalar,
            "avx2" => Kernel::Avx2,
            "avx512" => Kernel::Avx512,
            _ => {
                return Err(Error::param(
                    "kernel",
                    format!("'{name}'"),
                    "expected one of 'auto', 'scalar', 'avx2', 'avx512'",
                ))
            }
        };
        if !k.available() {
            return Err(Error::param("kernel", format!("'{name}'"), "this CPU does not support it"));
        }
        Ok(k)
    }

    pub fn available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            Kernel::Avx2 => matches!(Kernel::detect(), Kernel::Avx2 | Kernel::Avx512),
            Kernel::Avx512 => Kernel::detect() == Kernel::Avx512,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }
}

/// splitmix64 (Steele, Lea, Flood 2014): the seed expander for the permutation parameters.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The K hash functions of one signature family.
#[derive(Clone, Debug)]
pub struct MinHasher {
    a: Vec<u64>,
    b: Vec<u64>,
    seed: u64,
    kernel: Kernel,
}

const BLOCK: usize = 32;

impl MinHasher {
    pub fn new(num_perm: usize, seed: u64, kernel: Kernel) -> Result<Self> {
        if !(1..=4096).contains(&num_perm) {
            return Err(Error::param("num_perm", num_perm, "must be between 1 and 4096"));
        }
        let mut state = seed;
        let mut a = Vec::with_capacity(num_perm);
        let mut b = Vec::with_capacity(num_perm);
        for _ in 0..num_perm {
            a.push(splitmix64(&mut state) | 1);
            b.push(splitmix64(&mut state));
        }
        Ok(MinHasher { a, b, seed, kernel })
    }

    pub fn num_perm(&self) -> usize {
        self.a.len()
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Writes the signature of `shingles` into `out` (`num_perm` slots). An empty set gives all
    /// slots `u32::MAX`.
    pub fn signature_into(&self, shingles: &[u64], out: &mut [u32]) {
        debug_assert_eq!(out.len(), self.a.len());
        match self.kernel {
            Kernel::Scalar => scalar(&self.a, &self.b, shingles, out),
            #[cfg(target_arch = "x86_64")]
            // Safety: `Kernel::parse`/`detect` only yield Avx512 when the CPU reports avx512f+dq.
            Kernel::Avx512 => unsafe { blocked_avx512(&self.a, &self.b, shingles, out) },
            #[cfg(target_arch = "x86_64")]
            // Safety: only yielded when the CPU reports avx2.
            Kernel::Avx2 => unsafe { blocked_avx2(&self.a, &self.b, shingles, out) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => blocked(&self.a, &self.b, shingles, out),
        }
    }

    pub fn signature(&self, shingles: &[u64]) -> Vec<u32> {
        let mut out = vec![0; self.num_perm()];
        self.signature_into(shingles, &mut out);
        out
    }
}

/// The definition, one slot at a time.
fn scalar(a: &[u64], b: &[u64], xs: &[u64], out: &mut [u32]) {
    for ((o, &ai), &bi) in out.iter_mut().zip(a).zip(b) {
        let mut m = u64::MAX;
        for &x in xs {
            m = m.min(ai.wrapping_mul(x).wrapping_add(bi));
        }
        *o = (m >> 32) as u32;
    }
}

/// Blocks of `BLOCK` slots held in registers; every shingle is broadcast against a block.
#[inline(always)]
fn blocked(a: &[u64], b: &[u64], xs: &[u64], out: &mut [u32]) {
    let full = a.len() / BLOCK * BLOCK;
    for ((ac, bc), oc) in
        a[..full].chunks_exact(BLOCK).zip(b[..full].chunks_exact(BLOCK)).zip(out[..full].chunks_exact_mut(BLOCK))
    {
        let mut aa = [0u64; BLOCK];
        let mut bb = [0u64; BLOCK];
        aa.copy_from_slice(ac);
        bb.copy_from_slice(bc);
        let mut m = [u64::MAX; BLOCK];
        for &x in xs {
            for j in 0..BLOCK {
                m[j] = m[j].min(aa[j].wrapping_mul(x).wrapping_add(bb[j]));
            }
        }
        for (o, v) in oc.iter_mut().zip(m) {
            *o = (v >> 32) as u32;
        }
    }
    scalar(&a[full..], &b[full..], xs, &mut out[full..]);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
unsafe fn blocked_avx512(a: &[u64], b: &[u64], xs: &[u64], out: &mut [u32]) {
    blocked(a, b, xs, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn blocked_avx2(a: &[u64], b: &[u64], xs: &[u64], out: &mut [u32]) {
    blocked(a, b, xs, out)
}

/// Fraction of equal slots: the unbiased MinHash estimate of Jaccard similarity.
pub fn estimate(a: &[u32], b: &[u32]) -> f64 {
    let eq = a.iter().zip(b).filter(|(x, y)| x == y).count();
    eq as f64 / a.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shingle::jaccard_sorted;

    fn kernels() -> Vec<Kernel> {
        [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512].into_iter().filter(|k| k.available()).collect()
    }

    #[test]
    fn kernels_are_bit_identical() {
        let mut s = 7u64;
        for len in [0usize, 1, 3, 40, 513] {
            let xs: Vec<u64> = (0..len).map(|_| splitmix64(&mut s)).collect();
            for k in [1usize, 31, 32, 100, 128, 256] {
                let reference = MinHasher::new(k, 42, Kernel::Scalar).unwrap().signature(&xs);
                for kernel in kernels() {
                    assert_eq!(MinHasher::new(k, 42, kernel).unwrap().signature(&xs), reference, "{kernel:?} k={k}");
                }
            }
        }
    }

    #[test]
    fn signature_is_pinned() {
        // Guards the cross-machine definition: changing it must bump ALGORITHM_VERSION.
        let h = MinHasher::new(4, 1, Kernel::Scalar).unwrap();
        let sig = h.signature(&[1, 2, 3, 0xDEAD_BEEF]);
        let again = MinHasher::new(4, 1, Kernel::detect()).unwrap().signature(&[0xDEAD_BEEF, 3, 2, 1]);
        assert_eq!(sig, again);
        let mut st = 1u64;
        let (a0, b0) = (splitmix64(&mut st) | 1, splitmix64(&mut st));
        let want = [1u64, 2, 3, 0xDEAD_BEEF].iter().map(|&x| a0.wrapping_mul(x).wrapping_add(b0)).min().unwrap();
        assert_eq!(sig[0], (want >> 32) as u32);
    }

    #[test]
    fn estimate_tracks_exact_jaccard() {
        // Sets with Jaccard |A∩B|/|A∪B| = c/(c+2d) for c shared and d private elements each.
        let h = MinHasher::new(256, 3, Kernel::detect()).unwrap();
        let mut st = 99u64;
        for (c, d) in [(100usize, 0usize), (90, 5), (60, 20), (30, 35), (10, 45), (0, 50)] {
            let shared: Vec<u64> = (0..c).map(|_| splitmix64(&mut st)).collect();
            let mut a = shared.clone();
            let mut b = shared;
            a.extend((0..d).map(|_| splitmix64(&mut st)));
            b.extend((0..d).map(|_| splitmix64(&mut st)));
            let (mut sa, mut sb) = (a.clone(), b.clone());
            sa.sort_unstable();
            sb.sort_unstable();
            let j = jaccard_sorted(&sa, &sb);
            let est = estimate(&h.signature(&a), &h.signature(&b));
            // 4 standard deviations of the binomial estimator, plus slack for J in {0, 1}.
            let tol = 4.0 * (j * (1.0 - j) / 256.0).sqrt() + 0.01;
            assert!((est - j).abs() <= tol, "c={c} d={d} j={j} est={est}");
        }
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(MinHasher::new(0, 1, Kernel::Scalar).is_err());
        assert!(Kernel::parse("sse9").is_err());
        assert_eq!(Kernel::parse("scalar").unwrap(), Kernel::Scalar);
    }
}
