//! Windows event XML: one or many `<Event>` elements, bare or inside `<Events>`, one
//! per line or pretty-printed (as `wevtutil qe /f:xml` and Event Viewer exports write
//! them). Elements are cut from the stream as they complete, so a large export is
//! never held whole in memory.

use std::io::{self, BufRead};

use dozor_event::Event;
use roxmltree::{Document, Node};

use super::{SYSTEM_ATTRIBUTES, SYSTEM_TEXT, WinRecord, normalize};
use crate::format::{Format, ReadContext, Reject, Sink};
use crate::lines::stamp;

/// Windows event XML.
pub(crate) struct WindowsXml;

const END_TAG: &[u8] = b"</Event>";

impl Format for WindowsXml {
    fn name(&self) -> &'static str {
        "windows-xml"
    }

    fn description(&self) -> &'static str {
        "Windows event XML: <Event> elements, bare or inside <Events>"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
        let text = text.trim_start_matches('\u{feff}').trim_start();
        if (text.starts_with("<?xml") || text.starts_with("<Event")) && find_start(head).is_some() {
            95
        } else {
            0
        }
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut buf: Vec<u8> = Vec::new();
        let mut number = 0u64;
        let mut eof = false;
        loop {
            let start = find_start(&buf);
            let end = start.and_then(|s| {
                memchr::memmem::find(&buf[s..], END_TAG).map(|e| s + e + END_TAG.len())
            });
            match (start, end) {
                (Some(start), Some(end)) => {
                    self.outside(&buf[..start], &mut number, ctx, sink);
                    number += 1;
                    self.element(&buf[start..end], number, ctx, sink);
                    buf.drain(..end);
                    continue;
                }
                (Some(start), None) if buf.len() - start > ctx.max_record => {
                    self.outside(&buf[..start], &mut number, ctx, sink);
                    number += 1;
                    let reason = "event element exceeds the record limit";
                    sink.reject(Reject::new(self.name(), ctx, number, reason, &buf[start..]));
                    buf.clear();
                }
                _ => {}
            }
            if eof {
                break;
            }
            let chunk = input.fill_buf()?;
            if chunk.is_empty() {
                eof = true;
                continue;
            }
            let n = chunk.len();
            buf.extend_from_slice(chunk);
            input.consume(n);
            if find_start(&buf).is_none() && buf.len() > ctx.max_record {
                // No element in sight: what cannot be the start of one is outside any.
                let keep = buf.len() - 16;
                self.outside(&buf[..keep], &mut number, ctx, sink);
                buf.drain(..keep);
            }
        }
        match find_start(&buf) {
            Some(start) => {
                self.outside(&buf[..start], &mut number, ctx, sink);
                number += 1;
                let reason = "truncated event element: no </Event>";
                sink.reject(Reject::new(self.name(), ctx, number, reason, &buf[start..]));
            }
            None => self.outside(&buf, &mut number, ctx, sink),
        }
        Ok(())
    }
}

impl WindowsXml {
    /// Bytes between elements: whitespace, the XML declaration and the `<Events>`
    /// wrapper are expected; anything else is rejected.
    fn outside(&self, bytes: &[u8], number: &mut u64, ctx: &ReadContext, sink: &mut dyn Sink) {
        let text = String::from_utf8_lossy(bytes);
        let mut rest = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        loop {
            let before = rest;
            for wrapper in ["<Events>", "</Events>"] {
                rest = rest.strip_prefix(wrapper).unwrap_or(rest).trim_start();
            }
            if rest.starts_with("<?xml")
                && let Some(end) = rest.find("?>")
            {
                rest = rest[end + 2..].trim_start();
            }
            if rest == before {
                break;
            }
        }
        if !rest.trim().is_empty() {
            *number += 1;
            let reason = "data outside any <Event> element";
            sink.reject(Reject::new(self.name(), ctx, *number, reason, bytes));
        }
    }

    fn element(&self, bytes: &[u8], number: u64, ctx: &ReadContext, sink: &mut dyn Sink) {
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let reason = format!("invalid UTF-8 at byte {}", e.valid_up_to());
                sink.reject(Reject::new(self.name(), ctx, number, reason, bytes));
                return;
            }
        };
        match parse_event_xml(text) {
            Ok(record) => {
                let mut event = Event::new();
                normalize(record, &mut event, ctx.defer_mapping);
                stamp(&mut event, self.name(), text, ctx);
                sink.event(event);
            }
            Err(reason) => sink.reject(Reject::new(self.name(), ctx, number, reason, bytes)),
        }
    }
}

/// Where the next `<Event` element (not `<Events>` or `<EventData>`) starts.
fn find_start(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&buf[from..], b"<Event") {
        let at = from + at;
        match buf.get(at + 6) {
            Some(b' ' | b'>' | b'\n' | b'\r' | b'\t') => return Some(at),
            Some(_) => from = at + 6,
            None => return None,
        }
    }
    None
}

/// Parses one `<Event>` element.
pub(crate) fn parse_event_xml(text: &str) -> Result<WinRecord<'static>, String> {
    let doc = Document::parse(text).map_err(|e| format!("bad event XML: {e}"))?;
    let root = doc.root_element();
    let system = child(root, "System").ok_or("event XML without <System>")?;
    let mut record = WinRecord::default();
    let eid = child(system, "EventID")
        .and_then(|n| n.text())
        .ok_or("event XML without <EventID>")?;
    record.set_sys("EventID", eid.trim().to_owned());
    for name in SYSTEM_TEXT {
        if let Some(text) = child(system, name).and_then(|n| n.text()) {
            record.set_sys(name, text.trim().to_owned());
        }
    }
    for (element, attr, as_name) in SYSTEM_ATTRIBUTES {
        if let Some(value) = child(system, element).and_then(|n| n.attribute(attr)) {
            record.set_sys(as_name, value.to_owned());
        }
    }
    if let Some(data) = child(root, "EventData") {
        for item in data.children().filter(Node::is_element) {
            let name = item.attribute("Name").unwrap_or("Data");
            if let Some(text) = item.text() {
                record.push_data(name.to_owned(), text.to_owned());
            }
        }
    }
    if let Some(user_data) = child(root, "UserData") {
        let leaves = user_data
            .descendants()
            .filter(|n| n.is_element() && *n != user_data && !n.children().any(|c| c.is_element()));
        for leaf in leaves {
            if let Some(text) = leaf.text() {
                record.push_data(leaf.tag_name().name().to_owned(), text.to_owned());
            }
        }
    }
    Ok(record)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}
