//! A small MSB-first bit writer and reader over byte slices.
//!
//! SCTE 35 syntax tables are written most significant bit first, with fields from 1 to 48 bits
//! wide. The writer collects fields in a 64-bit accumulator and stores 32 bits at a time; the
//! reader loads the 8 bytes around its position as one big-endian word and takes a field with two
//! shifts. Readers over a part of the section (a command, a descriptor) share the whole section
//! buffer and carry their own end, so offsets in errors are always section offsets and word loads
//! may look past a part's end without reading past the section.
//!
//! Neither allocates and neither panics: the writer records overflow and out-of-range values, and
//! the reader returns [`DecodeError::Truncated`] naming the field it could not read. Measured
//! against `bitvec` in `benches/scte35.rs` (bit_packing group).

use super::{DecodeError, EncodeError};

/// [`EncodeError::FieldRange`] for `field` when `value` is wider than `n` bits (a check that
/// writes nothing: encoders use it to name the innermost field that does not fit before they
/// write an enclosing length that then does not fit either).
pub(crate) fn range_error(n: u32, value: u64, field: &'static str) -> Option<EncodeError> {
    (value >> n != 0).then_some(EncodeError::FieldRange {
        field,
        value,
        bits: n,
    })
}

/// Writes bit fields into a caller-provided buffer.
pub(crate) struct BitWriter<'a> {
    buf: &'a mut [u8],
    /// Bytes stored so far.
    pos: usize,
    /// Pending bits, in the low `nbits` bits.
    acc: u64,
    /// Fewer than 32 between calls.
    nbits: u32,
    overflow: bool,
    range: Option<EncodeError>,
}

impl<'a> BitWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        BitWriter {
            buf,
            pos: 0,
            acc: 0,
            nbits: 0,
            overflow: false,
            range: None,
        }
    }

    /// Appends `value` as an `n`-bit field (1 ≤ `n` ≤ 56); a value wider than `n` bits is kept as
    /// the first [`EncodeError::FieldRange`] (see [`BitWriter::range_error`]).
    #[inline(always)]
    pub(crate) fn put(&mut self, n: u32, value: u64, field: &'static str) {
        debug_assert!((1..=56).contains(&n));
        let mask = (1u64 << n) - 1;
        if value > mask {
            self.out_of_range(field, value, n);
        }
        let value = value & mask;
        if n > 32 {
            self.put32(n - 32, value >> 32);
            self.put32(32, value & 0xFFFF_FFFF);
        } else {
            self.put32(n, value);
        }
    }

    #[cold]
    fn out_of_range(&mut self, field: &'static str, value: u64, bits: u32) {
        if self.range.is_none() {
            self.range = Some(EncodeError::FieldRange { field, value, bits });
        }
    }

    /// `n` ≤ 32 bits whose value fits.
    #[inline(always)]
    fn put32(&mut self, n: u32, value: u64) {
        self.acc = (self.acc << n) | value;
        self.nbits += n;
        if self.nbits >= 32 {
            self.nbits -= 32;
            let word = (self.acc >> self.nbits) as u32;
            match self.buf.get_mut(self.pos..self.pos + 4) {
                Some(dst) => dst.copy_from_slice(&word.to_be_bytes()),
                None => self.overflow = true,
            }
            self.pos += 4;
        }
    }

    /// Appends one flag bit.
    #[inline(always)]
    pub(crate) fn flag(&mut self, value: bool) {
        self.put32(1, u64::from(value));
    }

    /// Appends `n` (≤ 32) reserved bits, all set to 1 as SCTE 35 requires.
    #[inline(always)]
    pub(crate) fn reserved(&mut self, n: u32) {
        debug_assert!((1..=32).contains(&n));
        self.put32(n, (1u64 << n) - 1);
    }

    /// Stores the pending whole bytes.
    #[inline]
    fn flush(&mut self) {
        while self.nbits >= 8 {
            self.nbits -= 8;
            let byte = (self.acc >> self.nbits) as u8;
            match self.buf.get_mut(self.pos) {
                Some(slot) => *slot = byte,
                None => self.overflow = true,
            }
            self.pos += 1;
        }
    }

    /// Appends whole bytes (the writer must be byte aligned).
    #[inline]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.flush();
        debug_assert_eq!(self.nbits, 0);
        let end = self.pos + bytes.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.overflow = true,
        }
        self.pos = end;
    }

    /// Byte position of the next write (stores pending bytes first).
    pub(crate) fn position(&mut self) -> usize {
        self.flush();
        self.pos
    }

    /// The first field that did not fit its width, if any.
    pub(crate) fn range_error(&mut self) -> Option<EncodeError> {
        self.range.take()
    }

    /// True when every bit so far fit in the buffer and the writer is byte aligned.
    pub(crate) fn fits(&mut self) -> bool {
        self.flush();
        !self.overflow && self.nbits == 0
    }

    /// The bytes written so far (for the CRC).
    pub(crate) fn written(&mut self) -> &[u8] {
        self.flush();
        let end = self.pos.min(self.buf.len());
        &self.buf[..end]
    }
}

