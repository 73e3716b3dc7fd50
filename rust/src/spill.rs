//! Exact + near-duplicate dedup of a corpus streamed shard by shard, with memory bounded by a
//! few bytes per record instead of the corpus: the same verdicts as `exact::keep_first` followed
//! by `neardup::near_dedup` on the exact survivors (with an index of the seeds), and the same
//! saved index bytes as `MinHashIndex::add` + `save` of the kept records.
//!
//! Steps:
//! 1. `add_questions` / `add_seeds`, per shard: the xxh3-128 of each record's normal form and
//!    its band keys are appended to temporary files, partitioned by hash (`PARTITIONS`), so no
//!    index of all records is ever held. Kept per record: its score and whether it has shingles.
//! 2. `resolve`, partition by partition: exact runs (lowest row kept) give the survivors; then
//!    per `(band, key)` run of survivors, star edges `(lowest row, member)` as `lsh::star_edges`
//!    makes them, and `(question, seed)` candidates where a seed shares the band key.
//! 3. The caller streams the shards again (`feed_questions`, `feed_seeds`); only the texts of
//!    rows on a candidate edge and the signatures of candidate seeds are kept.
//! 4. `finish`: candidates verified as `neardup` does (exact Jaccard / signature estimate),
//!    union-find over rows, representative by score then lowest row.
//! 5. Optionally `begin_save` / `save_feed` / `end_save` write the index of the kept records,
//!    signatures streamed and each band's table sorted from its own temporary file. With
//!    `keep_signatures`, step 1 also spills every question's signature (4 × num_perm bytes, in
//!    row order) and `save_spilled` replaces `save_feed`: no third pass over the texts, no
//!    second MinHash of each question.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::cluster::UnionFind;
use crate::error::{Error, Result};
use crate::exact::hash_records;
use crate::index::start_file;
use crate::lsh::{band_key, EMPTY_KEY};
use crate::minhash::estimate;
use crate::neardup::{verify, DedupParams};
use crate::normalize::NormalizeOptions;
use crate::persist::Writer;
use crate::sketch::{Scratch, Sketcher};
use crate::text::Texts;

/// Partitions of each spill; one is read at a time (~1/64 of the band keys).
pub const PARTITIONS: usize = 64;
const BAND_REC: usize = 16; // key u64, band u32, row u32
const EXACT_REC: usize = 20; // hash u128, row u32
const SAVE_REC: usize = 12; // key u64, index row u32
/// Rows of spilled signatures read back at a time by `save_spilled`.
const SIG_CHUNK: usize = 8192;

/// Why a record is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    /// Same normal form as an earlier record (`other`: that record's row).
    Exact = 1,
    /// Near-duplicate of a seed (`other`: the seed's position).
    Seed = 2,
    /// Near-duplicate of its cluster's representative (`other`: its row).
    Near = 3,
}

/// The dropped records, sorted by row.
#[derive(Debug, Default, PartialEq)]
pub struct Verdicts {
    pub rows: Vec<u32>,
    pub reasons: Vec<u8>,
    pub other: Vec<i64>,
    pub candidate_pairs: usize,
    pub seed_pairs: usize,
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), source: e }
}

/// Append-only temporary files, one per partition.
struct Spill {
    paths: Vec<PathBuf>,
    files: Vec<BufWriter<File>>,
}

impl Spill {
    fn create(dir: &Path, name: &str, parts: usize) -> Result<Self> {
        let mut paths = Vec::with_capacity(parts);
        let mut files = Vec::with_capacity(parts);
        for p in 0..parts {
            let path = dir.join(format!("{name}-{p:03}.bin"));
            files.push(BufWriter::with_capacity(1 << 15, File::create(&path).map_err(|e| io(&path, e))?));
            paths.push(path);
        }
        Ok(Spill { paths, files })
    }

    fn write(&mut self, part: usize, bytes: &[u8]) -> Result<()> {
        self.files[part].write_all(bytes).map_err(|e| io(&self.paths[part], e))
    }

