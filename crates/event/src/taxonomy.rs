//! The taxonomy: every normalized field name, its type and its meaning, declared once.
//!
//! Names and meanings follow the reference SIEM's taxonomy (`subject` acts on `object`
//! with `action`, ending in `status`; `src`/`dst` are the network ends; `event_src` is
//! the system that wrote the record). Fields that the reference has no name for are
//! Dozor extensions under their own prefix (`dns.*`, `http.*`, `baseline.*`, `beacon.*`)
//! and say so.
//!
//! A normalizer sets fields through the constants below, so a field that is not
//! declared here cannot be set. `dozor fields` prints this table.

use std::fmt;

/// A taxonomy field: an index into [`FIELDS`], so comparing two fields is comparing
/// two integers. Only the constants of this module (and [`field`]) make them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Field(u16);

impl Field {
    /// The dotted name, e.g. `src.ip`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The declaration of this field.
    pub fn spec(self) -> &'static FieldSpec {
        &FIELDS[usize::from(self.0)]
    }

    /// The field's index in [`FIELDS`].
    pub(crate) fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The field's place among all fields in the order of their names (as JSON
    /// objects list them), for sorting fields without comparing their names.
    pub(crate) fn name_rank(self) -> u16 {
        static RANKS: std::sync::LazyLock<Vec<u16>> = std::sync::LazyLock::new(|| {
            let mut by_name: Vec<usize> = (0..FIELDS.len()).collect();
            by_name.sort_unstable_by_key(|&i| FIELDS[i].name);
            let mut ranks = vec![0u16; FIELDS.len()];
            for (rank, i) in by_name.into_iter().enumerate() {
                ranks[i] = rank as u16;
            }
            ranks
        });
        RANKS.get(self.index()).copied().unwrap_or(u16::MAX)
    }
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Field({})", self.name())
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type a field's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Str,
    /// A whole number.
    Int,
    /// A yes/no flag.
    Bool,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A timestamp, printed as RFC 3339 UTC with milliseconds.
    Time,
    /// A list of values.
    List,
}

impl Kind {
    /// The lowercase name used in documentation.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Int => "integer",
            Kind::Bool => "boolean",
            Kind::Ip => "ip",
            Kind::Time => "timestamp",
            Kind::List => "list",
        }
    }
}

/// The declaration of one taxonomy field.
#[derive(Debug)]
pub struct FieldSpec {
    /// The dotted name.
    pub name: &'static str,
    /// The type of its values.
    pub kind: Kind,
    /// What it means.
    pub doc: &'static str,
}

/// Finds the declaration of a field by name.
pub fn lookup(name: &str) -> Option<&'static FieldSpec> {
    FIELDS.iter().find(|spec| spec.name == name)
}

/// The field named `name`, if the taxonomy declares it.
pub fn field(name: &str) -> Option<Field> {
    let at = FIELDS.iter().position(|spec| spec.name == name)?;
    u16::try_from(at).ok().map(Field)
}

