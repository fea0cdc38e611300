//! One field's needles, and the scan that reports every needle found in a value.
//!
//! Written here rather than taken from `aho-corasick`: the crate's automata take one
//! dependent table load per byte of the value, and with SigmaHQ's thousands of
//! needles per field the tables (1-3 MB per DFA, or the NFA's failure hops) miss the
//! cache. On SigmaHQ's process-creation rules the scan was ~25% of `hunt`'s time
//! (`CommandLine`'s NFA alone ~12 ns per byte), and building the automata 0.29 G of
//! the 1.0 G instructions that loading the rules took.
//!
//! Here each needle of four bytes or more is filed under one of its four-byte
//! windows: the one whose first two bytes are the least common pair in all the
//! needles (the needles stand in for the values: the rarer the pair, the fewer the
//! positions of a value that pass the first test below), then the least common
//! window among the needles' windows. Two- and three-byte needles are filed under
//! their first two bytes; one-byte needles are looked for in the value as a whole
//! (see [`Singles`]). The scan looks at every position of
//! the value: one lookup in a table of byte pairs tells whether any key starts there,
//! then a hashed bit set whether that window is a key, and only then are the needles
//! under the key compared with the value. No position depends on the one before, so
//! the processor overlaps them. Building is a sort of the needles.
//!
//! Where most positions of a value pass the pair test (a field with thousands of
//! needles, such as `CommandLine`), the scan reads the filter bit at every position
//! and branches once on both tests: 1.6% less time for `hunt` on the process-creation
//! lane and 1% on the mixed lane (medians of 11 and 5 alternating runs, one core).
//!
//! Measured against the automata it replaced, with `bench/compare.py` the same hour:
//! `hunt` took 1.09 s instead of 1.31 s on the process-creation lane and 3.83 s
//! instead of 4.33 s on the mixed lane (medians of 3, one core), with 14-38 MB less
//! memory; building the rule set costs 0.23 G fewer instructions.

use std::collections::HashMap;

use crate::prefilter::{bit, set};

/// Multiplier of the window hash (Knuth's multiplicative hashing constant).
const WINDOW_HASH: u32 = 0x9E37_79B1;

/// Bits of the window filter per distinct window, which lets a position whose
/// window is no needle's pass about once in this many.
const FILTER_BITS_PER_WINDOW: usize = 32;

/// The largest window filter, in bits (32 KB).
const MAX_FILTER_BITS: usize = 1 << 18;

/// A scanner is dense (see [`NeedleScanner::scan_every_window`]) when at least this
/// share of its needles' byte pairs pass the pair test.
const DENSE_PASS_SHARE: f64 = 0.5;

/// The most positions apart a scan looks (see [`sampling_stride`]): more needs more
/// windows per needle, and so a fuller filter, for less and less.
const MAX_STRIDE: usize = 8;

/// Needles of this many bytes or more are filed under one of their windows of this
/// many bytes; two- and three-byte needles under their first two bytes (marked by
/// [`PAIR_KEY`]), one-byte needles under their byte.
const WINDOW: usize = 4;

/// Marks the key of a needle filed under its first two bytes: the pair, then the
/// bytes 0x00 and 0x80, which no UTF-8 text holds in a row, so no window has the
/// same key (and if one did, every needle under a key is compared with the value
/// anyway).
const PAIR_KEY: u32 = 0x8000_0000;

/// A pair's bit in [`NeedleScanner::pairs`]: some window starts with it.
const STARTS_WINDOW: u64 = 1;

/// A pair's bit in [`NeedleScanner::pairs`]: some two- or three-byte needle starts
/// with it.
const STARTS_SHORT: u64 = 2;

/// The needles of one field, ready to be found in its values.
#[derive(Debug)]
pub(crate) struct NeedleScanner {
    /// Per pair of bytes, two bits: [`STARTS_WINDOW`] if a window starts with it,
    /// [`STARTS_SHORT`] if a two- or three-byte needle does. Most positions of a
    /// value start neither, and this one lookup tells.
    pairs: Box<[u64; 2048]>,
    /// Bit set over the hashed windows.
    filter: Vec<u64>,
    /// The shift that takes a hash to an index in `filter`.
    filter_shift: u32,
    /// Open-addressed table of the keys: (key, its entries' range in `entries`); an
    /// empty range marks a free slot.
    slots: Vec<(u32, u32, u32)>,
    /// The shift that takes a hash to an index in `slots`.
    slot_shift: u32,
    /// The needles under each key, as (pattern, offset of the key in it).
    entries: Vec<(u32, u32)>,
    /// The one-byte needles, grouped by their byte.
    singles: Singles,
    /// Each pattern's bytes: `bytes[starts[p]..starts[p + 1]]`.
    bytes: Vec<u8>,
    starts: Vec<u32>,
    /// Whether most positions of a value are expected to pass the pair test, so
    /// that [`NeedleScanner::scan_every_window`] is the faster scan.
    dense: bool,
    /// The scan looks at one position in this many (see [`sampling_stride`]).
    stride: usize,
}

