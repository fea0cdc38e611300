//! Conditions: the boolean expression over a rule's named detections, compiled so
//! that names and `1 of selection_*` patterns are resolved once.

use rsigma_parser::{ConditionExpr, Quantifier, SelectorPattern};

use crate::error::{RuleError, invalid};
use crate::prefilter::Req;

/// A compiled condition over detections numbered by their position.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Detection(usize),
    /// At least `n` of the detections match.
    AtLeast(usize, Vec<usize>),
    /// All of the detections match.
    AllOf(Vec<usize>),
}

impl Cond {
    /// Compiles `expr` for the detections named `names`.
    pub(crate) fn compile(expr: &ConditionExpr, names: &[String]) -> Result<Self, RuleError> {
        Ok(match expr {
            ConditionExpr::And(items) => Cond::And(
                items
                    .iter()
                    .map(|i| Cond::compile(i, names))
                    .collect::<Result<_, _>>()?,
            ),
            ConditionExpr::Or(items) => Cond::Or(
                items
                    .iter()
                    .map(|i| Cond::compile(i, names))
                    .collect::<Result<_, _>>()?,
            ),
            ConditionExpr::Not(inner) => Cond::Not(Box::new(Cond::compile(inner, names)?)),
            ConditionExpr::Identifier(name) => {
                Cond::Detection(names.iter().position(|n| n == name).ok_or_else(|| {
                    invalid(format!("condition names unknown detection {name:?}"))
                })?)
            }
            ConditionExpr::Selector {
                quantifier,
                pattern,
            } => {
                let matched: Vec<usize> = names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| match pattern {
                        // `them` leaves out detections whose name starts with `_`.
                        SelectorPattern::Them => !n.starts_with('_'),
                        SelectorPattern::Pattern(p) => glob(p, n),
                    })
                    .map(|(i, _)| i)
                    .collect();
                if matched.is_empty() {
                    return Err(invalid(format!(
                        "condition pattern {pattern} matches no detection"
                    )));
                }
                match quantifier {
                    Quantifier::Any => Cond::AtLeast(1, matched),
                    Quantifier::All => Cond::AllOf(matched),
                    Quantifier::Count(n) => {
                        Cond::AtLeast(usize::try_from(*n).unwrap_or(usize::MAX), matched)
                    }
                }
            }
        })
    }

    /// Evaluates with `detection(i)` telling whether detection `i` matched.
    /// A necessary condition for the prefilter, from those of the detections.
    pub(crate) fn req(&self, detections: &[Req]) -> Req {
        let of = |i: &usize| detections.get(*i).cloned().unwrap_or(Req::True);
        match self {
            Cond::And(items) => Req::all(items.iter().map(|i| i.req(detections)).collect()),
            Cond::Or(items) => Req::any(items.iter().map(|i| i.req(detections)).collect()),
            Cond::Not(_) => Req::True,
            Cond::Detection(i) => of(i),
            Cond::AtLeast(0, _) => Req::True,
            Cond::AtLeast(_, items) => Req::any(items.iter().map(of).collect()),
            Cond::AllOf(items) => Req::all(items.iter().map(of).collect()),
        }
    }

    pub(crate) fn eval(&self, detection: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Cond::And(items) => items.iter().all(|i| i.eval(detection)),
            Cond::Or(items) => items.iter().any(|i| i.eval(detection)),
            Cond::Not(inner) => !inner.eval(detection),
            Cond::Detection(i) => detection(*i),
            Cond::AtLeast(n, items) => {
                let mut hits = 0;
                for i in items {
                    if detection(*i) {
                        hits += 1;
                        if hits >= *n {
                            return true;
                        }
                    }
                }
                false
            }
            Cond::AllOf(items) => items.iter().all(|i| detection(*i)),
        }
    }
}

/// Sigma selector patterns: `*` matches any run of characters, case-sensitively.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_globs() {
        assert!(glob("selection_*", "selection_img"));
        assert!(!glob("selection_*", "filter_img"));
        assert!(glob("*_main*", "filter_main_x"));
        assert!(glob("them", "them"));
    }

    #[test]
    fn them_skips_underscored_names() -> Result<(), RuleError> {
        let names = vec!["sel".to_owned(), "_helper".to_owned()];
        let expr =
            rsigma_parser::parse_condition("all of them").map_err(|e| invalid(e.to_string()))?;
        let cond = Cond::compile(&expr, &names)?;
        assert!(cond.eval(&mut |i| i == 0));
        Ok(())
    }
}
