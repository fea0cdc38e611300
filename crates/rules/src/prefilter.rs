//! The literal prefilter: which rules can possibly match an event, found with one
//! scan per field for every rule's needles (see `needle_scan`) instead of evaluating
//! every rule.
//!
//! Each rule's logic is reduced, when it compiles, to a *necessary* condition over
//! atoms "this field's value (case-folded) contains this literal" ([`Req`]): every
//! equality, prefix, suffix or substring test contributes its needle, and wildcard
//! patterns and regular expressions the literals they cannot match without (see
//! `literals`); `and`/`or` carry over; anything else (`not`, numbers, networks,
//! keywords) counts as "may hold". A rule whose condition is
//! false for an event cannot match it, so only the rest are evaluated in full; the
//! result is the same as evaluating every rule.
//!
//! Per event, each field that some needle names is folded once and scanned once for
//! that field's needles, unless it holds a text it held lately (`recent_scans` then
//! gives the atoms found in it before); the atoms found select the candidate rules
//! through an inverted index, and only candidates have their condition checked. Written here
//! rather than taken from a crate: it is the core of detection throughput and depends
//! on our compiled rule representation.

use std::collections::HashMap;

use dozor_event::Event;

use crate::fields::Accessor;
use crate::literals::Need;
use crate::matcher::Folds;
use crate::needle_scan::NeedleScanner;
use crate::recent_scans::RecentScans;

/// A necessary condition of a rule over the prefilter's atoms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Req {
    /// No constraint: the rule may match whatever literals the event holds.
    True,
    /// This atom must have been found.
    Atom(u32),
    /// Every part must hold.
    All(Vec<Req>),
    /// At least one part must hold.
    Any(Vec<Req>),
    /// At least one of these atoms must have been found: an `Any` of atoms (a rule's
    /// list of needles), as (word of the hit set, bits of that word), so that a list of
    /// a hundred needles is checked in a few word operations.
    AnyAtom(Vec<(u32, u64)>),
}

impl Req {
    /// `and` of `parts`, simplified.
    pub(crate) fn all(parts: Vec<Req>) -> Req {
        let mut parts: Vec<Req> = parts.into_iter().filter(|p| *p != Req::True).collect();
        match parts.len() {
            0 => Req::True,
            1 => parts.pop().unwrap_or(Req::True),
            _ => Req::All(parts),
        }
    }

    /// `or` of `parts`, simplified (an empty `or` is left unconstrained).
    pub(crate) fn any(mut parts: Vec<Req>) -> Req {
        if parts.is_empty() || parts.contains(&Req::True) {
            return Req::True;
        }
        if parts.len() == 1 {
            return parts.pop().unwrap_or(Req::True);
        }
        let atoms: Option<Vec<u32>> = parts
            .iter()
            .map(|p| match p {
                Req::Atom(a) => Some(*a),
                _ => None,
            })
            .collect();
        match atoms {
            Some(atoms) => Req::any_atom(atoms),
            None => Req::Any(parts),
        }
    }

    /// At least one of `atoms`, as [`Req::AnyAtom`].
    fn any_atom(mut atoms: Vec<u32>) -> Req {
        atoms.sort_unstable();
        let mut words: Vec<(u32, u64)> = Vec::new();
        for atom in atoms {
            let (word, bit) = (atom / 64, 1u64 << (atom % 64));
            match words.last_mut() {
                Some((w, bits)) if *w == word => *bits |= bit,
                _ => words.push((word, bit)),
            }
        }
        Req::AnyAtom(words)
    }

    fn holds(&self, hits: &[u64]) -> bool {
        match self {
            Req::True => true,
            Req::Atom(a) => bit(hits, *a as usize),
            Req::All(parts) => parts.iter().all(|p| p.holds(hits)),
            Req::Any(parts) => parts.iter().any(|p| p.holds(hits)),
            Req::AnyAtom(words) => words
                .iter()
                .any(|(w, bits)| hits.get(*w as usize).is_some_and(|h| h & bits != 0)),
        }
    }