impl NeedleScanner {
    /// The scanner for `needles` (none empty); pattern `i` is `needles[i]`.
    pub(crate) fn build(needles: &[&str]) -> Self {
        // How many windows of all needles each window is, and how many of their
        // byte pairs each pair: a needle is filed under the window the values are
        // least likely to hold at a position, judged first by its pair.
        let mut frequency: HashMap<u32, u32> = HashMap::new();
        for needle in needles {
            for key in windows(needle.as_bytes()) {
                *frequency.entry(key).or_default() += 1;
            }
        }
        let mut pair_frequency = vec![0u32; 1 << 16];
        for needle in needles {
            for pair in needle.as_bytes().windows(2) {
                pair_frequency[u16::from_le_bytes([pair[0], pair[1]]) as usize] += 1;
            }
        }
        let stride = sampling_stride(needles);
        let mut keyed: Vec<(u32, u32, u32)> = Vec::with_capacity(needles.len() * stride);
        let mut singles: Vec<(u8, u32)> = Vec::new();
        let mut pairs = Box::new([0u64; 2048]);
        for (pattern, needle) in needles.iter().enumerate() {
            let pattern = pattern as u32;
            match *needle.as_bytes() {
                [] => {}
                [byte] => singles.push((byte, pattern)),
                [first, second] | [first, second, _] => {
                    let pair = u16::from_le_bytes([first, second]);
                    mark_pair(&mut pairs, pair, STARTS_SHORT);
                    keyed.push((pair as u32 | PAIR_KEY, pattern, 0));
                }
                ref long => {
                    // `stride` windows in a row, so that a position the scan looks at
                    // holds one of them wherever the needle occurs.
                    let keys: Vec<(u32, u64, u64)> = windows(long)
                        .map(|key| {
                            let pair = pair_frequency[key as u16 as usize] as u64;
                            let window = frequency.get(&key).copied().unwrap_or(0) as u64;
                            (key, pair, window)
                        })
                        .collect();
                    let base = keys
                        .windows(stride)
                        .enumerate()
                        .min_by_key(|&(_, run)| {
                            run.iter()
                                .fold((0, 0), |(p, w), &(_, pair, window)| (p + pair, w + window))
                        })
                        .map_or(0, |(base, _)| base);
                    for (offset, &(key, ..)) in keys.iter().enumerate().skip(base).take(stride) {
                        mark_pair(&mut pairs, key as u16, STARTS_WINDOW);
                        keyed.push((key, pattern, offset as u32));
                    }
                }
            }
        }
        keyed.sort_unstable();
        let distinct = keyed.chunk_by(|a, b| a.0 == b.0).count();
        // Only windows are looked up in the filter; pair keys go by `pairs` alone.
        let is_window = |group: &[(u32, u32, u32)]| {
            group
                .iter()
                .any(|&(_, pattern, _)| needles[pattern as usize].len() >= WINDOW)
        };
        let window_keys = keyed
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|group| is_window(group))
            .count();
        let bits = (window_keys * FILTER_BITS_PER_WINDOW)
            .next_power_of_two()
            .clamp(64, MAX_FILTER_BITS);
        let filter_shift = 32 - bits.trailing_zeros();
        let mut filter = vec![0u64; bits / 64];
        let mut slots = vec![(0u32, 0u32, 0u32); (distinct * 2).next_power_of_two().max(2)];
        let slot_shift = 32 - slots.len().trailing_zeros();
        let mask = slots.len() - 1;
        let mut first = 0u32;
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            let key = group[0].0;
            if is_window(group) {
                set(&mut filter, window_index(key, filter_shift));
            }
            let last = first + group.len() as u32;
            let mut slot = window_index(key, slot_shift) & mask;
            while slots[slot].1 != slots[slot].2 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = (key, first, last);
            first = last;
        }
        let mut bytes = Vec::new();
        let mut starts = Vec::with_capacity(needles.len() + 1);
        starts.push(0);
        for needle in needles {
            bytes.extend_from_slice(needle.as_bytes());
            starts.push(bytes.len() as u32);
        }
        let dense = pass_share(needles, &pairs) >= DENSE_PASS_SHARE;
        Self {
            pairs,
            filter,
            filter_shift,
            slots,
            slot_shift,
            entries: keyed.iter().map(|&(_, p, o)| (p, o)).collect(),
            singles: Singles::build(singles),
            bytes,
            starts,
            dense,
            stride,
        }
    }

    /// Calls `found` with the pattern index of every needle that occurs in `text`:
    /// once at least (a needle found at several places may be reported for each).
    pub(crate) fn scan(&self, text: &[u8], mut found: impl FnMut(usize)) {
        self.singles.scan(text, &mut found);
        let from = if self.dense {
            self.scan_every_window(text, &mut found)
        } else {
            0
        };
        let mut next = from;
        while next + 1 < text.len() {
            let at = next;
            next += self.stride;
            let pair = u16::from_le_bytes([text[at], text[at + 1]]);
            let starts = pair_flags(&self.pairs, pair);
            if starts == 0 {
                continue;
            }
            if starts & STARTS_SHORT != 0 {
                self.lookup(text, at, pair as u32 | PAIR_KEY, &mut found);
            }
            if starts & STARTS_WINDOW != 0
                && let Some(window) = text[at..].first_chunk::<WINDOW>()
            {
                let key = u32::from_le_bytes(*window);
                if bit(&self.filter, window_index(key, self.filter_shift)) {
                    self.lookup(text, at, key, &mut found);
                }
            }
        }
    }

    /// The scan of a dense scanner's positions that have a whole window. When most
    /// positions pass the pair test, a branch on it is mispredicted about as often
    /// as not; here the window's filter bit is read at every position as well, and
    /// the one branch, on both tests joined, is taken rarely and so predicted well.
    /// Returns the next position to look at, the first without a whole window.
    fn scan_every_window(&self, text: &[u8], found: &mut impl FnMut(usize)) -> usize {
        let mut next = 0;
        while let Some(window) = text.get(next..).and_then(<[u8]>::first_chunk::<WINDOW>) {
            let at = next;
            next += self.stride;
            let key = u32::from_le_bytes(*window);
            let starts = pair_flags(&self.pairs, key as u16);
            let in_filter =
                u64::from(bit(&self.filter, window_index(key, self.filter_shift))) * STARTS_WINDOW;
            if (starts & STARTS_SHORT) | (starts & in_filter) == 0 {
                continue;
            }
            if starts & STARTS_SHORT != 0 {
                self.lookup(text, at, key & 0xffff | PAIR_KEY, found);
            }
            if starts & in_filter != 0 {
                self.lookup(text, at, key, found);
            }
        }
        next
    }

    /// Reports the needles filed under `key` that occur in `text` with that key at
    /// `at`.
    #[inline(always)]
    fn lookup(&self, text: &[u8], at: usize, key: u32, found: &mut impl FnMut(usize)) {
        let mask = self.slots.len() - 1;
        let mut slot = window_index(key, self.slot_shift) & mask;
        let (first, last) = loop {
            let (k, first, last) = self.slots[slot];
            if first == last {
                return;
            }
            if k == key {
                break (first, last);
            }
            slot = (slot + 1) & mask;
        };
        for &(pattern, offset) in &self.entries[first as usize..last as usize] {
            if let Some(start) = at.checked_sub(offset as usize) {
                self.check(text, start, pattern, found);
            }
        }
    }

    /// Reports `pattern` if `text` holds it at `start`.
    #[inline(always)]
    fn check(&self, text: &[u8], start: usize, pattern: u32, found: &mut impl FnMut(usize)) {
        let p = pattern as usize;
        let needle = &self.bytes[self.starts[p] as usize..self.starts[p + 1] as usize];
        if text
            .get(start..start + needle.len())
            .is_some_and(|held| same_bytes(held, needle))
        {
            found(p);
        }
    }
}