    /// The whole content of partition `part` (flushed first).
    fn read(&mut self, part: usize) -> Result<Vec<u8>> {
        let path = &self.paths[part];
        self.files[part].flush().map_err(|e| io(path, e))?;
        let mut out = Vec::new();
        File::open(path).and_then(|mut f| f.read_to_end(&mut out)).map_err(|e| io(path, e))?;
        Ok(out)
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[inline]
fn part_of(h: u64) -> usize {
    (h >> 58) as usize % PARTITIONS
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

/// `(band, key, row)` records of one band spill partition.
fn band_records(bytes: &[u8]) -> Vec<(u32, u64, u32)> {
    bytes.chunks_exact(BAND_REC).map(|r| (u32_at(r, 8), u64_at(r, 0), u32_at(r, 12))).collect()
}

/// Rows given by id, sparsely: the texts kept for verification.
struct Sparse<'a> {
    rows: &'a [u32],
    texts: &'a [Option<String>],
    n: usize,
}

impl Texts for Sparse<'_> {
    fn len(&self) -> usize {
        self.n
    }
    fn text(&self, i: usize) -> Option<&str> {
        let j = self.rows.binary_search(&(i as u32)).ok()?;
        self.texts[j].as_deref()
    }
}

struct Save {
    writer: Writer,
    bands: Spill,
    kept: Vec<bool>,
    next_row: usize,
    index_rows: u32,
}

pub struct StreamDedup {
    sketcher: Sketcher,
    params: DedupParams,
    questions: Spill,
    seeds: Spill,
    exact: Spill,
    dir: PathBuf,
    task: u64,
    seen: HashSet<u64>,
    scores: Vec<f64>,
    empty: Vec<bool>,
    n_seeds: usize,
    // After `resolve`:
    first: Vec<(u32, u32)>,
    edges: Vec<u64>,
    seed_pairs: Vec<u64>,
    need_q: Vec<u32>,
    q_texts: Vec<Option<String>>,
    need_s: Vec<u32>,
    seed_sigs: Vec<u32>,
    resolved: bool,
    verdicts: Option<Verdicts>,
    save: Option<Save>,
    /// With `keep_signatures`: every question's signature, row-major, `num_perm` u32 each.
    sigs: Option<Spill>,
}

impl StreamDedup {
    /// Spill files go to `dir` (which must exist); they are removed when this is dropped.
    pub fn new(params: DedupParams, dir: &Path) -> Result<Self> {
        let sketcher = Sketcher::new(params.sketch, params.kernel)?;
        Ok(StreamDedup {
            sketcher,
            params,
            questions: Spill::create(dir, "questions", PARTITIONS)?,
            seeds: Spill::create(dir, "seeds", PARTITIONS)?,
            exact: Spill::create(dir, "exact", PARTITIONS)?,
            dir: dir.to_path_buf(),
            task: 0,
            seen: HashSet::new(),
            scores: Vec::new(),
            empty: Vec::new(),
            n_seeds: 0,
            first: Vec::new(),
            edges: Vec::new(),
            seed_pairs: Vec::new(),
            need_q: Vec::new(),
            q_texts: Vec::new(),
            need_s: Vec::new(),
            seed_sigs: Vec::new(),
            resolved: false,
            verdicts: None,
            save: None,
            sigs: None,
        })
    }