    /// Atoms at least one of which every event that satisfies this condition holds,
    /// chosen to be few and unlikely (long needles are rarer than short ones), with
    /// their estimated cost; `None` when there are none (the condition is `True`).
    /// A rule is a candidate only when one of these atoms is found.
    fn trigger(&self, lens: &[usize]) -> Option<(Vec<u32>, f64)> {
        match self {
            Req::True => None,
            Req::Atom(a) => Some((vec![*a], atom_cost(lens, *a))),
            Req::AnyAtom(words) => {
                let atoms: Vec<u32> = words
                    .iter()
                    .flat_map(|&(w, bits)| {
                        (0..64u32)
                            .filter(move |b| bits & (1 << b) != 0)
                            .map(move |b| w * 64 + b)
                    })
                    .collect();
                let cost = atoms.iter().map(|a| atom_cost(lens, *a)).sum();
                Some((atoms, cost))
            }
            // Any part's trigger will do: take the cheapest.
            Req::All(parts) => parts
                .iter()
                .filter_map(|p| p.trigger(lens))
                .min_by(|a, b| a.1.total_cmp(&b.1)),
            // Every part may be the one that holds: all their triggers are needed.
            Req::Any(parts) => {
                let mut atoms = Vec::new();
                let mut cost = 0.0;
                for part in parts {
                    let (more, c) = part.trigger(lens)?;
                    atoms.extend(more);
                    cost += c;
                }
                Some((atoms, cost))
            }
        }
    }
}

/// The estimated cost of triggering on atom `a`: long needles are rarer.
fn atom_cost(lens: &[usize], a: u32) -> f64 {
    let len = lens.get(a as usize).copied().unwrap_or(1).max(1);
    1.0 + 8.0 / len as f64
}

/// Whether bit `i` of the bit set `bits` is set (a bit past its end is not).
#[inline(always)]
pub(crate) fn bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// Sets bit `i` of the bit set `bits` (a bit past its end is ignored).
pub(crate) fn set(bits: &mut [u64], i: usize) {
    if let Some(w) = bits.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

/// The atoms rules use while they compile: (field, needle) pairs, numbered.
#[derive(Debug, Default)]
pub(crate) struct Atoms {
    fields: Vec<(Accessor, HashMap<String, u32>)>,
    count: u32,
    /// The needle length of each atom.
    lens: Vec<usize>,
    /// The atoms handed out since [`Atoms::take_used`] was last called.
    used: Vec<u32>,
}

impl Atoms {
    /// The atom "`field` contains `needle`" (`needle` already case-folded).
    pub(crate) fn atom(&mut self, field: &Accessor, needle: &str) -> Req {
        if needle.is_empty() {
            return Req::True;
        }
        let index = match self.fields.iter().position(|(f, _)| f == field) {
            Some(i) => i,
            None => {
                self.fields.push((field.clone(), HashMap::new()));
                self.fields.len() - 1
            }
        };
        let next = self.count;
        let id = *self.fields[index]
            .1
            .entry(needle.to_owned())
            .or_insert(next);
        if id == next {
            self.count += 1;
            self.lens.push(needle.len());
        }
        self.used.push(id);
        Req::Atom(id)
    }

    /// Every atom handed out since the last call: one rule's, whether its condition
    /// needs them or its matchers only read their answers (under `not`, say).
    pub(crate) fn take_used(&mut self) -> Vec<u32> {
        let mut used = std::mem::take(&mut self.used);
        used.sort_unstable();
        used.dedup();
        used
    }

    /// The condition `need` places on `field`, in atoms.
    pub(crate) fn need(&mut self, field: &Accessor, need: &Need) -> Req {
        match need {
            Need::True => Req::True,
            Need::Lit(text) => self.atom(field, text),
            Need::All(parts) => Req::all(parts.iter().map(|p| self.need(field, p)).collect()),
            Need::Any(parts) => Req::any(parts.iter().map(|p| self.need(field, p)).collect()),
        }
    }
}

/// The compiled prefilter of a rule set.
#[derive(Debug)]
pub(crate) struct Prefilter {
    /// Per field: its needle scanner and the atom of each needle.
    fields: Vec<(Accessor, NeedleScanner, Vec<u32>)>,
    /// Per rule group (see [`Prefilter::build`]): the fields its rules read atoms of,
    /// one bit per entry of `fields`. An event is scanned only in the fields of the
    /// groups its logsource selects.
    group_fields: Vec<Vec<u64>>,
    atom_words: usize,
    rule_words: usize,
    /// Rules a hit of each atom may make candidates (see [`Req::trigger`]).
    atom_rules: Vec<Vec<u32>>,
    /// Rules that are always candidates (no constraint).
    always: Vec<u64>,
    reqs: Vec<Req>,
}

/// Per-event scratch space, kept between events to avoid allocating.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    candidates: Vec<u64>,
    /// Rules whose condition this event's scan has checked.
    checked: Vec<u64>,
    /// Per field, where the last event held it among its raw fields.
    places: Vec<usize>,
    /// Per field, the atoms found in its last texts.
    recent: Vec<RecentScans>,
}