/// The one-byte needles of a scanner. Whether a byte occurs in a value is a property of
/// the whole value, not of a position, so they are not looked for at each position:
/// up to three bytes are found by `memchr` (a vector search, about a tenth of an
/// instruction per byte where a table lookup per position took about ten), more by
/// one pass that gathers the bits of the needles' bytes. SigmaHQ's process-creation rules
/// give one-byte needles to nine fields (`?`, `-`, `\\`, and 26 in `CommandLine`).
#[derive(Debug, Default)]
struct Singles {
    /// The distinct bytes, ascending, each with its patterns' range in `patterns`.
    bytes: Vec<(u8, u32, u32)>,
    patterns: Vec<u32>,
    /// For more than three and at most 64 distinct bytes: per byte value, the bit of
    /// its place in `bytes` (none for a byte no needle is).
    bits: Option<Box<[u64; 256]>>,
}

impl Singles {
    /// The groups of `singles`, (byte, pattern) pairs.
    fn build(mut singles: Vec<(u8, u32)>) -> Self {
        singles.sort_unstable();
        let mut bytes: Vec<(u8, u32, u32)> = Vec::new();
        for (at, &(byte, _)) in singles.iter().enumerate() {
            let at = at as u32;
            match bytes.last_mut() {
                Some((last, _, end)) if *last == byte => *end = at + 1,
                _ => bytes.push((byte, at, at + 1)),
            }
        }
        let bits = (bytes.len() > 3 && bytes.len() <= 64).then(|| {
            let mut bits = Box::new([0u64; 256]);
            for (i, &(byte, ..)) in bytes.iter().enumerate() {
                bits[byte as usize] = 1 << i;
            }
            bits
        });
        Self {
            bytes,
            patterns: singles.into_iter().map(|(_, p)| p).collect(),
            bits,
        }
    }