    /// Spill each question's signature as it is added, for `save_spilled`; before any question.
    pub fn keep_signatures(&mut self) -> Result<()> {
        if !self.is_empty() {
            return Err(Error::Input("keep_signatures() after add_questions()".into()));
        }
        if self.sigs.is_none() {
            self.sigs = Some(Spill::create(&self.dir, "signatures", 1)?);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    pub fn seeds(&self) -> usize {
        self.n_seeds
    }

    /// Question ids are unique per task: the next `add_questions` starts a new task.
    pub fn next_task(&mut self) {
        self.task += 1;
        self.seen.clear();
    }

    fn not_resolved(&self, what: &str) -> Result<()> {
        if self.resolved {
            return Err(Error::Input(format!("{what} after resolve()")));
        }
        Ok(())
    }

    /// Step 1 for one shard of questions: rows whose id was already seen in this task (another
    /// variant of the same question) are skipped. Returns the positions in the shard of the
    /// rows added, which become rows `len()..` in order.
    pub fn add_questions<I: Texts + ?Sized, T: Texts + ?Sized>(
        &mut self,
        ids: &I,
        texts: &T,
        scores: &[f64],
    ) -> Result<Vec<u32>> {
        self.not_resolved("add_questions")?;
        let n = texts.len();
        if ids.len() != n || scores.len() != n {
            return Err(Error::Input(format!("{} ids, {n} texts and {} scores", ids.len(), scores.len())));
        }
        let take: Vec<u32> = (0..n)
            .filter(|&i| self.seen.insert(xxh3_64_with_seed(ids.text(i).unwrap_or("").as_bytes(), self.task)))
            .map(|i| i as u32)
            .collect();
        let picked = Picked { texts, rows: &take };
        let base = self.scores.len();
        if base + take.len() > u32::MAX as usize {
            return Err(Error::Input(format!("more than {} questions", u32::MAX)));
        }
        let hashes = hash_records(&[&picked], Some(NormalizeOptions { keep_digits: true }))?;
        let keys = match self.sigs.as_mut() {
            None => self.sketcher.band_keys(&picked),
            Some(spill) => {
                let (keys, sigs) = self.sketcher.band_keys_and_signatures(&picked);
                let bytes: Vec<u8> = sigs.iter().flat_map(|s| s.to_le_bytes()).collect();
                spill.write(0, &bytes)?;
                keys
            }
        };
        for (j, h) in hashes.iter().enumerate() {
            let row = (base + j) as u32;
            let mut rec = [0u8; EXACT_REC];
            rec[..16].copy_from_slice(&h.to_le_bytes());
            rec[16..].copy_from_slice(&row.to_le_bytes());
            self.exact.write(part_of(*h as u64), &rec)?;
            self.scores.push(scores[take[j] as usize]);
            self.empty.push(keys.bands == 0 || keys.is_empty_record(j));
        }
        spill_keys(&mut self.questions, &keys, base)?;
        Ok(take)
    }

    /// Step 1 for one shard of seeds (positions continue across calls).
    pub fn add_seeds<T: Texts + ?Sized>(&mut self, texts: &T) -> Result<()> {
        self.not_resolved("add_seeds")?;
        if self.n_seeds + texts.len() > u32::MAX as usize {
            return Err(Error::Input(format!("more than {} seeds", u32::MAX)));
        }
        let keys = self.sketcher.band_keys(texts);
        spill_keys(&mut self.seeds, &keys, self.n_seeds)?;
        self.n_seeds += texts.len();
        Ok(())
    }

    /// Step 2. Returns whether questions / seeds must be fed again (step 3).
    pub fn resolve(&mut self) -> Result<(bool, bool)> {
        self.not_resolved("resolve")?;
        self.resolved = true;
        let n = self.len();
        let mut alive = vec![true; n];
        for p in 0..PARTITIONS {
            let bytes = self.exact.read(p)?;
            let mut recs: Vec<(u128, u32)> = bytes
                .chunks_exact(EXACT_REC)
                .map(|r| (u128::from_le_bytes(r[..16].try_into().unwrap_or_default()), u32_at(r, 16)))
                .collect();
            recs.sort_unstable();
            for run in recs.chunk_by(|a, b| a.0 == b.0) {
                for &(_, row) in &run[1..] {
                    alive[row as usize] = false;
                    self.first.push((row, run[0].1));
                }
            }
        }
        self.first.sort_unstable();
        self.exact = Spill { paths: Vec::new(), files: Vec::new() };
        for p in 0..PARTITIONS {
            let mut qs: Vec<(u32, u64, u32)> =
                band_records(&self.questions.read(p)?).into_iter().filter(|r| alive[r.2 as usize]).collect();
            qs.sort_unstable();
            for run in qs.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                let centre = u64::from(run[0].2);
                self.edges.extend(run[1..].iter().map(|r| (centre << 32) | u64::from(r.2)));
            }
            let mut ss = band_records(&self.seeds.read(p)?);
            if ss.is_empty() {
                continue;
            }
            ss.sort_unstable();
            for q in &qs {
                let lo = ss.partition_point(|s| (s.0, s.1) < (q.0, q.1));
                for s in ss[lo..].iter().take_while(|s| (s.0, s.1) == (q.0, q.1)) {
                    self.seed_pairs.push((u64::from(q.2) << 32) | u64::from(s.2));
                }
            }
        }
        self.questions = Spill { paths: Vec::new(), files: Vec::new() };
        self.seeds = Spill { paths: Vec::new(), files: Vec::new() };
        self.edges.par_sort_unstable();
        self.edges.dedup();
        self.seed_pairs.par_sort_unstable();
        self.seed_pairs.dedup();
        let mut need: Vec<u32> = self
            .edges
            .iter()
            .flat_map(|&e| [(e >> 32) as u32, e as u32])
            .chain(self.seed_pairs.iter().map(|&e| (e >> 32) as u32))
            .collect();
        need.par_sort_unstable();
        need.dedup();
        self.q_texts = vec![None; need.len()];
        self.need_q = need;
        let mut need_s: Vec<u32> = self.seed_pairs.iter().map(|&e| e as u32).collect();
        need_s.par_sort_unstable();
        need_s.dedup();
        self.seed_sigs = vec![u32::MAX; need_s.len() * self.params.sketch.num_perm];
        self.need_s = need_s;
        Ok((!self.need_q.is_empty(), !self.need_s.is_empty()))
    }

    /// Step 3: the texts of questions `start..start + texts.len()` (the rows `add_questions` added).
    pub fn feed_questions<T: Texts + ?Sized>(&mut self, start: usize, texts: &T) -> Result<()> {
        let end = start + texts.len();
        let lo = self.need_q.partition_point(|&r| (r as usize) < start);
        let hi = self.need_q.partition_point(|&r| (r as usize) < end);
        for j in lo..hi {
            let i = self.need_q[j] as usize - start;
            self.q_texts[j] = Some(texts.text(i).unwrap_or("").to_string());
        }
        Ok(())
    }

    /// Step 3: seeds `start..start + texts.len()`; only candidate seeds' signatures are kept.
    pub fn feed_seeds<T: Texts + ?Sized>(&mut self, start: usize, texts: &T) -> Result<()> {
        let k = self.params.sketch.num_perm;
        let end = start + texts.len();
        let lo = self.need_s.partition_point(|&r| (r as usize) < start);
        let hi = self.need_s.partition_point(|&r| (r as usize) < end);
        let sketcher = &self.sketcher;
        let need = &self.need_s[lo..hi];
        self.seed_sigs[lo * k..hi * k].par_chunks_mut(k).zip(need.par_iter()).for_each_init(
            Scratch::default,
            |scratch, (out, &row)| {
                if let Some(sig) = sketcher.sketch(texts.text(row as usize - start).unwrap_or(""), scratch) {
                    out.copy_from_slice(sig);
                }
            },
        );
        Ok(())
    }

    /// Step 4.
    pub fn finish(&mut self) -> Result<&Verdicts> {
        if !self.resolved {
            return Err(Error::Input("finish() before resolve()".into()));
        }
        if self.verdicts.is_none() {
            self.verdicts = Some(self.decide());
        }
        Ok(self.verdicts.as_ref().expect("just set"))
    }

    fn decide(&mut self) -> Verdicts {
        let n = self.len();
        let texts = Sparse { rows: &self.need_q, texts: &self.q_texts, n };
        let candidate_pairs = self.edges.len();
        let edges = verify(&texts, std::mem::take(&mut self.edges), &self.sketcher, &self.params);
        let mut uf = UnionFind::new(n);
        for e in &edges {
            uf.union((e >> 32) as u32, *e as u32);
        }
        drop(edges);
        let representative = uf.clusters(Some(&self.scores)).representative;
        // Seed matches: per question, the lowest seed whose signature estimate reaches the threshold.
        let k = self.params.sketch.num_perm;
        let (need_s, seed_sigs, sketcher, t) = (&self.need_s, &self.seed_sigs, &self.sketcher, self.params.threshold);
        let groups: Vec<&[u64]> = self.seed_pairs.chunk_by(|a, b| a >> 32 == b >> 32).collect();
        let seed_match: Vec<(u32, i64)> = groups
            .par_iter()
            .map_init(Scratch::default, |scratch, group| {
                let q = (group[0] >> 32) as u32;
                let best = sketcher.sketch(texts.text(q as usize).unwrap_or(""), scratch).and_then(|sig| {
                    group
                        .iter()
                        .map(|&e| e as u32)
                        .filter(|s| {
                            let j = need_s.binary_search(s).unwrap_or(0);
                            estimate(sig, &seed_sigs[j * k..(j + 1) * k]) >= t
                        })
                        .min()
                });
                (q, best.map_or(-1, i64::from))
            })
            .collect();
        let mut out = Verdicts { candidate_pairs, seed_pairs: self.seed_pairs.len(), ..Verdicts::default() };
        let (mut fi, mut si) = (0, 0);
        for i in 0..n as u32 {
            let exact = (fi < self.first.len() && self.first[fi].0 == i).then(|| {
                fi += 1;
                self.first[fi - 1].1
            });
            while si < seed_match.len() && seed_match[si].0 < i {
                si += 1;
            }
            let seed = seed_match.get(si).filter(|m| m.0 == i && m.1 >= 0).map(|m| m.1);
            let rep = representative[i as usize];
            let verdict = match (exact, seed) {
                (Some(f), _) => Some((Reason::Exact, i64::from(f))),
                (None, Some(s)) => Some((Reason::Seed, s)),
                (None, None) if rep != i => Some((Reason::Near, i64::from(rep))),
                _ => None,
            };
            if let Some((reason, other)) = verdict {
                out.rows.push(i);
                out.reasons.push(reason as u8);
                out.other.push(other);
            }
        }
        self.q_texts = Vec::new();
        self.seed_sigs = Vec::new();
        out
    }

    /// Step 5: starts the index of the records neither dropped here nor in `also_dropped`
    /// (rows); their texts follow through `save_feed` in row order.
    pub fn begin_save(&mut self, path: &Path, also_dropped: &[u32]) -> Result<()> {
        let n = self.len();
        let mut kept = vec![true; n];
        for &r in self.finish()?.rows.iter().chain(also_dropped) {
            if let Some(k) = kept.get_mut(r as usize) {
                *k = false;
            }
        }
        let with_shingles = (0..n).filter(|&i| kept[i] && !self.empty[i]).count();
        let mut writer = start_file(path, &self.params.sketch, with_shingles)?;
        // Ids: the position among the kept records (as `add` numbers them), skipping those without shingles.
        let mut ids = Vec::with_capacity(8192);
        let mut position = 0u64;
        for (&keep, &empty) in kept.iter().zip(&self.empty) {
            if keep {
                if !empty {
                    ids.push(position);
                }
                position += 1;
            }
            if ids.len() == 8192 {
                writer.u64s(&ids)?;
                ids.clear();
            }
        }
        writer.u64s(&ids)?;
        let bands = Spill::create(&self.dir, "save", self.params.sketch.bands)?;
        self.save = Some(Save { writer, bands, kept, next_row: 0, index_rows: 0 });
        Ok(())
    }

    /// Step 5: the texts of rows `start..start + texts.len()`; shards must come in order.
    pub fn save_feed<T: Texts + ?Sized>(&mut self, start: usize, texts: &T) -> Result<()> {
        let (sketcher, empty) = (&self.sketcher, &self.empty);
        let Some(save) = self.save.as_mut() else {
            return Err(Error::Input("save_feed() before begin_save()".into()));
        };
        if start != save.next_row || start + texts.len() > save.kept.len() {
            return Err(Error::Input(format!("save_feed(start={start}) but row {} is next", save.next_row)));
        }
        save.next_row += texts.len();
        let rows: Vec<usize> = (0..texts.len()).filter(|&i| save.kept[start + i] && !empty[start + i]).collect();
        let k = sketcher.params.num_perm;
        let mut sigs = vec![u32::MAX; rows.len() * k];
        sigs.par_chunks_mut(k).zip(rows.par_iter()).for_each_init(Scratch::default, |scratch, (out, &i)| {
            if let Some(sig) = sketcher.sketch(texts.text(i).unwrap_or(""), scratch) {
                out.copy_from_slice(sig);
            }
        });
        save_signatures(save, sketcher, &sigs)
    }

    /// Step 5 for every row at once, from the signatures spilled by `add_questions` (see
    /// `keep_signatures`), read back `SIG_CHUNK` rows at a time: the bytes `save_feed` writes.
    pub fn save_spilled(&mut self) -> Result<()> {
        let (sketcher, empty) = (&self.sketcher, &self.empty);
        let Some(spill) = self.sigs.as_mut() else {
            return Err(Error::Input("save_spilled() without keep_signatures()".into()));
        };
        let Some(save) = self.save.as_mut() else {
            return Err(Error::Input("save_spilled() before begin_save()".into()));
        };
        if save.next_row != 0 {
            return Err(Error::Input(format!("save_spilled() after save_feed() of {} rows", save.next_row)));
        }
        let path = &spill.paths[0];
        spill.files[0].flush().map_err(|e| io(path, e))?;
        let mut file = BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| io(path, e))?);
        let k = sketcher.params.num_perm;
        let n = save.kept.len();
        let mut bytes = vec![0u8; SIG_CHUNK * k * 4];
        while save.next_row < n {
            let start = save.next_row;
            let m = SIG_CHUNK.min(n - start);
            let chunk = &mut bytes[..m * k * 4];
            file.read_exact(chunk).map_err(|e| io(path, e))?;
            let mut sigs = Vec::with_capacity(m * k);
            for (i, row) in chunk.chunks_exact(k * 4).enumerate() {
                if save.kept[start + i] && !empty[start + i] {
                    sigs.extend(row.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])));
                }
            }
            save.next_row += m;
            save_signatures(save, sketcher, &sigs)?;
        }
        Ok(())
    }

    /// Step 5: each band's table, sorted by key then row, and the checksum.
    pub fn end_save(&mut self) -> Result<()> {
        let Some(mut save) = self.save.take() else {
            return Err(Error::Input("end_save() before begin_save()".into()));
        };
        if save.next_row != save.kept.len() {
            return Err(Error::Input(format!("end_save() after {} of {} rows", save.next_row, save.kept.len())));
        }
        for b in 0..self.params.sketch.bands {
            let bytes = save.bands.read(b)?;
            let mut pairs: Vec<(u64, u32)> =
                bytes.chunks_exact(SAVE_REC).map(|r| (u64_at(r, 0), u32_at(r, 8))).collect();
            drop(bytes);
            pairs.par_sort_unstable();
            let (keys, rows): (Vec<u64>, Vec<u32>) = pairs.into_iter().unzip();
            save.writer.u64(keys.len() as u64)?;
            save.writer.u64s(&keys)?;
            save.writer.u32s(&rows)?;
        }
        save.writer.finish()
    }
}

