//! A set of field names that answers "certainly absent" or "maybe present" in a few
//! instructions: records have a few dozen fields kept in vectors, and a lookup or an
//! insertion scans them only for a name the filter may hold.

/// 256 bits, one set per name added (from its length and its first, middle and last
/// bytes): the forty-odd fields of a Windows record seldom share one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameFilter([u64; 4]);

impl NameFilter {
    /// Adds `name`, returning whether it may have been added before (`false`: it
    /// certainly was not).
    pub fn insert(&mut self, name: &str) -> bool {
        let (word, mask) = bit(name);
        let before = self.0[word] & mask != 0;
        self.0[word] |= mask;
        before
    }

    /// Whether `name` may have been added (`false`: it certainly was not).
    pub fn may_contain(&self, name: &str) -> bool {
        let (word, mask) = bit(name);
        self.0[word] & mask != 0
    }
}

/// The word and mask of `name`'s bit.
fn bit(name: &str) -> (usize, u64) {
    let bytes = name.as_bytes();
    let at = |i: usize| u32::from(bytes.get(i).copied().unwrap_or(0));
    let len = bytes.len();
    let mixed = (len as u32) ^ at(0) << 8 ^ at(len / 2) << 16 ^ at(len.wrapping_sub(1)) << 24;
    let bit = (mixed.wrapping_mul(0x9E37_79B1) >> 24) as usize;
    (bit / 64, 1 << (bit % 64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_names_are_maybe_present_and_others_mostly_absent() {
        let mut filter = NameFilter::default();
        let names: Vec<String> = (0..40).map(|i| format!("Field{i}Name")).collect();
        for name in &names {
            filter.insert(name);
        }
        assert!(names.iter().all(|n| filter.may_contain(n)));
        assert!(filter.insert("Field7Name"));
        let others = (0..1000)
            .filter(|i| filter.may_contain(&format!("Other{i}")))
            .count();
        assert!(others < 400, "{others} of 1000 absent names pass");
        assert!(!NameFilter::default().may_contain(""));
    }
}
