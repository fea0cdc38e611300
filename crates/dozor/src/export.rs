//! `dozor export blocklist`: the DNS names of the abused web services the rules watch
//! (the `kind: domains` lists), in the syntax of the DNS server or proxy that blocks
//! them: a BIND response-policy zone, dnsmasq `address=` lines, or a Squid ACL. This
//! is the M1021/M1031 side of the pack: what the rules alert on can also be refused.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use dozor_rules::{Lists, builtin_files, yaml_files};

/// `dozor export ...`
#[derive(clap::Subcommand)]
pub enum Command {
    /// Write the watched web services' DNS names as a block list.
    Blocklist(BlocklistArgs),
}

/// Arguments of `dozor export blocklist`.
#[derive(clap::Args)]
pub struct BlocklistArgs {
    /// The block list's syntax.
    #[arg(long, value_enum)]
    format: BlockFormat,
    /// List files or directories to add to (or replace) the shipped lists.
    #[arg(long = "lists", value_name = "PATH")]
    lists: Vec<PathBuf>,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Block-list syntaxes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum BlockFormat {
    /// A BIND response-policy zone (`response-policy { zone "..."; };`): NXDOMAIN.
    Rpz,
    /// dnsmasq configuration lines: NXDOMAIN for the domain and every name under it.
    Dnsmasq,
    /// A Squid ACL and the `http_access deny` that uses it.
    Squid,
}

/// One blocked name: a DNS name, or every name under a domain (`*.domain`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Blocked {
    name: String,
    subdomains: bool,
}

/// Runs `dozor export`.
pub fn run(command: &Command) -> Result<i32> {
    let Command::Blocklist(args) = command;
    let lists = load_lists(&args.lists)?;
    let blocked = blocked_names(&lists);
    if blocked.is_empty() {
        anyhow::bail!("no `kind: domains` list to export");
    }
    let sources: Vec<&str> = lists.domain_lists().map(|(name, _)| name).collect();
    let text = match args.format {
        BlockFormat::Rpz => rpz(
            &blocked,
            &sources,
            dozor_event::Timestamp::now().as_second(),
        ),
        BlockFormat::Dnsmasq => dnsmasq(&blocked, &sources),
        BlockFormat::Squid => squid(&blocked, &sources),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("cannot write output")?,
    }
    eprintln!(
        "dozor: {} names from {} list(s): {}",
        blocked.len(),
        sources.len(),
        sources.join(", ")
    );
    Ok(0)
}

/// The shipped lists, then those under `paths` (a list of the same name replaces).
fn load_lists(paths: &[PathBuf]) -> Result<Lists> {
    let mut lists = Lists::default();
    for (path, text) in builtin_files() {
        if path.starts_with("lists/") {
            lists.add_file(path, text)?;
        }
    }
    for root in paths {
        for file in yaml_files(root).with_context(|| format!("cannot read {}", root.display()))? {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            lists.add_file(&file.display().to_string(), &text)?;
        }
    }
    Ok(lists)
}

/// Every name of the domains lists, lowercased, without duplicates, sorted.
fn blocked_names(lists: &Lists) -> Vec<Blocked> {
    let set: BTreeSet<Blocked> = lists
        .domain_lists()
        .flat_map(|(_, entries)| entries)
        .map(|entry| {
            let entry = entry.to_ascii_lowercase();
            match entry.strip_prefix("*.") {
                Some(domain) => Blocked {
                    name: domain.to_owned(),
                    subdomains: true,
                },
                None => Blocked {
                    name: entry,
                    subdomains: false,
                },
            }
        })
        .collect();
    set.into_iter().collect()
}

/// Whether `name` is `domain` or a name under it.
fn within(name: &str, domain: &str) -> bool {
    name == domain
        || (name.len() > domain.len()
            && name.ends_with(domain)
            && name.as_bytes()[name.len() - domain.len() - 1] == b'.')
}

/// The domains that block `blocked` where a domain always covers the names under it
/// (dnsmasq, and Squid's `.domain`): those not already under another.
fn covering_domains(domains: &BTreeSet<&str>) -> Vec<String> {
    domains
        .iter()
        .filter(|d| !domains.iter().any(|o| o != *d && within(d, o)))
        .map(|d| (*d).to_owned())
        .collect()
}

fn header(comment: &str, sources: &[&str]) -> String {
    format!(
        "{comment} Dozor block list: web services abused for command and control (T1102),\n\
         {comment} from the list(s) {}. Written by `dozor export blocklist`.\n",
        sources.join(", ")
    )
}