/// Reads bit fields from a section; a reader over part of it ends at `limit`.
#[derive(Clone, Copy)]
pub(crate) struct BitReader<'a> {
    /// The whole section (or more); only bits before `limit` are read.
    buf: &'a [u8],
    /// Next bit to read, from the start of `buf`.
    bitpos: usize,
    /// End of this reader, in bits.
    limit: usize,
}

impl<'a> BitReader<'a> {
    /// A reader over `buf[..end]` (bytes); `buf` beyond `end` is never returned, only used as
    /// slack for word loads.
    pub(crate) fn new(buf: &'a [u8], end: usize) -> Self {
        let end = end.min(buf.len());
        BitReader {
            buf,
            bitpos: 0,
            limit: end * 8,
        }
    }

    /// Reads `n` bits (1 ≤ `n` ≤ 56) as an unsigned value.
    #[inline(always)]
    pub(crate) fn get(&mut self, n: u32, field: &'static str) -> Result<u64, DecodeError> {
        debug_assert!((1..=56).contains(&n));
        let end = self.bitpos + n as usize;
        if end > self.limit {
            return Err(self.truncated(field, end));
        }
        let byte = self.bitpos >> 3;
        let shift = (self.bitpos & 7) as u32;
        let word = match self.buf.get(byte..byte + 8) {
            Some(chunk) => u64::from_be_bytes(<[u8; 8]>::try_from(chunk).unwrap_or([0; 8])),
            None => self.padded_word(byte),
        };
        self.bitpos = end;
        // shift + n ≤ 63: the field lies within the word.
        Ok((word << shift) >> (64 - n))
    }

    /// The bytes from `byte` (< buffer length) to the end of the buffer, zero padded to 8: the
    /// buffer's last 8 bytes shifted up, so the tail of a section costs one load too.
    #[inline]
    fn padded_word(&self, byte: usize) -> u64 {
        let len = self.buf.len();
        if let Some(last) = len.checked_sub(8).and_then(|start| self.buf.get(start..)) {
            let word = u64::from_be_bytes(<[u8; 8]>::try_from(last).unwrap_or([0; 8]));
            // byte + 8 > len and byte < len, so the shift is 8..=56 bits.
            let missing = (byte + 8).saturating_sub(len).min(7) as u32;
            return word << (missing * 8);
        }
        let mut word = 0u64;
        for i in 0..8 {
            word = (word << 8) | u64::from(self.buf.get(byte + i).copied().unwrap_or(0));
        }
        word
    }

    #[cold]
    fn truncated(&self, field: &'static str, end_bit: usize) -> DecodeError {
        // Counted from the byte the field starts in.
        let offset = self.bitpos / 8;
        DecodeError::Truncated {
            field,
            offset,
            needed: end_bit.div_ceil(8) - offset,
            available: (self.limit / 8).saturating_sub(offset),
        }
    }

    #[inline(always)]
    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        Ok(self.get(1, field)? == 1)
    }

    #[inline(always)]
    pub(crate) fn u8(&mut self, n: u32, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.get(n, field)? as u8)
    }

    #[inline(always)]
    pub(crate) fn u16(&mut self, n: u32, field: &'static str) -> Result<u16, DecodeError> {
        Ok(self.get(n, field)? as u16)
    }

    #[inline(always)]
    pub(crate) fn u32(&mut self, n: u32, field: &'static str) -> Result<u32, DecodeError> {
        Ok(self.get(n, field)? as u32)
    }

    /// Skips `n` reserved bits (their value is not checked: receivers ignore reserved bits).
    #[inline(always)]
    pub(crate) fn skip(&mut self, n: u32) -> Result<(), DecodeError> {
        let end = self.bitpos + n as usize;
        if end > self.limit {
            return Err(self.truncated("reserved", end));
        }
        self.bitpos = end;
        Ok(())
    }

    /// Takes `len` whole bytes (the reader must be byte aligned).
    pub(crate) fn bytes(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        debug_assert_eq!(self.bitpos % 8, 0);
        let start = self.bitpos / 8;
        let end = start.saturating_add(len);
        if end.saturating_mul(8) > self.limit {
            return Err(DecodeError::Truncated {
                field,
                offset: start,
                needed: len,
                available: self.remaining(),
            });
        }
        let bytes = self.buf.get(start..end).unwrap_or(&[]);
        self.bitpos = end * 8;
        Ok(bytes)
    }

    /// A reader over the next `len` bytes, which this reader then skips.
    pub(crate) fn sub(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<BitReader<'a>, DecodeError> {
        let start = self.bitpos;
        self.bytes(len, field)?;
        Ok(BitReader {
            buf: self.buf,
            bitpos: start,
            limit: self.bitpos,
        })
    }

    /// The unread bytes of this reader (byte aligned).
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.bitpos / 8..self.limit / 8).unwrap_or(&[])
    }

    /// Section offset of the next unread byte.
    #[inline(always)]
    pub(crate) fn offset(&self) -> usize {
        self.bitpos / 8
    }

    /// Whole bytes not yet read.
    #[inline(always)]
    pub(crate) fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.bitpos) / 8
    }
}
