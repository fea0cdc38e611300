//! Lists (the reference product's "table lists"): named sets of values that rules use
//! through `|expand` placeholders (`%telegram_clients%`). A list file is YAML:
//!
//! ```yaml
//! name: telegram_clients
//! description: Telegram's own clients
//! entries:
//!   - '*\Telegram Desktop\Telegram.exe'   # a Sigma string: * and ? are wildcards
//!   - 're:^C:\\Users\\[^\\]+\\AppData\\Roaming\\Telegram Desktop\\Telegram\.exe$'
//!   - 'cidr:149.154.160.0/20'
//! ```
//!
//! A list with `kind: domains` holds DNS names (`api.telegram.org`) and whole domains
//! (`*.ngrok.io`, its subdomains) only; `dozor export blocklist` writes such lists
//! for DNS servers and proxies.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::RuleError;

/// Whether `entry` is a DNS name (`api.telegram.org`) or a domain's subdomains
/// (`*.ngrok.io`): dot-separated labels of letters, digits, `-` and `_`, at least two.
pub(crate) fn is_domain_pattern(entry: &str) -> bool {
    let name = entry.strip_prefix("*.").unwrap_or(entry);
    let labels: Vec<&str> = name.split('.').collect();
    labels.len() >= 2
        && name.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A Sigma string (wildcards allowed).
    Text(String),
    /// A regular expression (`re:` prefix).
    Regex(String),
    /// A network (`cidr:` prefix).
    Cidr(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    kind: Option<ListKind>,
    entries: Vec<String>,
}

/// What a list's entries are, when the list says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ListKind {
    /// DNS names and `*.`-prefixed domains.
    Domains,
}

/// Every loaded list, by name.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    lists: BTreeMap<String, Vec<Entry>>,
    /// The lists of `kind: domains`.
    domain_lists: BTreeMap<String, Vec<String>>,
}

impl Lists {
    /// Adds (or replaces) the list in the YAML `text` of the file `file`.
    pub fn add_file(&mut self, file: &str, text: &str) -> Result<(), RuleError> {
        let list: ListFile = yaml_serde::from_str(text).map_err(|e| RuleError::Content {
            file: file.to_owned(),
            reason: e.to_string(),
        })?;
        if list.kind == Some(ListKind::Domains) {
            if let Some(bad) = list.entries.iter().find(|e| !is_domain_pattern(e)) {
                return Err(RuleError::Content {
                    file: file.to_owned(),
                    reason: format!("{bad:?} is not a DNS name or *.domain in a domains list"),
                });
            }
            self.domain_lists
                .insert(list.name.clone(), list.entries.clone());
        } else {
            self.domain_lists.remove(&list.name);
        }
        let entries = list
            .entries
            .into_iter()
            .map(|e| {
                if let Some(re) = e.strip_prefix("re:") {
                    Entry::Regex(re.to_owned())
                } else if let Some(net) = e.strip_prefix("cidr:") {
                    Entry::Cidr(net.to_owned())
                } else {
                    Entry::Text(e)
                }
            })
            .collect();
        self.lists.insert(list.name, entries);
        Ok(())
    }

    /// The lists of DNS names (`kind: domains`), by name: entries are names or
    /// `*.domain` (any name under the domain).
    pub fn domain_lists(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.domain_lists
            .iter()
            .map(|(name, entries)| (name.as_str(), entries.as_slice()))
    }

    /// Adds a list of plain Sigma strings.
    pub fn add(&mut self, name: &str, entries: impl IntoIterator<Item = String>) {
        self.domain_lists.remove(name);
        self.lists.insert(
            name.to_owned(),
            entries.into_iter().map(Entry::Text).collect(),
        );
    }

    /// Every list's plain entries (neither `re:` nor `cidr:`), by name.
    pub fn text_lists(&self) -> impl Iterator<Item = (&str, Vec<String>)> {
        self.lists.iter().map(|(name, entries)| {
            let texts = entries
                .iter()
                .filter_map(|e| match e {
                    Entry::Text(text) => Some(text.clone()),
                    _ => None,
                })
                .collect();
            (name.as_str(), texts)
        })
    }

    /// The entries of the list `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&[Entry]> {
        self.lists.get(name).map(Vec::as_slice)
    }

    /// The names of all lists.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lists.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_patterns() {
        for good in [
            "api.telegram.org",
            "*.ngrok.io",
            "1drv.ms",
            "_dmarc.example.com",
        ] {
            assert!(is_domain_pattern(good), "{good}");
        }
        for bad in [
            "localhost",
            "*.",
            "a..b",
            "-a.b",
            "a b.c",
            "*.*.x.y",
            "x.y.",
            "*x.y",
        ] {
            assert!(!is_domain_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn domains_lists_are_checked_and_listed() {
        let mut lists = Lists::default();
        let good = "name: d\nkind: domains\nentries: ['api.telegram.org', '*.ngrok.io']\n";
        lists.add_file("d.yml", good).expect("a domains list");
        let found: Vec<_> = lists.domain_lists().collect();
        assert_eq!(
            found,
            [(
                "d",
                &["api.telegram.org".to_owned(), "*.ngrok.io".to_owned()][..]
            )]
        );
        let bad = "name: e\nkind: domains\nentries: ['C:\\x.exe']\n";
        assert!(lists.add_file("e.yml", bad).is_err());
        lists.add("d", ["x".to_owned()]);
        assert_eq!(lists.domain_lists().count(), 0);
    }
}
