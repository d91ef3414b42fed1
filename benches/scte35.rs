//! SCTE-35 codec benchmarks with peer crates as baselines in the same run:
//! - encode a splice_insert OUT to bytes / hex / base64: ours vs the `scte35` crate (0.2) encoder;
//! - decode it from bytes / base64: ours vs `scte35-reader` (0.16) and the `scte35` crate's parser.
//!
//! The message is the Microsoft live-timed-metadata SCTE35-OUT sample (40 bytes: event 1002,
//! pts_time 23355832, 59.99 s break with auto_return, pts_adjustment 1501).
//!
//! Run: `cargo bench --bench scte35 -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use ::scte35::encoding::{Base64Encodable as _, CrcEncodable as _};
use bitvec::field::BitField;
use bitvec::order::Msb0;
use bitvec::slice::BitSlice;
use bitvec::view::BitView;
use criterion::{Criterion, criterion_group, criterion_main};
use hlsplice::scte35::{self, Payload, SpliceCommand, SpliceInfoSection, SpliceTime};
use mpeg2ts_reader::demultiplex;
use mpeg2ts_reader::psi::{self, WholeCompactSyntaxPayloadParser};

const OUT_HEX: &str =
    "0xFC30250000000005DD00FFF01405000003EA7FEFFE016461B8FE00526363000101010000F20D5E37";

fn our_section() -> SpliceInfoSection {
    let mut s = scte35::splice_insert_out(1002, SpliceTime::Pts(23_355_832), Some(5_399_395), true);
    s.pts_adjustment = 1501;
    if let Payload::Clear {
        splice_command: SpliceCommand::SpliceInsert(si),
        ..
    } = &mut s.payload
    {
        si.unique_program_id = 1;
        si.avail_num = 1;
        si.avails_expected = 1;
    }
    s
}

fn encode(c: &mut Criterion) {
    let section = our_section();
    let bytes = section.to_vec().expect("the benchmark message encodes");
    assert_eq!(scte35::to_hex(&bytes), OUT_HEX, "benchmark message");
    // The peer crate's model of the same section, from its own parser.
    let theirs =
        ::scte35::parse_splice_info_section(&bytes).expect("scte35 crate parses the sample");
    assert_eq!(
        theirs.encode_with_crc().unwrap(),
        bytes,
        "scte35 crate re-encodes the sample"
    );

    let mut g = c.benchmark_group("encode_splice_insert_out");
    g.bench_function("ours/bytes_into_buffer", |b| {
        let mut buf = [0u8; 64];
        b.iter(|| black_box(&section).encode(black_box(&mut buf)).unwrap())
    });
    g.bench_function("ours/to_vec", |b| {
        b.iter(|| black_box(&section).to_vec().unwrap())
    });
    g.bench_function("ours/hex_into_buffer", |b| {
        let mut buf = [0u8; 64];
        let mut text = [0u8; 160];
        b.iter(|| {
            let n = black_box(&section).encode(&mut buf).unwrap();
            scte35::hex_into(&buf[..n], black_box(&mut text)).unwrap()
        })
    });
    g.bench_function("ours/to_hex_string", |b| {
        b.iter(|| black_box(&section).to_hex().unwrap())
    });
    g.bench_function("ours/base64_into_buffer", |b| {
        let mut buf = [0u8; 64];
        let mut text = [0u8; 96];
        b.iter(|| {
            let n = black_box(&section).encode(&mut buf).unwrap();
            scte35::base64_into(&buf[..n], black_box(&mut text)).unwrap()
        })
    });
    g.bench_function("scte35_crate/encode_with_crc", |b| {
        b.iter(|| black_box(&theirs).encode_with_crc().unwrap())
    });
    g.bench_function("scte35_crate/encode_base64_with_crc", |b| {
        b.iter(|| black_box(&theirs).encode_base64_with_crc().unwrap())
    });
    g.finish();
}

mpeg2ts_reader::demux_context!(
    NullDemuxContext,
    demultiplex::NullPacketFilter<NullDemuxContext>
);
impl NullDemuxContext {
    fn do_construct(
        &mut self,
        _req: demultiplex::FilterRequest<'_, '_>,
    ) -> demultiplex::NullPacketFilter<NullDemuxContext> {
        unimplemented!()
    }
}

/// Consumes everything scte35-reader produces (it parses descriptors lazily, so iterate them).
struct Sink;
impl scte35_reader::SpliceInfoProcessor for Sink {
    fn process(
        &self,
        header: scte35_reader::SpliceInfoHeader<'_>,
        command: scte35_reader::SpliceCommand,
        descriptors: scte35_reader::SpliceDescriptors<'_>,
    ) {
        black_box(header.pts_adjustment());
        black_box(command);
        for d in &descriptors {
            let _ = black_box(d);
        }
    }
}