    /// Reports the patterns of every byte that `text` holds.
    fn scan(&self, text: &[u8], found: &mut impl FnMut(usize)) {
        if self.bytes.is_empty() {
            return;
        }
        let held = self.held(text);
        for &(byte, from, to) in &self.bytes {
            if held[byte as usize / 64] & (1 << (byte % 64)) != 0 {
                for &pattern in &self.patterns[from as usize..to as usize] {
                    found(pattern as usize);
                }
            }
        }
    }

    /// The set of the needles' bytes that `text` holds (or of every byte it holds).
    fn held(&self, text: &[u8]) -> [u64; 4] {
        let mut held = [0u64; 4];
        if self.bytes.len() <= 3 {
            for &(byte, ..) in &self.bytes {
                if memchr::memchr(byte, text).is_some() {
                    held[byte as usize / 64] |= 1 << (byte % 64);
                }
            }
        } else if let Some(bits) = &self.bits {
            // One register gathers the bits of the needles' bytes, where setting the
            // bit of every byte in a set in memory waits on the previous store.
            let mut seen = 0u64;
            for &byte in text {
                seen |= bits[byte as usize];
            }
            for (i, &(byte, ..)) in self.bytes.iter().enumerate() {
                if seen & (1 << i) != 0 {
                    held[byte as usize / 64] |= 1 << (byte % 64);
                }
            }
        } else {
            for &byte in text {
                held[byte as usize / 64] |= 1 << (byte % 64);
            }
        }
        held
    }
}