macro_rules! taxonomy {
    ($( #[doc = $doc:literal] $konst:ident = $name:literal : $kind:ident; )*) => {
        /// Field indices, in declaration order.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[repr(u16)]
        enum Index { $( $konst ),* }
        $( #[doc = $doc] pub const $konst: Field = Field(Index::$konst as u16); )*
        /// How many fields are declared.
        pub(crate) const FIELD_COUNT: usize = [$( $name ),*].len();
        /// Every declared field, in documentation order.
        pub static FIELDS: &[FieldSpec] = &[
            $( FieldSpec { name: $name, kind: Kind::$kind, doc: $doc.trim_ascii() } ),*
        ];
    };
}

taxonomy! {
    /// When the event happened, as the source recorded it (UTC).
    TIME = "time": Time;
    /// When Dozor received the record (UTC).
    RECV_TIME = "recv_time": Time;
    /// The original record text, exactly as received (for binary sources, its XML or JSON rendering).
    BODY = "body": Str;
    /// The Dozor format that parsed the record (`bind`, `syslog`, `evtx`, ...).
    FORMAT = "format": Str;
    /// The event's identifier, given by Dozor when the service stores it.
    UUID = "uuid": Str;

    /// Who or what acted: `account`, `process`, `rule`, ...
    SUBJECT = "subject": Str;
    /// What was done: `start`, `create`, `remove`, `execute`, `detect`, `info`, ...
    ACTION = "action": Str;
    /// What was acted on: `process`, `connection`, `request`, `resource`, ...
    OBJECT = "object": Str;
    /// The outcome: `success`, `failure` or `ongoing`.
    STATUS = "status": Str;
    /// Why the outcome is what it is (an error text, a comment).
    REASON = "reason": Str;
    /// The source's own identifier of the event type (Windows EventID, audit action, ...).
    MSGID = "msgid": Str;
    /// How much the event matters by itself: `info`, `low`, `medium`, `high`.
    IMPORTANCE = "importance": Str;
    /// Direction of a connection relative to the reporting host: `ingress`, `egress`, `internal`.
    DIRECTION = "direction": Str;
    /// Transport protocol, lowercase (`tcp`, `udp`).
    PROTOCOL = "protocol": Str;
    /// How long the operation took, in milliseconds.
    DURATION = "duration": Int;
    /// Broad category of the event (reference taxonomy), e.g. `Process`, `Connection`.
    CATEGORY_GENERIC = "category.generic": Str;
    /// High-level category (reference taxonomy), e.g. `Availability Management`.
    CATEGORY_HIGH = "category.high": Str;
    /// Low-level category (reference taxonomy), e.g. `Control`, `State`.
    CATEGORY_LOW = "category.low": Str;

    /// The reporting system as the record names it (host name or address).
    EVENT_SRC_HOST = "event_src.host": Str;
    /// Short host name of the reporting system, lowercase.
    EVENT_SRC_HOSTNAME = "event_src.hostname": Str;
    /// Fully qualified host name of the reporting system, lowercase.
    EVENT_SRC_FQDN = "event_src.fqdn": Str;
    /// Address of the reporting system.
    EVENT_SRC_IP = "event_src.ip": Ip;
    /// Vendor of the reporting product, lowercase (`isc`, `microsoft`, `jetbrains`).
    EVENT_SRC_VENDOR = "event_src.vendor": Str;
    /// The reporting product, lowercase (`bind`, `dnsmasq`, `sysmon`, `teamcity`).
    EVENT_SRC_TITLE = "event_src.title": Str;
    /// Subsystem of the product: log channel, file or category (`queries`, `Microsoft-Windows-Sysmon/Operational`).
    EVENT_SRC_SUBSYS = "event_src.subsys": Str;
    /// Class of the reporting product (`DNS server`, `Other`, ...).
    EVENT_SRC_CATEGORY = "event_src.category": Str;
    /// Name of the source's own rule that produced the record (Sysmon `RuleName`).
    EVENT_SRC_RULE = "event_src.rule": Str;

    /// Network source address.
    SRC_IP = "src.ip": Ip;
    /// Network source port.
    SRC_PORT = "src.port": Int;
    /// Network source as named by the record (host name or address).
    SRC_HOST = "src.host": Str;
    /// Short host name of the network source, lowercase.
    SRC_HOSTNAME = "src.hostname": Str;
    /// Fully qualified host name of the network source, lowercase.
    SRC_FQDN = "src.fqdn": Str;
    /// Network destination address.
    DST_IP = "dst.ip": Ip;
    /// Network destination port.
    DST_PORT = "dst.port": Int;
    /// Network destination as named by the record (host name or address).
    DST_HOST = "dst.host": Str;
    /// Short host name of the network destination, lowercase.
    DST_HOSTNAME = "dst.hostname": Str;
    /// Fully qualified host name of the network destination, lowercase.
    DST_FQDN = "dst.fqdn": Str;

    /// Name of the acting rule, object or entity when the subject is not an account or process.
    SUBJECT_NAME = "subject.name": Str;
    /// Acting account: login name, lowercase.
    SUBJECT_ACCOUNT_NAME = "subject.account.name": Str;
    /// Acting account: domain, lowercase.
    SUBJECT_ACCOUNT_DOMAIN = "subject.account.domain": Str;
    /// Acting account: identifier (SID, numeric id, or `synthetic:name@domain`).
    SUBJECT_ACCOUNT_ID = "subject.account.id": Str;
    /// Acting account: display name.
    SUBJECT_ACCOUNT_FULLNAME = "subject.account.fullname": Str;
    /// Acting account: privilege or integrity level.
    SUBJECT_ACCOUNT_PRIVILEGES = "subject.account.privileges": Str;
    /// Acting account: logon session identifier (decimal).
    SUBJECT_ACCOUNT_SESSION_ID = "subject.account.session_id": Str;
    /// Acting process: file name, lowercase.
    SUBJECT_PROCESS_NAME = "subject.process.name": Str;
    /// Acting process: process id.
    SUBJECT_PROCESS_ID = "subject.process.id": Str;
    /// Acting process: folder of the executable, lowercase, with a trailing separator.
    SUBJECT_PROCESS_PATH = "subject.process.path": Str;
    /// Acting process: full path of the executable, lowercase.
    SUBJECT_PROCESS_FULLPATH = "subject.process.fullpath": Str;
    /// Acting process: command line.
    SUBJECT_PROCESS_CMDLINE = "subject.process.cmdline": Str;
    /// Acting process: GUID (Sysmon `ProcessGuid`, without braces).
    SUBJECT_PROCESS_GUID = "subject.process.guid": Str;

    /// Name of the object (a token's name, a file name, a zone).
    OBJECT_NAME = "object.name": Str;
    /// Type of the object (`DNS`, `user_token`, an HTTP method, ...).
    OBJECT_TYPE = "object.type": Str;
    /// Identifier of the object.
    OBJECT_ID = "object.id": Str;
    /// The request itself: a DNS name, a URL path and query.
    OBJECT_QUERY = "object.query": Str;
    /// Which property of the object the event is about.
    OBJECT_PROPERTY = "object.property": Str;
    /// Value of that property (DNS answers, a new setting, an expiry time).
    OBJECT_VALUE = "object.value": Str;
    /// Folder of the object, with a trailing separator.
    OBJECT_PATH = "object.path": Str;
    /// Full path of the object.
    OBJECT_FULLPATH = "object.fullpath": Str;

    /// Target account: login name, lowercase.
    OBJECT_ACCOUNT_NAME = "object.account.name": Str;
    /// Target account: domain, lowercase.
    OBJECT_ACCOUNT_DOMAIN = "object.account.domain": Str;
    /// Target account: identifier (SID, numeric id, or `synthetic:name@domain`).
    OBJECT_ACCOUNT_ID = "object.account.id": Str;
    /// Target account: display name.
    OBJECT_ACCOUNT_FULLNAME = "object.account.fullname": Str;
    /// Target account: privilege or integrity level.
    OBJECT_ACCOUNT_PRIVILEGES = "object.account.privileges": Str;
    /// Target account: logon session identifier (decimal).
    OBJECT_ACCOUNT_SESSION_ID = "object.account.session_id": Str;

    /// Target process: file name, lowercase.
    OBJECT_PROCESS_NAME = "object.process.name": Str;
    /// Target process: process id.
    OBJECT_PROCESS_ID = "object.process.id": Str;
    /// Target process: folder of the executable, lowercase, with a trailing separator.
    OBJECT_PROCESS_PATH = "object.process.path": Str;
    /// Target process: full path of the executable, lowercase.
    OBJECT_PROCESS_FULLPATH = "object.process.fullpath": Str;
    /// Target process: command line.
    OBJECT_PROCESS_CMDLINE = "object.process.cmdline": Str;
    /// Target process: GUID (without braces).
    OBJECT_PROCESS_GUID = "object.process.guid": Str;
    /// Target process: working directory.
    OBJECT_PROCESS_CWD = "object.process.cwd": Str;
    /// Target process: free-form description (file description, product, company; or a client description).
    OBJECT_PROCESS_META = "object.process.meta": Str;
    /// Target process: file version.
    OBJECT_PROCESS_VERSION = "object.process.version": Str;
    /// Target process: the file's original name from its version resource.
    OBJECT_PROCESS_ORIGINAL_NAME = "object.process.original_name": Str;
    /// Target process: MD5 of the executable.
    OBJECT_PROCESS_HASH_MD5 = "object.process.hash.md5": Str;
    /// Target process: SHA-1 of the executable.
    OBJECT_PROCESS_HASH_SHA1 = "object.process.hash.sha1": Str;
    /// Target process: SHA-256 of the executable.
    OBJECT_PROCESS_HASH_SHA256 = "object.process.hash.sha256": Str;
    /// Target process: import hash of the executable.
    OBJECT_PROCESS_HASH_IMPHASH = "object.process.hash.imphash": Str;
    /// Parent of the target process: file name, lowercase.
    OBJECT_PROCESS_PARENT_NAME = "object.process.parent.name": Str;
    /// Parent of the target process: process id.
    OBJECT_PROCESS_PARENT_ID = "object.process.parent.id": Str;
    /// Parent of the target process: folder, lowercase, with a trailing separator.
    OBJECT_PROCESS_PARENT_PATH = "object.process.parent.path": Str;
    /// Parent of the target process: full path, lowercase.
    OBJECT_PROCESS_PARENT_FULLPATH = "object.process.parent.fullpath": Str;
    /// Parent of the target process: command line.
    OBJECT_PROCESS_PARENT_CMDLINE = "object.process.parent.cmdline": Str;
    /// Parent of the target process: GUID (without braces).
    OBJECT_PROCESS_PARENT_GUID = "object.process.parent.guid": Str;

    /// Dozor extension. DNS query class (`IN`, `CH`).
    DNS_CLASS = "dns.class": Str;
    /// Dozor extension. DNS query type (`A`, `AAAA`, `TXT`, ...).
    DNS_TYPE = "dns.type": Str;
    /// Dozor extension. The server's own identifier of a query, linking answers to it (dnsmasq `log-queries=extra` serial).
    DNS_QUERY_ID = "dns.query_id": Int;
    /// Dozor extension. Recursion desired (BIND `+`/`-`).
    DNS_RECURSION_DESIRED = "dns.recursion_desired": Bool;
    /// Dozor extension. The query carried EDNS (BIND flag `E`).
    DNS_EDNS = "dns.edns": Bool;
    /// Dozor extension. The query came over TCP (BIND flag `T`).
    DNS_TCP = "dns.tcp": Bool;
    /// Dozor extension. DNSSEC OK was set (BIND flag `D`).
    DNS_DNSSEC_OK = "dns.dnssec_ok": Bool;
    /// Dozor extension. Checking disabled was set (BIND flag `C`).
    DNS_CHECKING_DISABLED = "dns.checking_disabled": Bool;
    /// Dozor extension. The query was signed (BIND flag `S`, TSIG/SIG(0)).
    DNS_SIGNED = "dns.signed": Bool;
    /// Dozor extension. The query carried a valid server cookie (BIND flag `V`) or a cookie (`K`).
    DNS_COOKIE = "dns.cookie": Bool;
    /// Dozor extension. The raw flag string as the server logged it (`+E(0)K`).
    DNS_FLAGS = "dns.flags": Str;
    /// Dozor extension. EDNS Client Subnet sent with the query (`198.51.100.0/24`).
    DNS_ECS = "dns.ecs": Str;
    /// Dozor extension. Answer values (addresses, names, `NXDOMAIN`, `<CNAME>`), in order.
    DNS_ANSWERS = "dns.answers": List;
    /// Dozor extension. Where the answer came from (`forwarded`, `reply`, `cached`, `config`, `/etc/hosts`, ...).
    DNS_ANSWER_SOURCE = "dns.answer_source": Str;
    /// Dozor extension. Response policy zone rewrite: the policy (`NXDOMAIN`, `NODATA`, `Local-Data`, `PASSTHRU`, ...).
    DNS_RPZ_POLICY = "dns.rpz.policy": Str;
    /// Dozor extension. Response policy zone rewrite: the rule that matched (`name.rpz.zone`).
    DNS_RPZ_RULE = "dns.rpz.rule": Str;
    /// Dozor extension. Response policy zone rewrite: the trigger type (`QNAME`, `IP`, `NSDNAME`, ...).
    DNS_RPZ_TRIGGER = "dns.rpz.trigger": Str;
    /// Dozor extension. BIND view that handled the query.
    DNS_VIEW = "dns.view": Str;

    /// Dozor extension. HTTP response status code.
    HTTP_STATUS = "http.status": Int;
    /// Dozor extension. HTTP request method.
    HTTP_METHOD = "http.method": Str;
    /// Dozor extension. HTTP request target (path and query) as logged.
    HTTP_URL = "http.url": Str;
    /// Dozor extension. HTTP protocol version (`HTTP/1.1`).
    HTTP_VERSION = "http.version": Str;
    /// Dozor extension. HTTP `User-Agent`.
    HTTP_USER_AGENT = "http.user_agent": Str;
    /// Dozor extension. HTTP `Referer`.
    HTTP_REFERRER = "http.referrer": Str;
    /// Dozor extension. Size of the response body in bytes.
    HTTP_BYTES = "http.bytes": Int;
    /// Dozor extension (first-seen analytic). The client first used the network after the host's learning period.
    BASELINE_NEW_CLIENT = "baseline.new_client": Bool;
    /// Dozor extension (first-seen analytic). The client first reached this destination after the learning period.
    BASELINE_NEW_DESTINATION = "baseline.new_destination": Bool;
    /// Dozor extension (beaconing analytic). Median interval, ms, of the regular contacts with this destination.
    BEACON_INTERVAL = "beacon.interval": Int;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_documented() {
        let mut seen = HashSet::new();
        for spec in FIELDS {
            assert!(seen.insert(spec.name), "{} declared twice", spec.name);
            assert!(!spec.doc.is_empty(), "{} has no meaning", spec.name);
        }
    }

    #[test]
    fn name_ranks_order_fields_by_name() {
        let mut fields: Vec<Field> = (0..FIELDS.len()).map(|i| Field(i as u16)).collect();
        fields.sort_unstable_by_key(|f| f.name_rank());
        let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(FIELD_COUNT, FIELDS.len());
    }

    #[test]
    fn constants_resolve_to_their_declaration() {
        assert_eq!(SRC_IP.spec().kind, Kind::Ip);
        assert_eq!(OBJECT_QUERY.spec().name, "object.query");
        assert!(lookup("no.such.field").is_none());
    }
}
