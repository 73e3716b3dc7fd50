//! Union-find (Tarjan 1975) with a deterministic representative.
//!
//! Steps: union every verified edge, always hanging the larger root under the smaller, so the
//! root of a cluster is its lowest id whatever the order of edges or threads; path halving keeps
//! finds near O(1). Optionally the representative is then the member with the best score
//! (ties: lowest id; NaN scores count as the worst).

/// Per-record clustering result.
pub struct Clusters {
    /// The kept record of each record's cluster (itself when it is kept).
    pub representative: Vec<u32>,
    pub size: Vec<u32>,
}

pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind { parent: (0..n as u32).collect() }
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }

    /// Resolves clusters; `scores` (one per record) picks the representative when given.
    pub fn clusters(mut self, scores: Option<&[f64]>) -> Clusters {
        let n = self.parent.len();
        let mut root = vec![0u32; n];
        let mut size = vec![0u32; n];
        for i in 0..n {
            root[i] = self.find(i as u32);
            size[root[i] as usize] += 1;
        }
        let mut representative = root.clone();
        if let Some(scores) = scores {
            let key = |i: usize| if scores[i].is_nan() { f64::NEG_INFINITY } else { scores[i] };
            // best[root] = best member so far; ids ascend, so strict `>` keeps the lowest id on ties.
            let mut best: Vec<u32> = (0..n as u32).collect();
            for (i, &r) in root.iter().enumerate() {
                let r = r as usize;
                if key(i) > key(best[r] as usize) {
                    best[r] = i as u32;
                }
            }
            for (rep, &r) in representative.iter_mut().zip(&root) {
                *rep = best[r as usize];
            }
        }
        let size = root.iter().map(|&r| size[r as usize]).collect();
        Clusters { representative, size }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_id_wins_regardless_of_edge_order() {
        let edges = [(5u32, 3u32), (3, 9), (1, 2), (9, 4)];
        let mut fwd = UnionFind::new(10);
        let mut rev = UnionFind::new(10);
        for &(a, b) in &edges {
            fwd.union(a, b);
        }
        for &(a, b) in edges.iter().rev() {
            rev.union(b, a);
        }
        let (f, r) = (fwd.clusters(None), rev.clusters(None));
        assert_eq!(f.representative, r.representative);
        assert_eq!(f.representative, vec![0, 1, 1, 3, 3, 3, 6, 7, 8, 3]);
        assert_eq!(f.size, vec![1, 2, 2, 4, 4, 4, 1, 1, 1, 4]);
    }

    #[test]
    fn best_score_picks_representative_ties_to_lowest_id() {
        let mut uf = UnionFind::new(4);
        uf.union(0, 1);
        uf.union(1, 2);
        let c = uf.clusters(Some(&[0.5, 0.9, 0.9, f64::NAN]));
        assert_eq!(c.representative, vec![1, 1, 1, 3]);
    }
}
