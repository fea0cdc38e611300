//! The atoms found in the last few texts of one field, so that a text seen again is
//! not scanned again.
//!
//! Events from one source repeat their values: a parent process starts several
//! children, one image runs again and again, the `Company` and `Product` of system
//! binaries are few. In the OTRF sample's 585 process-creation events, 52% of the
//! bytes of the values of 16 bytes or more that the prefilter scans (in
//! `CommandLine`, `ParentCommandLine`, `Image`, `ParentImage`, `Hashes` and seven
//! more) are a text that the same field held in one of its last 32 events; 18% in
//! the event just before. Remembering 16, 32, 64 or 128 texts took `hunt` over the
//! first 5,000 events of the benchmark's process-creation lane from 1,591M
//! instructions to 1,558M, 1,552M, 1,548M and 1,541M (a 1-in-40 sample of the mixed
//! lane from 3,018M to about 2,948M for each). A text is found by a fingerprint of
//! its length and its first and last eight bytes, then all its bytes (values of one
//! length that differ at either end, such as `Hashes`, are passed over without a
//! byte comparison), in a few dozen instructions against the scan's ten to thirty
//! per byte. The fingerprints are kept apart from the texts, so that the search
//! reads four cache lines: with them beside each text and its atoms it read 36, and
//! on those 5,000 events it missed the first-level data cache 779k times, a tenth of
//! `hunt`'s misses (cachegrind). The atoms found are those of the same case-folded
//! text, so the prefilter's result does not change; only its cost does.

/// How many texts of a field are remembered.
const REMEMBERED: usize = 32;

/// Texts shorter than this are scanned every time: their scan costs about what
/// looking them up does.
const SHORTEST: usize = 16;

/// Texts longer than this are scanned every time, which bounds the memory kept (half
/// a megabyte per field and thread). Long command lines repeat too: 39 of the OTRF
/// sample's 585 process creations have a `ParentCommandLine` of 5 to 7 KB (encoded
/// PowerShell), and with a bound of 4 KB the scan of those few was 55% of all the
/// bytes scanned on the first 5,000 events of the benchmark's process-creation lane;
/// with this bound the bytes scanned fall by a quarter, from 372 KB to 280 KB on the
/// 585 records and from 3.2 MB to 2.4 MB on the 5,000.
const LONGEST: usize = 16 * 1024;

/// One remembered text and the atoms found in it.
#[derive(Debug, Default)]
struct Remembered {
    text: String,
    atoms: Vec<u32>,
}

/// A fingerprint of a text's length and its first and last eight bytes (it is at
/// least eight bytes long): equal texts have equal fingerprints.
fn fingerprint(text: &[u8]) -> u64 {
    let word = |bytes: Option<&[u8; 8]>| bytes.map_or(0, |b| u64::from_le_bytes(*b));
    let first = word(text.first_chunk());
    let last = word(text.last_chunk());
    (first ^ (text.len() as u64).rotate_right(16))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(29)
        ^ last
}

/// The last texts of one field that were scanned, with the atoms found in each.
#[derive(Debug, Default)]
pub(crate) struct RecentScans {
    /// The fingerprint of each remembered text, in `remembered`'s order.
    fingerprints: Vec<u64>,
    remembered: Vec<Remembered>,
    /// The entry the next new text replaces, once all are in use.
    next: usize,
}

impl RecentScans {
    /// The atoms found in `text`, from memory if it was scanned lately, otherwise by
    /// `scan` (which reports each atom it finds, maybe more than once), given in
    /// either case to `found`.
    pub(crate) fn atoms(
        &mut self,
        text: &str,
        scan: impl FnOnce(&mut dyn FnMut(u32)),
        mut found: impl FnMut(u32),
    ) {
        if !(SHORTEST..=LONGEST).contains(&text.len()) {
            scan(&mut found);
            return;
        }
        let key = fingerprint(text.as_bytes());
        let known = self
            .fingerprints
            .iter()
            .zip(&self.remembered)
            .find(|(held, known)| **held == key && known.text == text);
        if let Some((_, known)) = known {
            known.atoms.iter().copied().for_each(found);
            return;
        }
        let slot = if self.remembered.len() < REMEMBERED {
            self.remembered.push(Remembered::default());
            self.fingerprints.push(key);
            self.remembered.len() - 1
        } else {
            let slot = self.next;
            self.next = (slot + 1) % REMEMBERED;
            self.fingerprints[slot] = key;
            slot
        };
        let entry = &mut self.remembered[slot];
        entry.text.clear();
        entry.text.push_str(text);
        entry.atoms.clear();
        scan(&mut |atom| {
            entry.atoms.push(atom);
            found(atom);
        });
        entry.atoms.sort_unstable();
        entry.atoms.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The atoms `recent` gives for `text`, and whether it scanned to find them; the
    /// scan reports the offsets at which `b` occurs, twice each.
    fn atoms_of(recent: &mut RecentScans, text: &str) -> (Vec<u32>, bool) {
        let mut scanned = false;
        let mut atoms = Vec::new();
        recent.atoms(
            text,
            |report| {
                scanned = true;
                for (at, byte) in text.bytes().enumerate() {
                    if byte == b'b' {
                        report(at as u32);
                        report(at as u32);
                    }
                }
            },
            |atom| atoms.push(atom),
        );
        atoms.sort_unstable();
        atoms.dedup();
        (atoms, scanned)
    }

    #[test]
    fn a_text_seen_lately_gives_the_same_atoms_without_a_scan() {
        let mut recent = RecentScans::default();
        let text = "abcabcabcabcabcabcab";
        let (first, scanned) = atoms_of(&mut recent, text);
        assert!(scanned);
        assert_eq!(first, [1, 4, 7, 10, 13, 16, 19]);
        assert_eq!(atoms_of(&mut recent, text), (first.clone(), false));
        // Same length, other bytes: scanned.
        let (other, scanned) = atoms_of(&mut recent, "bbcabcabcabcabcabcab");
        assert!(scanned);
        assert_eq!(other, [0, 1, 4, 7, 10, 13, 16, 19]);
        // Same length and ends, other bytes between: scanned.
        let (middle, scanned) = atoms_of(&mut recent, "abcabcabbbbbabcabcab");
        assert!(scanned);
        assert_eq!(middle, [1, 4, 7, 8, 9, 10, 11, 13, 16, 19]);
        assert_eq!(atoms_of(&mut recent, text), (first, false));
    }

    #[test]
    fn the_oldest_text_is_forgotten_first() {
        let mut recent = RecentScans::default();
        let texts: Vec<String> = (0..=REMEMBERED).map(|i| format!("{i:0>20}b")).collect();
        for text in &texts {
            assert!(atoms_of(&mut recent, text).1);
        }
        // The first was replaced by the last; the others are still known.
        assert_eq!(atoms_of(&mut recent, &texts[1]), (vec![20], false));
        assert_eq!(atoms_of(&mut recent, &texts[REMEMBERED]), (vec![20], false));
        assert_eq!(atoms_of(&mut recent, &texts[0]), (vec![20], true));
    }

    #[test]
    fn short_and_long_texts_are_scanned_every_time() {
        let mut recent = RecentScans::default();
        let long = "b".repeat(LONGEST + 1);
        for text in ["bb", long.as_str()] {
            assert!(atoms_of(&mut recent, text).1);
            assert!(atoms_of(&mut recent, text).1);
        }
    }
}