impl Prefilter {
    /// Builds the automata for `atoms` and the index of `reqs` (one per rule);
    /// `used[r]` holds every atom rule `r`'s matchers read, and `groups` the rules of
    /// each logsource group.
    pub(crate) fn build(
        atoms: Atoms,
        reqs: Vec<Req>,
        used: &[Vec<u32>],
        groups: &[&[usize]],
    ) -> Self {
        let lens = atoms.lens;
        let mut field_of_atom = vec![0usize; atoms.count as usize];
        for (f, (_, needles)) in atoms.fields.iter().enumerate() {
            for id in needles.values() {
                field_of_atom[*id as usize] = f;
            }
        }
        let field_words = atoms.fields.len().div_ceil(64);
        let group_fields = groups
            .iter()
            .map(|members| {
                let mut mask = vec![0u64; field_words];
                for &r in *members {
                    for &atom in used.get(r).map_or(&[][..], Vec::as_slice) {
                        set(&mut mask, field_of_atom[atom as usize]);
                    }
                }
                mask
            })
            .collect();
        let mut fields = Vec::new();
        for (accessor, needles) in atoms.fields {
            let mut pairs: Vec<(String, u32)> = needles.into_iter().collect();
            pairs.sort_by_key(|(_, id)| *id);
            let needles: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
            let scanner = NeedleScanner::build(&needles);
            fields.push((
                accessor,
                scanner,
                pairs.into_iter().map(|(_, id)| id).collect(),
            ));
        }
        let atom_count = atoms.count as usize;
        let mut atom_rules = vec![Vec::new(); atom_count];
        let rule_words = reqs.len().div_ceil(64);
        let mut always = vec![0u64; rule_words];
        for (r, req) in reqs.iter().enumerate() {
            let Some((mut used, _)) = req.trigger(&lens) else {
                set(&mut always, r);
                continue;
            };
            used.sort_unstable();
            used.dedup();
            for a in used {
                atom_rules[a as usize].push(r as u32);
            }
        }
        Self {
            fields,
            group_fields,
            atom_words: atom_count.div_ceil(64),
            rule_words,
            atom_rules,
            always,
            reqs,
        }
    }

    /// The fields the rules of the groups `selected` read, into `mask`.
    pub(crate) fn fields_of(&self, selected: &[usize], mask: &mut Vec<u64>) {
        mask.clear();
        mask.resize(self.fields.len().div_ceil(64), 0);
        for &g in selected {
            if let Some(fields) = self.group_fields.get(g) {
                for (word, bits) in mask.iter_mut().zip(fields) {
                    *word |= bits;
                }
            }
        }
    }

