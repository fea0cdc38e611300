//! One field's needles as an automaton, and the scan that reports every needle found
//! in a value.
//!
//! The automata are `aho-corasick`'s; the loop that walks them is written here. The
//! crate's overlapping iterator returns to its caller at every match with a span,
//! through a dynamically dispatched automaton; the prefilter only needs which needles
//! occur, so one pass over the value that reports each match state's patterns does
//! the same work without leaving the loop (on SigmaHQ's process-creation rules, 70M
//! fewer instructions over 5,000 events: about 30% of the prefilter's scan).

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::contiguous;
use aho_corasick::{Anchored, BuildError, MatchKind, dfa::DFA};

/// Needle bytes up to which a field's automaton is a DFA.
///
/// A DFA scans a field several times faster than the contiguous NFA but costs far
/// more to build, in proportion to its needles: on SigmaHQ's process-creation rules
/// the DFAs of every field but `CommandLine` (at most ~18k needle bytes each) cost
/// 0.2 G instructions to build and save ~20k instructions per event, while a DFA for
/// `CommandLine` (115k needle bytes) would cost 0.9 G more to save ~6k per event.
const DFA_NEEDLE_BYTES: usize = 32 * 1024;

/// The automaton over one field's needles (see [`DFA_NEEDLE_BYTES`]).
#[derive(Debug)]
pub(crate) enum NeedleScanner {
    /// Few needle bytes: a DFA.
    Dfa(DFA),
    /// Many: the contiguous NFA.
    Nfa(contiguous::NFA),
}

impl NeedleScanner {
    /// The automaton for `needles` (none empty); pattern `i` is `needles[i]`.
    pub(crate) fn build(needles: &[&str]) -> Result<Self, BuildError> {
        let bytes: usize = needles.iter().map(|n| n.len()).sum();
        // No rare-byte prefilter: field values are short and full of the needles'
        // bytes, so it restarts the automaton more often than it skips (measured:
        // 3% less time on the process-creation lane, the same on the mixed one).
        Ok(if bytes <= DFA_NEEDLE_BYTES {
            Self::Dfa(
                DFA::builder()
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .build(needles)?,
            )
        } else {
            Self::Nfa(
                contiguous::NFA::builder()
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .build(needles)?,
            )
        })
    }

    /// Calls `found` with the pattern index of every needle occurrence in `text`
    /// (a needle found twice is reported twice).
    pub(crate) fn scan(&self, text: &[u8], found: impl FnMut(usize)) {
        match self {
            Self::Dfa(dfa) => scan_with(dfa, text, found),
            Self::Nfa(nfa) => scan_with(nfa, text, found),
        }
    }
}

/// The overlapping scan of `text` by `automaton`, monomorphized per automaton kind.
#[inline(always)]
fn scan_with<A: Automaton>(automaton: &A, text: &[u8], mut found: impl FnMut(usize)) {
    // Unanchored searches are what both automata are built for; an empty needle (the
    // only way the start state could match) is never added.
    let Ok(mut sid) = automaton.start_state(Anchored::No) else {
        return;
    };
    for &byte in text {
        sid = automaton.next_state(Anchored::No, sid, byte);
        // Without a prefilter only match and dead states are special, and standard
        // (non-leftmost) semantics never reach a dead state.
        if automaton.is_special(sid) && automaton.is_match(sid) {
            for i in 0..automaton.match_len(sid) {
                found(automaton.match_pattern(sid, i).as_usize());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(scanner: &NeedleScanner, text: &str) -> Vec<usize> {
        let mut all = Vec::new();
        scanner.scan(text.as_bytes(), |p| all.push(p));
        all.sort_unstable();
        all
    }

    #[test]
    fn every_overlapping_occurrence_is_reported_by_both_kinds() {
        let needles = ["cmd", "cmd.exe", "d.e", "exe", "\\cmd.exe /c"];
        let dfa = NeedleScanner::build(&needles).expect("small automaton");
        assert!(matches!(dfa, NeedleScanner::Dfa(_)));
        let long: Vec<String> = (0..DFA_NEEDLE_BYTES / 8 + 1)
            .map(|i| format!("{i:08}"))
            .chain(needles.iter().map(|n| n.to_string()))
            .collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        let nfa = NeedleScanner::build(&long).expect("large automaton");
        assert!(matches!(nfa, NeedleScanner::Nfa(_)));
        let offset = long.len() - needles.len();
        let text = "c:\\cmd.exe /c cmd.exe";
        assert_eq!(found(&dfa, text), vec![0, 0, 1, 1, 2, 2, 3, 3, 4]);
        let shifted: Vec<usize> = found(&nfa, text).into_iter().map(|p| p - offset).collect();
        assert_eq!(shifted, vec![0, 0, 1, 1, 2, 2, 3, 3, 4]);
        assert!(found(&dfa, "").is_empty());
        assert!(found(&dfa, "powershell").is_empty());
    }
}
