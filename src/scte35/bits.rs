//! A small MSB-first bit writer and reader over byte slices.
//!
//! SCTE 35 syntax tables are written most significant bit first, with fields from 1 to 48 bits wide.
//! Both types keep a 64-bit accumulator so a field costs a shift and an or; whole bytes are moved as
//! soon as they are complete. Neither allocates, and neither panics: the writer records an overflow
//! and the reader returns [`DecodeError::Truncated`] naming the field it could not read.

use super::{DecodeError, EncodeError};

/// Writes bit fields into a caller-provided buffer.
pub(crate) struct BitWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
    acc: u64,
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

    /// Appends `value` as an `n`-bit field (`n` ≤ 56); a value wider than `n` bits is recorded as
    /// the first [`EncodeError::FieldRange`] and reported by [`BitWriter::finish`].
    #[inline(always)]
    pub(crate) fn put(&mut self, n: u32, value: u64, field: &'static str) {
        let mask = (1u64 << n) - 1;
        if value > mask && self.range.is_none() {
            self.range = Some(EncodeError::FieldRange {
                field,
                value,
                bits: n,
            });
        }
        self.put_raw(n, value & mask);
    }

    #[inline(always)]
    fn put_raw(&mut self, n: u32, value: u64) {
        debug_assert!(n <= 56);
        self.acc = (self.acc << n) | value;
        self.nbits += n;
        while self.nbits >= 8 {
            self.nbits -= 8;
            let byte = (self.acc >> self.nbits) as u8;
            self.push(byte);
        }
    }

    /// Appends one flag bit.
    #[inline(always)]
    pub(crate) fn flag(&mut self, value: bool) {
        self.put_raw(1, u64::from(value));
    }

    /// Appends `n` reserved bits, all set to 1 as SCTE 35 requires.
    #[inline(always)]
    pub(crate) fn reserved(&mut self, n: u32) {
        self.put_raw(n, (1u64 << n) - 1);
    }

    /// Appends whole bytes (the writer must be byte aligned).
    #[inline]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        debug_assert_eq!(self.nbits, 0);
        let end = self.pos + bytes.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.overflow = true,
        }
        self.pos = end;
    }

    #[inline(always)]
    fn push(&mut self, byte: u8) {
        match self.buf.get_mut(self.pos) {
            Some(slot) => *slot = byte,
            None => self.overflow = true,
        }
        self.pos += 1;
    }

    /// Byte position of the next write.
    #[inline(always)]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The first field that did not fit its width, if any.
    pub(crate) fn range_error(&mut self) -> Option<EncodeError> {
        self.range.take()
    }

    /// True when every bit so far fit in the buffer and the writer is byte aligned.
    pub(crate) fn fits(&self) -> bool {
        !self.overflow && self.nbits == 0
    }

    /// The written bytes so far (for the CRC).
    pub(crate) fn written(&self) -> &[u8] {
        let end = self.pos.min(self.buf.len());
        &self.buf[..end]
    }
}

/// Reads bit fields from a byte slice; offsets in errors are relative to `base`.
pub(crate) struct BitReader<'a> {
    buf: &'a [u8],
    base: usize,
    pos: usize,
    acc: u64,
    nbits: u32,
}

impl<'a> BitReader<'a> {
    /// A reader over `buf`, which starts at byte `base` of the section (for error offsets).
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        BitReader {
            buf,
            base,
            pos: 0,
            acc: 0,
            nbits: 0,
        }
    }

    /// Reads `n` bits (`n` ≤ 56) as an unsigned value.
    #[inline(always)]
    pub(crate) fn get(&mut self, n: u32, field: &'static str) -> Result<u64, DecodeError> {
        debug_assert!(n <= 56);
        while self.nbits < n {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(DecodeError::Truncated {
                    field,
                    offset: self.base + self.pos,
                    needed: (n - self.nbits).div_ceil(8) as usize,
                    available: 0,
                });
            };
            self.pos += 1;
            self.acc = (self.acc << 8) | u64::from(byte);
            self.nbits += 8;
        }
        self.nbits -= n;
        let value = (self.acc >> self.nbits) & ((1u64 << n) - 1);
        Ok(value)
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
        self.get(n, "reserved").map(|_| ())
    }

    /// Takes `len` whole bytes (the reader must be byte aligned).
    pub(crate) fn bytes(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        debug_assert_eq!(self.nbits, 0);
        let available = self.buf.len().saturating_sub(self.pos);
        match self.buf.get(self.pos..self.pos.saturating_add(len)) {
            Some(bytes) => {
                self.pos += len;
                Ok(bytes)
            }
            None => Err(DecodeError::Truncated {
                field,
                offset: self.base + self.pos,
                needed: len,
                available,
            }),
        }
    }

    /// Byte offset (within the section) of the next unread byte.
    #[inline(always)]
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet read.
    #[inline(always)]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}