    /// Marks in `scratch` the rules that may match `event`, and in `folds` the atoms
    /// found (which answer the rules' literal tests later), scanning the fields in
    /// `fields` (see [`Prefilter::fields_of`]); rules that read other fields' atoms
    /// must not be evaluated.
    pub(crate) fn scan(
        &self,
        event: &Event,
        fields: &[u64],
        scratch: &mut Scratch,
        folds: &mut Folds,
    ) {
        folds.clear();
        folds.hits_mut().reset(self.atom_words);
        scratch.places.resize(self.fields.len(), 0);
        scratch
            .recent
            .resize_with(self.fields.len(), RecentScans::default);
        for (f, (accessor, scanner, ids)) in self.fields.iter().enumerate() {
            if !bit(fields, f) {
                continue;
            }
            let Some(value) = accessor.get_hinted(event, &mut scratch.places[f]) else {
                continue;
            };
            let recent = &mut scratch.recent[f];
            folds.scan_texts(value, |text, hits| {
                recent.atoms(
                    text,
                    |report| scanner.scan(text.as_bytes(), |pattern| report(ids[pattern])),
                    |atom| hits.insert(atom as usize),
                );
            });
        }
        let hits = folds.hits_mut();
        scratch.candidates.clear();
        scratch.candidates.extend_from_slice(&self.always);
        scratch.candidates.resize(self.rule_words, 0);
        // A rule several found atoms trigger has its condition checked once.
        scratch.checked.clear();
        scratch.checked.resize(self.rule_words, 0);
        for (word, mut bits) in hits.words() {
            while bits != 0 {
                let atom = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                for &r in &self.atom_rules[atom] {
                    let r = r as usize;
                    if bit(&scratch.checked, r) {
                        continue;
                    }
                    set(&mut scratch.checked, r);
                    if self.reqs[r].holds(hits.bits()) {
                        set(&mut scratch.candidates, r);
                    }
                }
            }
        }
    }

    /// The rules that may match the event last scanned into `scratch`, as a bit set.
    pub(crate) fn candidates(scratch: &Scratch) -> &[u64] {
        &scratch.candidates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplification() {
        assert_eq!(Req::all(vec![Req::True, Req::Atom(1)]), Req::Atom(1));
        assert_eq!(Req::any(vec![Req::True, Req::Atom(1)]), Req::True);
        assert_eq!(Req::any(vec![]), Req::True);
        assert_eq!(Req::all(vec![]), Req::True);
    }

    #[test]
    fn triggers_are_the_cheapest_necessary_atoms() {
        let lens = [1, 20, 20, 3];
        let req = Req::All(vec![
            Req::Any(vec![Req::Atom(0), Req::Atom(3)]),
            Req::Any(vec![Req::Atom(1), Req::Atom(2)]),
        ]);
        assert_eq!(req.trigger(&lens).map(|t| t.0), Some(vec![1, 2]));
        let req = Req::Any(vec![Req::Atom(0), Req::All(vec![Req::Atom(1), Req::True])]);
        assert_eq!(req.trigger(&lens).map(|t| t.0), Some(vec![0, 1]));
        assert_eq!(Req::Any(vec![Req::Atom(0), Req::True]).trigger(&lens), None);
        assert_eq!(Req::True.trigger(&lens), None);
    }

    #[test]
    fn lists_of_atoms_are_word_masks() {
        let req = Req::any(vec![Req::Atom(3), Req::Atom(70), Req::Atom(1)]);
        assert_eq!(req, Req::AnyAtom(vec![(0, 0b1010), (1, 1 << 6)]));
        let mut hits = vec![0u64; 2];
        assert!(!req.holds(&hits));
        set(&mut hits, 70);
        assert!(req.holds(&hits));
        let lens = [1; 80];
        assert_eq!(req.trigger(&lens).map(|t| t.0), Some(vec![1, 3, 70]));
        let mixed = Req::any(vec![
            Req::Atom(1),
            Req::All(vec![Req::Atom(2), Req::Atom(3)]),
        ]);
        assert!(matches!(mixed, Req::Any(_)));
    }

    #[test]
    fn atoms_are_shared_per_field_and_needle() {
        let mut atoms = Atoms::default();
        let image = Accessor::Raw("Image".into());
        let command = Accessor::Raw("CommandLine".into());
        assert_eq!(atoms.atom(&image, "\\cmd.exe"), Req::Atom(0));
        assert_eq!(atoms.atom(&command, "\\cmd.exe"), Req::Atom(1));
        assert_eq!(atoms.atom(&image, "\\cmd.exe"), Req::Atom(0));
        assert_eq!(atoms.atom(&image, ""), Req::True);
    }
}
