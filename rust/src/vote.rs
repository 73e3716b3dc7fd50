//! Majority voting over sampled answers (self-consistency, Wang et al. 2023).
//!
//! Steps per item:
//! 1. Canonicalise every sample (`answer::canonical_answer`); samples without an answer count in
//!    `total` but cast no vote.
//! 2. Count votes per canonical answer in first-appearance order.
//! 3. Winner: most votes; ties go to the answer that appeared first among the samples, so the
//!    result depends only on the sample order, never on hashing or threads.
//! 4. Agreement = votes / total; `matches_reference` compares the winner with the canonical
//!    reference (`answer::canonical_reference`) when one is given.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::answer::{canonical_answer, canonical_reference, option_text, Mode};

/// One item to vote on.
pub struct Item<'a> {
    pub samples: Vec<&'a str>,
    pub options: Option<Vec<&'a str>>,
    pub reference: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Canonical winning answer (an option letter in multiple-choice mode).
    pub winner: Option<String>,
    /// The option text of the winning letter (multiple choice with options), else the winner.
    pub winner_text: Option<String>,
    pub votes: u32,
    /// Number of samples, including those without an extractable answer.
    pub total: u32,
    /// Samples with an extractable answer.
    pub valid: u32,
    pub agreement: f64,
    /// Canonical reference, when given and parseable.
    pub reference: Option<String>,
    /// None without a reference.
    pub matches_reference: Option<bool>,
}

/// Items of at most this many samples find an answer's slot by scanning (no map, no key copy).
const SCAN_SAMPLES: usize = 64;

pub fn vote_one(item: &Item<'_>, mode: Mode) -> Outcome {
    vote_with(item, mode, item.samples.len() <= SCAN_SAMPLES)
}

fn vote_with(item: &Item<'_>, mode: Mode, scan: bool) -> Outcome {
    let opts = item.options.as_deref();
    // (answer, votes) in first-appearance order. A few samples (the spec allows 64): a scan of the
    // distinct answers so far finds the slot; more, a map.
    let mut tally: Vec<(String, u32)> = Vec::new();
    let mut slot: HashMap<String, usize> = HashMap::new();
    let mut valid = 0u32;
    for s in &item.samples {
        let Some(key) = canonical_answer(s, mode, opts) else { continue };
        valid += 1;
        let found = if scan { tally.iter().position(|(k, _)| *k == key) } else { slot.get(&key).copied() };
        match found {
            Some(i) => tally[i].1 += 1,
            None => {
                if !scan {
                    slot.insert(key.clone(), tally.len());
                }
                tally.push((key, 1));
            }
        }
    }
    // `max_by_key` returns the last maximum; scanning in reverse makes it the first.
    let best = tally.iter().rev().max_by_key(|(_, v)| *v);
    let total = item.samples.len() as u32;
    let (winner, votes) = match best {
        Some((w, v)) => (Some(w.clone()), *v),
        None => (None, 0),
    };
    let winner_text = winner.as_deref().map(|w| match mode {
        Mode::MultipleChoice => option_text(w, opts).unwrap_or(w).to_string(),
        _ => w.to_string(),
    });
    let reference = item.reference.and_then(|r| canonical_reference(r, mode, opts));
    let matches_reference = item.reference.map(|_| reference.is_some() && reference == winner);
    Outcome {
        winner,
        winner_text,
        votes,
        total,
        valid,
        agreement: if total == 0 { 0.0 } else { f64::from(votes) / f64::from(total) },
        reference,
        matches_reference,
    }
}

/// Votes on every item in parallel (on the caller's pool); output order = input order.
pub fn vote_all(items: &[Item<'_>], mode: Mode) -> Vec<Outcome> {
    items.par_iter().map(|it| vote_one(it, mode)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item<'a>(samples: &[&'a str], reference: Option<&'a str>) -> Item<'a> {
        Item { samples: samples.to_vec(), options: None, reference }
    }

    #[test]
    fn equivalent_numbers_vote_together() {
        let it =
            item(&["\\boxed{0.5}", "\\boxed{1/2}", "\\boxed{\\frac{2}{4}}", "\\boxed{3}", "no box"], Some("\\frac12"));
        let o = vote_one(&it, Mode::Boxed);
        assert_eq!(o.winner.as_deref(), Some("1/2"));
        assert_eq!((o.votes, o.total, o.valid), (3, 5, 4));
        assert!((o.agreement - 0.6).abs() < 1e-12);
        // "\frac12" is not parseable as a number: the reference canonicalises to text and differs.
        assert_eq!(o.matches_reference, Some(false));
        let o = vote_one(&item(&["\\boxed{0.5}"], Some("0.50")), Mode::Boxed);
        assert_eq!(o.matches_reference, Some(true));
    }

    #[test]
    fn ties_go_to_first_appearance() {
        let samples: Vec<String> = (0..100).map(|i| format!("The final answer is {i}")).collect();
        let refs: Vec<&str> = samples.iter().map(String::as_str).collect();
        let o = vote_one(&item(&refs, None), Mode::FinalAnswer);
        assert_eq!((o.winner.as_deref(), o.votes, o.total), (Some("0"), 1, 100));
        let mut rev = refs.clone();
        rev.reverse();
        assert_eq!(vote_one(&item(&rev, None), Mode::FinalAnswer).winner.as_deref(), Some("99"));
        let o = vote_one(&item(&["b", "a", "a", "b"], None), Mode::Text);
        assert_eq!(o.winner.as_deref(), Some("b"));
    }

    #[test]
    fn scanning_and_mapping_the_answers_agree() {
        let pool = ["A", "B", "(c)", "The final answer is: B", "b.", "D", "", "none", "C"];
        let opts = vec!["alpha", "beta", "gamma", "delta"];
        let mut state = 7u64;
        for _ in 0..2000 {
            let mut samples = Vec::new();
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            for k in 0..(state >> 59) as usize {
                samples.push(pool[((state >> (k % 50)) as usize + k) % pool.len()]);
            }
            for mode in [Mode::MultipleChoice, Mode::Text, Mode::FinalAnswer] {
                let it = Item { samples: samples.clone(), options: Some(opts.clone()), reference: Some("1") };
                assert_eq!(vote_with(&it, mode, true), vote_with(&it, mode, false));
            }
        }
    }

    #[test]
    fn empty_and_unparseable_items() {
        let o = vote_one(&item(&[], Some("x")), Mode::Number);
        assert_eq!((o.winner, o.votes, o.total, o.agreement, o.matches_reference), (None, 0, 0, 0.0, Some(false)));
        let o = vote_one(&item(&["", "   ", "???"], None), Mode::Text);
        assert_eq!((o.winner, o.valid), (None, 0));
    }

    #[test]
    fn multiple_choice_reports_option_text() {
        let it =
            Item { samples: vec!["B", "london", "(A)"], options: Some(vec!["Paris", "London"]), reference: Some("1") };
        let o = vote_one(&it, Mode::MultipleChoice);
        assert_eq!(o.winner.as_deref(), Some("B"));
        assert_eq!(o.winner_text.as_deref(), Some("London"));
        assert_eq!(o.matches_reference, Some(true));
    }
}
