//! Cutting a byte stream into blocks of whole lines, for readers that hand the lines
//! to other threads: a block is copied out of the input once and cut at its last line
//! end, where [`LineReader`](crate::LineReader) finds and copies every line. Lines
//! longer than the cap are left out and counted, as `LineReader` reports them, so a
//! block never holds more than one line over its target size.

use std::io::{self, BufRead};

use crate::framing::fill_buf;

/// What one [`LineBlocks::next_block`] call read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BlockRead {
    /// Lines longer than the cap that were dropped (a line whose end came in the same
    /// block is left in it, for the line reader that splits the block to report).
    pub too_long: u64,
    /// Whether the input ended: the block holds its last lines, the final one perhaps
    /// without a line end.
    pub ended: bool,
}

/// Reads a [`BufRead`] in blocks of whole lines.
pub struct LineBlocks<R> {
    reader: R,
    max: usize,
    target: usize,
    capacity: usize,
    /// The start of a line that the last block could not end, for the next one.
    carry: Vec<u8>,
    /// Inside a line longer than `max`, dropped up to its end.
    skipping: bool,
}

impl<R: BufRead> LineBlocks<R> {
    /// Blocks of at least `target` bytes of whole lines (unless the input ends
    /// first), read up to `capacity` bytes at a time so that a buffer made with that
    /// capacity seldom grows; lines longer than `max` bytes are dropped.
    pub fn new(reader: R, max: usize, target: usize, capacity: usize) -> Self {
        Self {
            reader,
            max: max.max(1),
            target: target.max(1),
            capacity: capacity.max(target),
            carry: Vec::new(),
            skipping: false,
        }
    }

    /// Appends the next block of whole lines to `block` (given empty). At the end of
    /// the input the block is empty, or holds the last lines.
    pub fn next_block(&mut self, block: &mut Vec<u8>) -> io::Result<BlockRead> {
        let mut read = BlockRead::default();
        block.append(&mut self.carry);
        // Where the line being read starts: the bytes before it are whole lines.
        let mut line_start = 0;
        loop {
            let chunk = fill_buf(&mut self.reader)?;
            if chunk.is_empty() {
                read.ended = true;
                return Ok(read);
            }
            if self.skipping {
                let consumed = match memchr::memchr(b'\n', chunk) {
                    Some(at) => {
                        self.skipping = false;
                        at + 1
                    }
                    None => chunk.len(),
                };
                self.reader.consume(consumed);
                continue;
            }
            let before = block.len();
            let room = self.capacity.saturating_sub(before);
            let take = if room == 0 {
                chunk.len()
            } else {
                chunk.len().min(room)
            };
            block.extend_from_slice(&chunk[..take]);
            self.reader.consume(take);
            if let Some(at) = memchr::memrchr(b'\n', &block[before..]) {
                line_start = before + at + 1;
            }
            if block.len() - line_start > self.max {
                read.too_long += 1;
                block.truncate(line_start);
                self.skipping = true;
            }
            if line_start >= self.target {
                self.carry.extend_from_slice(&block[line_start..]);
                block.truncate(line_start);
                return Ok(read);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Line, LineReader};
    use proptest::prelude::*;

    /// The records `LineReader` gives for `input`, and how many lines it found too long.
    fn records(input: &[u8], max: usize) -> (Vec<Vec<u8>>, u64) {
        let mut reader = LineReader::new(input, max);
        let (mut kept, mut too_long) = (Vec::new(), 0);
        while let Some(line) = reader.next_line().expect("in-memory read") {
            match line {
                Line::Record { bytes, .. } => kept.push(bytes.to_vec()),
                Line::TooLong { .. } => too_long += 1,
            }
        }
        (kept, too_long)
    }

    /// The same, reading `input` in blocks, each block then split by `LineReader`.
    fn records_by_blocks(
        input: &[u8],
        max: usize,
        target: usize,
        chunk: usize,
    ) -> (Vec<Vec<u8>>, u64) {
        let reader = io::BufReader::with_capacity(chunk, input);
        let mut blocks = LineBlocks::new(reader, max, target, target + chunk);
        let (mut kept, mut too_long) = (Vec::new(), 0);
        loop {
            let mut block = Vec::new();
            let read = blocks.next_block(&mut block).expect("in-memory read");
            assert!(
                block.len() <= target + chunk + max + 1,
                "a block of {} bytes",
                block.len()
            );
            too_long += read.too_long;
            let (lines, long) = records(&block, max);
            kept.extend(lines);
            too_long += long;
            if read.ended {
                return (kept, too_long);
            }
        }
    }

    #[test]
    fn blocks_end_at_line_ends_and_carry_the_rest() -> io::Result<()> {
        let input: &[u8] = b"one\ntwo\nthree\nfour";
        let mut blocks = LineBlocks::new(io::BufReader::with_capacity(5, input), 100, 6, 8);
        let mut block = Vec::new();
        assert_eq!(blocks.next_block(&mut block)?, BlockRead::default());
        assert_eq!(block, b"one\ntwo\n");
        block.clear();
        assert_eq!(blocks.next_block(&mut block)?, BlockRead::default());
        assert_eq!(block, b"three\n");
        block.clear();
        let read = blocks.next_block(&mut block)?;
        assert_eq!(block, b"four");
        assert!(read.ended);
        Ok(())
    }

    #[test]
    fn an_overlong_line_is_dropped_and_counted() -> io::Result<()> {
        let mut input = b"a\n".to_vec();
        input.extend(vec![b'x'; 10_000]);
        input.extend_from_slice(b"\nnext\n");
        let reader = io::BufReader::with_capacity(64, &input[..]);
        let mut blocks = LineBlocks::new(reader, 100, 1 << 20, 1 << 20);
        let mut block = Vec::new();
        let read = blocks.next_block(&mut block)?;
        assert_eq!(block, b"a\nnext\n");
        assert_eq!(read.too_long, 1);
        assert!(read.ended);
        Ok(())
    }

    proptest! {
        /// Lines read in blocks are the lines read one by one, and the lines too
        /// long are as many, whatever the block size and the input's chunks.
        #[test]
        fn blocks_keep_every_line(
            lines in proptest::collection::vec(
                (0usize..40, prop_oneof![Just(&b"\n"[..]), Just(&b"\r\n"[..]), Just(&b""[..])]),
                0..60,
            ),
            max in 1usize..30,
            target in 1usize..50,
            chunk in 1usize..20,
        ) {
            let mut input = Vec::new();
            for (i, (len, end)) in lines.iter().enumerate() {
                input.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, *len));
                input.extend_from_slice(end);
            }
            prop_assert_eq!(records_by_blocks(&input, max, target, chunk), records(&input, max));
        }
    }
}
