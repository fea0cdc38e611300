//! The one harness every fuzz target uses: feed bytes to a format and check that what
//! comes out is well-formed. A panic anywhere is the finding.

use std::io::Cursor;

use dozor_event::{Event, Timestamp};
use dozor_formats::{ReadContext, Reject, Sink};

struct Check;

impl Sink for Check {
    fn event(&mut self, event: Event) {
        if let Err(e) = event.check_kinds() {
            panic!("ill-typed event: {e}");
        }
    }
    fn reject(&mut self, reject: Reject) {
        assert!(!reject.reason.is_empty(), "reject without a reason");
    }
}

/// Reads `data` as the format `name`.
pub fn fuzz_format(name: &str, data: &[u8]) {
    let format = dozor_formats::find(name).expect("a registered format");
    let ctx = ReadContext {
        source: "fuzz".to_owned(),
        received: Timestamp::UNIX_EPOCH,
        max_record: 64 * 1024,
    };
    format
        .read(&mut Cursor::new(data), &ctx, &mut Check)
        .expect("in-memory input never fails to read");
}