/// Appends the signatures of the next kept records (row-major) to the index being saved, and
/// their band keys to the band spills.
fn save_signatures(save: &mut Save, sketcher: &Sketcher, sigs: &[u32]) -> Result<()> {
    let (k, r) = (sketcher.params.num_perm, sketcher.params.rows);
    save.writer.u32s(sigs)?;
    let count = sigs.len() / k;
    for b in 0..sketcher.params.bands {
        let mut buf = Vec::with_capacity(count * SAVE_REC);
        for (j, sig) in sigs.chunks_exact(k).enumerate() {
            buf.extend_from_slice(&band_key(sig, b, r).to_le_bytes());
            buf.extend_from_slice(&(save.index_rows + j as u32).to_le_bytes());
        }
        save.bands.write(b, &buf)?;
    }
    save.index_rows += count as u32;
    Ok(())
}

/// The band keys of one shard, rows numbered from `base`, to their partitions; records without
/// shingles join no bucket and are not written.
fn spill_keys(spill: &mut Spill, keys: &crate::sketch::BandKeys, base: usize) -> Result<()> {
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); PARTITIONS];
    for b in 0..keys.bands {
        for (i, &key) in keys.band(b).iter().enumerate() {
            if key == EMPTY_KEY {
                continue;
            }
            let buf = &mut bufs[part_of(key)];
            buf.extend_from_slice(&key.to_le_bytes());
            buf.extend_from_slice(&(b as u32).to_le_bytes());
            buf.extend_from_slice(&((base + i) as u32).to_le_bytes());
        }
    }
    for (p, buf) in bufs.iter().enumerate() {
        spill.write(p, buf)?;
    }
    Ok(())
}