fn decode(c: &mut Criterion) {
    let bytes = our_section()
        .to_vec()
        .expect("the benchmark message encodes");
    let b64 = scte35::to_base64(&bytes);
    let mut g = c.benchmark_group("decode_splice_insert_out");
    g.bench_function("ours/bytes", |b| {
        b.iter(|| SpliceInfoSection::decode(black_box(&bytes)).unwrap())
    });
    g.bench_function("ours/base64", |b| {
        b.iter(|| {
            SpliceInfoSection::decode(&scte35::decode_text(black_box(&b64)).unwrap()).unwrap()
        })
    });
    // Floor: the CRC_32 check alone, which every decoder here performs.
    g.bench_function("floor/crc32_mpeg2_only", |b| {
        let body = &bytes[..bytes.len() - 4];
        b.iter(|| scte35::crc32_mpeg2(black_box(body)))
    });
    g.bench_function("scte35_reader/bytes", |b| {
        let mut parser = scte35_reader::Scte35SectionProcessor::new(Sink);
        let mut ctx = NullDemuxContext::new();
        b.iter(|| {
            let data = black_box(&bytes[..]);
            let header = psi::SectionCommonHeader::new(&data[..psi::SectionCommonHeader::SIZE]);
            parser.section(&mut ctx, &header, data);
        })
    });
    g.bench_function("scte35_crate/bytes", |b| {
        b.iter(|| ::scte35::parse_splice_info_section(black_box(&bytes)).unwrap())
    });
    g.finish();
}

/// The same splice_insert OUT packed with bitvec (`store_be` into the caller's buffer) instead of
/// the codec's own `BitWriter`, field for field, with the same CRC: the measurement behind the
/// "own bit writer vs bitvec" decision.
struct BitvecWriter<'a> {
    bits: &'a mut BitSlice<u8, Msb0>,
    pos: usize,
}

impl BitvecWriter<'_> {
    #[inline(always)]
    fn put(&mut self, n: usize, v: u64) {
        self.bits[self.pos..self.pos + n].store_be::<u64>(v);
        self.pos += n;
    }
}

fn encode_with_bitvec(s: &SpliceInfoSection, out: &mut [u8]) -> usize {
    let Payload::Clear {
        splice_command: SpliceCommand::SpliceInsert(si),
        ..
    } = &s.payload
    else {
        unreachable!("benchmark message is a splice_insert")
    };
    let total = s.encoded_len();
    let command_len = s.splice_command_length();
    let mut w = BitvecWriter {
        bits: out[..total].view_bits_mut::<Msb0>(),
        pos: 0,
    };
    w.put(8, 0xFC); // table_id
    w.put(1, u64::from(s.section_syntax_indicator));
    w.put(1, u64::from(s.private_indicator));
    w.put(2, u64::from(s.sap_type));
    w.put(12, (total - 3) as u64);
    w.put(8, u64::from(s.protocol_version));
    w.put(1, 0); // encrypted_packet
    w.put(6, u64::from(s.encryption_algorithm));
    w.put(33, s.pts_adjustment);
    w.put(8, u64::from(s.cw_index));
    w.put(12, u64::from(s.tier));
    w.put(12, u64::from(command_len));
    w.put(8, 0x05);
    w.put(32, u64::from(si.splice_event_id));
    w.put(1, u64::from(si.splice_event_cancel_indicator));
    w.put(7, 0x7F);
    w.put(1, u64::from(si.out_of_network_indicator));
    w.put(1, u64::from(si.program_splice_flag));
    w.put(1, u64::from(si.break_duration.is_some()));
    w.put(1, u64::from(si.splice_immediate_flag));
    w.put(1, u64::from(si.event_id_compliance_flag));
    w.put(3, 0x7);
    let pts = si.pts_time.unwrap_or(0);
    w.put(1, 1); // time_specified_flag
    w.put(6, 0x3F);
    w.put(33, pts);
    let bd = si.break_duration.unwrap_or_default();
    w.put(1, u64::from(bd.auto_return));
    w.put(6, 0x3F);
    w.put(33, bd.duration);
    w.put(16, u64::from(si.unique_program_id));
    w.put(8, u64::from(si.avail_num));
    w.put(8, u64::from(si.avails_expected));
    w.put(16, 0); // descriptor_loop_length
    let body = w.pos / 8;
    let crc = scte35::crc32_mpeg2(&out[..body]);
    out[body..body + 4].copy_from_slice(&crc.to_be_bytes());
    body + 4
}

fn bit_packing(c: &mut Criterion) {
    let section = our_section();
    let mut check = [0u8; 64];
    let n = encode_with_bitvec(&section, &mut check);
    assert_eq!(
        &check[..n],
        section.to_vec().unwrap().as_slice(),
        "bitvec packing matches"
    );
    let mut g = c.benchmark_group("bit_packing_splice_insert_out");
    g.bench_function("own_bit_writer", |b| {
        let mut buf = [0u8; 64];
        b.iter(|| black_box(&section).encode(black_box(&mut buf)).unwrap())
    });
    g.bench_function("bitvec_store_be", |b| {
        let mut buf = [0u8; 64];
        b.iter(|| encode_with_bitvec(black_box(&section), black_box(&mut buf)))
    });
    g.finish();
}

criterion_group!(benches, encode, decode, bit_packing);
criterion_main!(benches);
