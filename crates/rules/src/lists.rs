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

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::RuleError;

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
    entries: Vec<String>,
}

/// Every loaded list, by name.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    lists: BTreeMap<String, Vec<Entry>>,
}

impl Lists {
    /// Adds (or replaces) the list in the YAML `text` of the file `file`.
    pub fn add_file(&mut self, file: &str, text: &str) -> Result<(), RuleError> {
        let list: ListFile = yaml_serde::from_str(text).map_err(|e| RuleError::Content {
            file: file.to_owned(),
            reason: e.to_string(),
        })?;
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

    /// Adds a list of plain Sigma strings.
    pub fn add(&mut self, name: &str, entries: impl IntoIterator<Item = String>) {
        self.lists.insert(
            name.to_owned(),
            entries.into_iter().map(Entry::Text).collect(),
        );
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