/// Whether `a` and `b`, of equal length, are equal: compared eight bytes at a time
/// in line, where a slice comparison calls `memcmp` for needles of a dozen bytes.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let (mut a, mut b) = (a, b);
    while let (Some((x, rest_a)), Some((y, rest_b))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        if x != y {
            return false;
        }
        (a, b) = (rest_a, rest_b);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// How many positions apart the scan of `needles` may look: when every needle of two
/// bytes or more is at least `WINDOW + s - 1` bytes long, each is filed under `s`
/// windows in a row, and wherever it occurs one of them starts at a multiple of `s`.
/// A two- or three-byte needle (which has no window) makes it 1. SigmaHQ's
/// `Hashes` needles are hashes of 32 hex digits and more: a scan of the field looks at
/// one position in eight.
fn sampling_stride(needles: &[&str]) -> usize {
    let shortest = needles
        .iter()
        .map(|n| n.len())
        .filter(|&len| len >= 2)
        .min();
    match shortest {
        Some(len) if len >= WINDOW => (len - WINDOW + 1).min(MAX_STRIDE),
        _ => 1,
    }
}

/// The share of the needles' own byte pairs that pass the pair test: the needles
/// stand in for the values here too. On SigmaHQ's process-creation rules it is 0.61
/// for `CommandLine`'s 9,279 needles, against 55% of the positions of real command
/// lines, and 0.33 or less for every other field.
fn pass_share(needles: &[&str], pairs: &[u64; 2048]) -> f64 {
    let (mut total, mut pass) = (0u64, 0u64);
    for needle in needles {
        for pair in needle.as_bytes().windows(2) {
            total += 1;
            pass += u64::from(pair_flags(pairs, u16::from_le_bytes([pair[0], pair[1]])) != 0);
        }
    }
    pass as f64 / total.max(1) as f64
}

/// The windows of `needle`, as little-endian words, at offsets 0, 1, ...
fn windows(needle: &[u8]) -> impl Iterator<Item = u32> + '_ {
    needle
        .windows(WINDOW)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

/// The index of `key` in a table of `2^(32 - shift)` entries.
#[inline(always)]
fn window_index(key: u32, shift: u32) -> usize {
    (key.wrapping_mul(WINDOW_HASH) >> shift) as usize
}

/// Sets `flag` (one of [`STARTS_WINDOW`], [`STARTS_SHORT`]) for `pair`.
fn mark_pair(pairs: &mut [u64; 2048], pair: u16, flag: u64) {
    pairs[pair as usize / 32] |= flag << (pair % 32 * 2);
}

/// The flags [`mark_pair`] set for `pair`.
#[inline(always)]
fn pair_flags(pairs: &[u64; 2048], pair: u16) -> u64 {
    (pairs[pair as usize / 32] >> (pair % 32 * 2)) & (STARTS_WINDOW | STARTS_SHORT)
}
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The scanner for `needles` as built, and one with the other scan.
    fn scanners(needles: &[&str]) -> [NeedleScanner; 2] {
        let built = NeedleScanner::build(needles);
        let mut other = NeedleScanner::build(needles);
        other.dense = !built.dense;
        [built, other]
    }

    /// What both scans find in `text`, checked to be the same.
    fn found(scanners: &[NeedleScanner; 2], text: &str) -> Vec<usize> {
        let [built, other] = scanners.each_ref().map(|scanner| {
            let mut all = Vec::new();
            scanner.scan(text.as_bytes(), |p| all.push(p));
            all.sort_unstable();
            all.dedup();
            all
        });
        assert_eq!(
            built, other,
            "the dense and the sparse scan differ in {text:?}"
        );
        built
    }

    /// Every needle that occurs, found the slow way.
    fn naive(needles: &[&str], text: &str) -> Vec<usize> {
        let text = text.as_bytes();
        (0..needles.len())
            .filter(|&p| {
                let needle = needles[p].as_bytes();
                (0..text.len()).any(|at| text[at..].starts_with(needle))
            })
            .collect()
    }

    #[test]
    fn every_needle_that_occurs_is_reported_overlapping_or_not() {
        let needles = ["cmd", "cmd.exe", "d.e", "exe", "\\cmd.exe /c", "e"];
        let both = scanners(&needles);
        let text = "c:\\cmd.exe /c cmd.exe";
        assert_eq!(found(&both, text), vec![0, 1, 2, 3, 4, 5]);
        assert!(found(&both, "").is_empty());
        assert!(found(&both, "powrshll").is_empty());
        assert_eq!(found(&both, "e"), vec![5]);
        assert_eq!(found(&both, "xexe"), vec![3, 5]);
        assert_eq!(found(&both, "cmd"), vec![0]);
    }

    #[test]
    fn one_byte_needles_are_found_whether_few_or_many() {
        // Up to three distinct bytes are searched one by one, more in one pass.
        let few = ["-", "/", "-", "cmd"];
        let many = ["-", "/", "^", "`", "é", "cmd", "`"];
        // More than 64 distinct bytes: every byte the value holds is noted.
        let owned: Vec<String> = (b'!'..=b'~').map(|b| char::from(b).to_string()).collect();
        let all: Vec<&str> = owned.iter().map(String::as_str).collect();
        for needles in [&few[..], &many[..], &all[..]] {
            let both = scanners(needles);
            for text in ["", "-", "a/b-c", "x^`y", "cmd /c", "q", "\u{e9}", "é"] {
                assert_eq!(found(&both, text), naive(needles, text), "in {text:?}");
            }
        }
    }

    #[test]
    fn the_scan_finds_what_a_naive_search_finds() {
        // Needles sharing prefixes, prefixes of each other, of every length from one
        // byte, with multi-byte characters; texts that hold them at every offset,
        // at the end, and overlapping.
        let needles = [
            "a",
            "ab",
            "abc",
            "abcd",
            "abcde",
            "bcd",
            "cd",
            "d",
            "\\temp\\",
            "\\te",
            "é",
            "éa",
            "aé",
            "x.exe",
            "-enc",
            "-e",
            " -e ",
            "zzzz",
            "ßß",
            "12345678",
            "1234567890abcdef",
            "\\windows\\system32\\",
            "\\windows\\system32\\cmd.exe",
        ];
        let both = scanners(&needles);
        let mut texts: Vec<String> = vec![
            "abcdeabcd".into(),
            "c:\\temp\\x.exe -enc aé".into(),
            "éaéa-e -e  -e ".into(),
            "zzzzzzz".into(),
            "ßßß".into(),
            "c:\\windows\\system32\\cmd.exe 1234567890abcdef0 1234567".into(),
            "no match here".into(),
        ];
        for n in needles {
            for pad in 0..6 {
                texts.push(format!("{}{n}", "q".repeat(pad)));
                texts.push(format!("{n}{}", "q".repeat(pad)));
            }
        }
        for text in &texts {
            assert_eq!(found(&both, text), naive(&needles, text), "in {text:?}");
        }
    }

    #[test]
    fn needles_given_twice_are_both_reported() {
        let needles = ["-", "ab", "abc", "abcd", "-", "ab", "abc", "abcd"];
        let both = scanners(&needles);
        assert_eq!(found(&both, "-abcd"), naive(&needles, "-abcd"));
        assert_eq!(found(&both, "-abcd"), vec![0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn many_needles_fill_the_filter_to_its_largest() {
        let owned: Vec<String> = (0..20_000).map(|i| format!("n{i:05}")).collect();
        let needles: Vec<&str> = owned.iter().map(String::as_str).collect();
        let both = scanners(&needles);
        assert_eq!(both[0].filter.len() * 64, MAX_FILTER_BITS);
        let text = "xn00042n19999yn2";
        assert_eq!(found(&both, text), naive(&needles, text));
        assert_eq!(found(&both, text), vec![42, 19_999]);
    }

    #[test]
    fn needles_whose_pairs_mostly_start_keys_make_a_dense_scanner() {
        let few = ["cmd.exe", "powershell", "-encodedcommand"];
        assert!(!NeedleScanner::build(&few).dense);
        let owned: Vec<String> = (0..4096)
            .map(|i| format!("{i:012b}").replace('0', "a").replace('1', "b"))
            .collect();
        let many: Vec<&str> = owned.iter().map(String::as_str).collect();
        let both = scanners(&many);
        assert!(both[0].dense);
        let text = "xaaaaaaaaaaaabbbbbbbbbbbbab";
        assert_eq!(found(&both, text), naive(&many, text));
    }

    proptest! {
        /// Needles and values over a few characters (one of them two bytes long),
        /// so that needles overlap, share windows and pairs, and repeat.
        #[test]
        fn any_needles_are_found_as_a_naive_search_finds_them(
            needles in proptest::collection::vec("[ab\\\\xé]{1,12}", 1..40),
            texts in proptest::collection::vec("[ab\\\\xéq]{0,60}", 1..8),
        ) {
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            let both = scanners(&needles);
            for text in &texts {
                prop_assert_eq!(found(&both, text), naive(&needles, text));
            }
        }

        /// Needles of five bytes or more, whose scans look at one position in two to
        /// eight, in values that hold them at every offset.
        #[test]
        fn long_needles_are_found_looking_at_every_few_positions(
            needles in proptest::collection::vec("[ab\\\\xé]{5,14}", 1..30),
            texts in proptest::collection::vec("[ab\\\\xéq]{0,80}", 1..8),
            pad in 0usize..9,
        ) {
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            let both = scanners(&needles);
            prop_assert!(both[0].stride > 1);
            let padded: Vec<String> = needles
                .iter()
                .map(|n| format!("{}{n}{}", "q".repeat(pad), "x".repeat(pad)))
                .collect();
            for text in texts.iter().chain(&padded) {
                prop_assert_eq!(found(&both, text), naive(&needles, text));
            }
        }
    }
}