/// The rows `rows` of `texts`, as a column of their own.
struct Picked<'a, T: Texts + ?Sized> {
    texts: &'a T,
    rows: &'a [u32],
}

impl<T: Texts + ?Sized> Texts for Picked<'_, T> {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn text(&self, i: usize) -> Option<&str> {
        self.texts.text(self.rows[i] as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::keep_first;
    use crate::index::MinHashIndex;
    use crate::minhash::Kernel;
    use crate::neardup::{near_dedup, Verify};
    use crate::shingle::ShingleKind;
    use crate::sketch::SketchParams;

    fn params() -> DedupParams {
        let sketch = SketchParams::new(128, 1, 0.8, None, ShingleKind::Word(3), NormalizeOptions::default()).unwrap();
        DedupParams { sketch, threshold: 0.8, verify: Verify::Exact, kernel: Kernel::detect() }
    }

    /// A corpus with exact copies, near copies (one word changed), empty records and unrelated ones.
    fn corpus(n: usize, salt: u64) -> Vec<String> {
        let words = ["apple", "river", "stone", "cloud", "maple", "ember", "quartz", "willow", "harbor", "delta"];
        let mut state = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut out: Vec<String> = Vec::with_capacity(n);
        for i in 0..n {
            let r = next() % 10;
            let text = if i > 0 && r < 2 {
                out[(next() % i as u64) as usize].clone()
            } else if i > 0 && r < 4 {
                let base = &out[(next() % i as u64) as usize];
                let mut w: Vec<&str> = base.split(' ').collect();
                let at = (next() % w.len() as u64) as usize;
                w[at] = words[(next() % 10) as usize];
                w.join(" ")
            } else if r == 4 {
                String::from("?!")
            } else {
                (0..12).map(|_| words[(next() % 10) as usize]).collect::<Vec<_>>().join(" ")
            };
            out.push(text);
        }
        out
    }

    /// What `find_duplicates` computed with the in-memory pipeline.
    fn reference(questions: &[String], scores: &[f64], seeds: &[String]) -> Verdicts {
        let p = params();
        let first = keep_first(hash_records(&[&questions.to_vec()], Some(NormalizeOptions::default())).unwrap()).first;
        let alive: Vec<usize> = (0..questions.len()).filter(|&i| first[i] as usize == i).collect();
        let texts: Vec<&str> = alive.iter().map(|&i| questions[i].as_str()).collect();
        let sc: Vec<f64> = alive.iter().map(|&i| scores[i]).collect();
        let mut idx = MinHashIndex::new(p.sketch);
        idx.add(seeds, None, p.kernel).unwrap();
        let r = near_dedup(&texts, &p, Some(&sc), Some(&idx)).unwrap();
        let mut out = Verdicts::default();
        let mut alive_at = 0;
        for (i, &f) in first.iter().enumerate() {
            let verdict = if f as usize != i {
                Some((Reason::Exact, i64::from(f)))
            } else {
                let j = alive_at;
                alive_at += 1;
                if r.index_match[j] >= 0 {
                    Some((Reason::Seed, r.index_match[j]))
                } else if r.duplicate_of[j] >= 0 {
                    Some((Reason::Near, alive[r.duplicate_of[j] as usize] as i64))
                } else {
                    None
                }
            };
            if let Some((reason, other)) = verdict {
                out.rows.push(i as u32);
                out.reasons.push(reason as u8);
                out.other.push(other);
            }
        }
        out
    }

    #[test]
    fn streamed_verdicts_and_saved_index_equal_the_in_memory_pipeline() {
        streamed_equals_in_memory(false);
    }

    #[test]
    fn index_saved_from_spilled_signatures_is_the_same() {
        streamed_equals_in_memory(true);
    }

    fn streamed_equals_in_memory(spilled: bool) {
        let dir = std::env::temp_dir().join(format!("tsqa-spill-{}-{spilled}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let questions = corpus(3000, 7);
        let mut seeds = corpus(500, 7); // the same generator: some questions are near copies of seeds
        seeds.truncate(400);
        let scores: Vec<f64> = (0..questions.len()).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
        let want = reference(&questions, &scores, &seeds);
        assert!(want.reasons.contains(&1) && want.reasons.contains(&2) && want.reasons.contains(&3));

        let mut s = StreamDedup::new(params(), &dir).unwrap();
        if spilled {
            s.keep_signatures().unwrap();
        }
        // Shards of uneven size; ids repeat inside a task (variants) and are fresh in the next.
        let ids: Vec<String> = (0..questions.len()).map(|i| format!("q{i}")).collect();
        for (lo, hi) in [(0, 1000), (1000, 1700), (1700, 3000)] {
            if lo == 1700 {
                s.next_task();
            }
            let mut shard_ids = ids[lo..hi].to_vec();
            let mut shard = questions[lo..hi].to_vec();
            let mut sc = scores[lo..hi].to_vec();
            shard_ids.insert(1, shard_ids[0].clone()); // a second variant row of the first question
            shard.insert(1, "a variant row that must be ignored".into());
            sc.insert(1, 0.0);
            let take = s.add_questions(&shard_ids, &shard, &sc).unwrap();
            assert_eq!(take.len(), hi - lo);
            assert_eq!(take[1], 2);
        }
        for chunk in seeds.chunks(150) {
            s.add_seeds(chunk).unwrap();
        }
        assert_eq!(s.resolve().unwrap(), (true, true));
        for (lo, chunk) in questions.chunks(700).enumerate() {
            s.feed_questions(lo * 700, chunk).unwrap();
        }
        for (lo, chunk) in seeds.chunks(150).enumerate() {
            s.feed_seeds(lo * 150, chunk).unwrap();
        }
        let got = s.finish().unwrap();
        assert_eq!((&got.rows, &got.reasons, &got.other), (&want.rows, &want.reasons, &want.other));

        // The saved index: byte-identical to building one from the kept records.
        let extra = [5u32, 6];
        let dropped: HashSet<u32> = want.rows.iter().chain(&extra).copied().collect();
        let kept: Vec<String> =
            (0..questions.len()).filter(|&i| !dropped.contains(&(i as u32))).map(|i| questions[i].clone()).collect();
        let mut idx = MinHashIndex::new(params().sketch);
        idx.add(&kept, None, Kernel::detect()).unwrap();
        idx.save(&dir.join("want.index")).unwrap();
        s.begin_save(&dir.join("got.index"), &extra).unwrap();
        if spilled {
            s.save_spilled().unwrap();
            assert!(s.save_spilled().is_err()); // once
        } else {
            assert!(s.save_spilled().is_err()); // signatures were not kept
            for (lo, chunk) in questions.chunks(999).enumerate() {
                s.save_feed(lo * 999, chunk).unwrap();
            }
        }
        s.end_save().unwrap();
        assert!(std::fs::read(dir.join("got.index")).unwrap() == std::fs::read(dir.join("want.index")).unwrap());
        drop(s);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "spill files left: {left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