/// A response-policy zone: `CNAME .` answers NXDOMAIN for a name, `*.` for the names
/// under a domain. Names are relative to the zone's origin, as RPZ requires.
fn rpz(blocked: &[Blocked], sources: &[&str], serial: i64) -> String {
    let mut out = header(";", sources);
    out.push_str(";\n; named.conf: zone \"rpz.dozor\" { type primary; file \"...\"; };\n");
    out.push_str(";            options { response-policy { zone \"rpz.dozor\"; }; };\n");
    out.push_str("$TTL 300\n");
    out.push_str(&format!(
        "@ IN SOA localhost. hostmaster.localhost. {} 3600 600 86400 300\n",
        serial.rem_euclid(1 << 32)
    ));
    out.push_str("@ IN NS localhost.\n");
    for b in blocked {
        let owner = if b.subdomains {
            format!("*.{}", b.name)
        } else {
            b.name.clone()
        };
        out.push_str(&format!("{owner} CNAME .\n"));
    }
    out
}

/// dnsmasq `address=/domain/` lines: NXDOMAIN for the domain and every name under it
/// (dnsmasq cannot block a name but not its subdomains, so exact names block theirs too).
fn dnsmasq(blocked: &[Blocked], sources: &[&str]) -> String {
    let mut out = header("#", sources);
    let domains: BTreeSet<&str> = blocked.iter().map(|b| b.name.as_str()).collect();
    for domain in covering_domains(&domains) {
        out.push_str(&format!("address=/{domain}/\n"));
    }
    out
}

/// A Squid `dstdomain` ACL (`.domain` is the domain and every name under it) and the
/// rule that denies it; include it before the `http_access allow` lines.
fn squid(blocked: &[Blocked], sources: &[&str]) -> String {
    let mut out = header("#", sources);
    let wildcards: BTreeSet<&str> = blocked
        .iter()
        .filter(|b| b.subdomains)
        .map(|b| b.name.as_str())
        .collect();
    let mut entries: Vec<String> = covering_domains(&wildcards)
        .into_iter()
        .map(|d| format!(".{d}"))
        .collect();
    entries.extend(
        blocked
            .iter()
            .filter(|b| !b.subdomains && !wildcards.iter().any(|w| within(&b.name, w)))
            .map(|b| b.name.clone()),
    );
    entries.sort_by(|a, b| a.trim_start_matches('.').cmp(b.trim_start_matches('.')));
    for entry in entries {
        out.push_str(&format!("acl dozor_blocklist dstdomain {entry}\n"));
    }
    out.push_str("http_access deny dozor_blocklist\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(entries: &[&str]) -> Vec<Blocked> {
        let mut lists = Lists::default();
        let text = format!(
            "name: t\nkind: domains\nentries: [{}]\n",
            entries
                .iter()
                .map(|e| format!("'{e}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        lists.add_file("t.yml", &text).expect("a domains list");
        blocked_names(&lists)
    }

    #[test]
    fn names_under_a_blocked_domain_are_left_out_where_domains_cover_them() {
        let b = blocked(&[
            "discord.com",
            "*.discord.com",
            "cdn.discordapp.com",
            "*.discordapp.com",
            "API.Telegram.org",
            "hooks.slack.com",
        ]);
        let dnsmasq = dnsmasq(&b, &["t"]);
        let lines: Vec<&str> = dnsmasq.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "address=/api.telegram.org/",
                "address=/discord.com/",
                "address=/discordapp.com/",
                "address=/hooks.slack.com/"
            ]
        );
        let squid = squid(&b, &["t"]);
        let lines: Vec<&str> = squid.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "acl dozor_blocklist dstdomain api.telegram.org",
                "acl dozor_blocklist dstdomain .discord.com",
                "acl dozor_blocklist dstdomain .discordapp.com",
                "acl dozor_blocklist dstdomain hooks.slack.com",
                "http_access deny dozor_blocklist"
            ]
        );
        let rpz = rpz(&b, &["t"], 7);
        assert!(
            rpz.contains("\ndiscord.com CNAME .\n*.discord.com CNAME .\n"),
            "{rpz}"
        );
        assert!(rpz.contains("\napi.telegram.org CNAME .\n"), "{rpz}");
        assert!(rpz.contains(" 7 3600 600 86400 300\n"), "{rpz}");
    }

    #[test]
    fn within_needs_a_label_boundary() {
        assert!(within("a.b.c", "b.c"));
        assert!(within("b.c", "b.c"));
        assert!(!within("ab.c", "b.c"));
    }
}
