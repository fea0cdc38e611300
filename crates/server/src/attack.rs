//! MITRE ATT&CK names for the technique ids rules carry (Enterprise matrix, v16;
//! source: attack.mitre.org). Ids without an entry are shown as ids.

/// Technique and sub-technique names by id.
const TECHNIQUES: &[(&str, &str)] = &[
    ("T1005", "Data from Local System"),
    ("T1027", "Obfuscated Files or Information"),
    ("T1041", "Exfiltration Over C2 Channel"),
    ("T1053", "Scheduled Task/Job"),
    ("T1059", "Command and Scripting Interpreter"),
    ("T1059.001", "PowerShell"),
    ("T1059.003", "Windows Command Shell"),
    ("T1059.005", "Visual Basic"),
    ("T1059.006", "Python"),
    ("T1059.007", "JavaScript"),
    ("T1071", "Application Layer Protocol"),
    ("T1071.001", "Web Protocols"),
    ("T1071.004", "DNS"),
    ("T1090", "Proxy"),
    ("T1102", "Web Service"),
    ("T1102.001", "Dead Drop Resolver"),
    ("T1102.002", "Bidirectional Communication"),
    ("T1102.003", "One-Way Communication"),
    ("T1105", "Ingress Tool Transfer"),
    ("T1190", "Exploit Public-Facing Application"),
    ("T1195", "Supply Chain Compromise"),
    ("T1195.002", "Compromise Software Supply Chain"),
    ("T1204", "User Execution"),
    ("T1218", "System Binary Proxy Execution"),
    ("T1543", "Create or Modify System Process"),
    ("T1547", "Boot or Logon Autostart Execution"),
    ("T1567", "Exfiltration Over Web Service"),
    ("T1567.002", "Exfiltration to Cloud Storage"),
    ("T1568", "Dynamic Resolution"),
    ("T1572", "Protocol Tunneling"),
    ("T1573", "Encrypted Channel"),
];

/// The name of technique `id` (case-insensitive), if known.
pub fn technique_name(id: &str) -> Option<&'static str> {
    let id = id.to_ascii_uppercase();
    TECHNIQUES
        .iter()
        .find(|(t, _)| *t == id)
        .map(|(_, name)| *name)
}

/// A technique with its name, as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Technique {
    /// Id (`T1102.002`).
    pub id: String,
    /// Name, when known.
    pub name: Option<&'static str>,
    /// Its page on attack.mitre.org.
    pub url: String,
}

/// `id` with its name and link.
pub fn technique(id: &str) -> Technique {
    let id = id.to_ascii_uppercase();
    let path = id.replace('.', "/");
    Technique {
        name: technique_name(&id),
        url: format!("https://attack.mitre.org/techniques/{path}/"),
        id,
    }
}
