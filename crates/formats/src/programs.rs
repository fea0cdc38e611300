//! Which parser reads the messages of which program, whether they come inside syslog
//! or from the program's own log file. Adding a program is one line here.

use crate::bind::BindMessages;
use crate::dnsmasq::DnsmasqMessages;
use crate::message::MessageParser;
use crate::teamcity::TeamCityMessages;

/// A fresh message parser for the syslog program (APP-NAME or TAG) `program`, or
/// `None` when Dozor has no parser for it.
pub fn parser_for(program: &str) -> Option<Box<dyn MessageParser>> {
    let is = |name: &str| program.eq_ignore_ascii_case(name);
    let starts = |prefix: &str| {
        program
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    if is("named") || is("bind") || is("named-pkcs11") {
        Some(Box::new(BindMessages))
    } else if starts("dnsmasq") {
        Some(Box::new(DnsmasqMessages::default()))
    } else if starts("teamcity") {
        Some(Box::new(TeamCityMessages::new(program)))
    } else {
        None
    }
}
