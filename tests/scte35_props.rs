//! Property tests for the SCTE-35 codec: arbitrary valid sections round-trip and carry a valid
//! CRC; arbitrary bytes never panic the decoder; every single-bit flip is caught; and the fast
//! encoder agrees with a naive bit-by-bit reference encoder (with a bitwise CRC).

use hlsplice::scte35::{
    self, AudioComponent, AudioDescriptor, AvailDescriptor, BreakDuration, DeliveryRestrictions,
    DtmfDescriptor, PTS_MASK, Payload, PrivateCommand, SegmentationComponent,
    SegmentationDescriptor, SpliceCommand, SpliceDescriptor, SpliceInfoSection, SpliceInsert,
    SpliceInsertComponent, SubSegment, TimeDescriptor, TimeSignal, descriptors::SUB_SEGMENT_TYPES,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn pts() -> impl Strategy<Value = u64> {
    prop_oneof![0..=PTS_MASK, Just(0), Just(PTS_MASK)]
}

fn opt_pts() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(pts())
}

fn splice_insert() -> impl Strategy<Value = SpliceInsert> {
    let cancelled = any::<u32>().prop_map(|id| SpliceInsert {
        splice_event_id: id,
        splice_event_cancel_indicator: true,
        ..SpliceInsert::default()
    });
    let active = (
        any::<u32>(),
        any::<[bool; 4]>(),
        opt_pts(),
        vec((any::<u8>(), opt_pts()), 0..4),
        prop::option::of((any::<bool>(), pts())),
        any::<(u16, u8, u8)>(),
    )
        .prop_map(
            |(id, [oon, program, immediate, compliance], pts_time, comps, bd, (upid, num, exp))| {
                SpliceInsert {
                    splice_event_id: id,
                    splice_event_cancel_indicator: false,
                    out_of_network_indicator: oon,
                    program_splice_flag: program,
                    splice_immediate_flag: immediate,
                    event_id_compliance_flag: compliance,
                    pts_time: if program && !immediate {
                        pts_time
                    } else {
                        None
                    },
                    components: if program {
                        Vec::new()
                    } else {
                        comps
                            .into_iter()
                            .map(|(tag, p)| SpliceInsertComponent {
                                component_tag: tag,
                                pts_time: if immediate { None } else { p },
                            })
                            .collect()
                    },
                    break_duration: bd.map(|(auto_return, duration)| BreakDuration {
                        auto_return,
                        duration,
                    }),
                    unique_program_id: upid,
                    avail_num: num,
                    avails_expected: exp,
                }
            },
        );
    prop_oneof![1 => cancelled, 4 => active]
}

fn command() -> impl Strategy<Value = SpliceCommand> {
    prop_oneof![
        1 => Just(SpliceCommand::SpliceNull),
        4 => splice_insert().prop_map(SpliceCommand::SpliceInsert),
        3 => opt_pts().prop_map(|p| SpliceCommand::TimeSignal(TimeSignal { pts_time: p })),
        1 => vec(any::<u8>(), 0..24).prop_map(SpliceCommand::SpliceSchedule),
        1 => vec(any::<u8>(), 0..4).prop_map(SpliceCommand::BandwidthReservation),
        1 => (any::<u32>(), vec(any::<u8>(), 0..24))
            .prop_map(|(identifier, private_bytes)| SpliceCommand::PrivateCommand(PrivateCommand {
                identifier,
                private_bytes
            })),
        1 => (prop_oneof![1u8..=3, 8u8..=0xFE], vec(any::<u8>(), 0..16))
            .prop_map(|(t, bytes)| SpliceCommand::Reserved { splice_command_type: t, bytes }),
    ]
}

fn segmentation() -> impl Strategy<Value = SegmentationDescriptor> {
    let cancelled =
        (any::<u32>(), any::<bool>()).prop_map(|(id, compliance)| SegmentationDescriptor {
            segmentation_event_id: id,
            segmentation_event_cancel_indicator: true,
            segmentation_event_id_compliance_indicator: compliance,
            ..SegmentationDescriptor::default()
        });
    let active = (
        (any::<u32>(), any::<bool>(), any::<bool>()),
        prop::option::of((any::<[bool; 3]>(), 0u8..4)),
        vec((any::<u8>(), pts()), 0..3),
        prop::option::of(0u64..(1 << 40)),
        (any::<u8>(), vec(any::<u8>(), 0..20)),
        (any::<u8>(), any::<u8>(), any::<u8>()),
        any::<(u8, u8)>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                (id, compliance, program),
                restrictions,
                comps,
                duration,
                (upid_type, upid),
                (type_id, num, exp),
                sub,
                want_sub,
            )| {
                SegmentationDescriptor {
                    segmentation_event_id: id,
                    segmentation_event_cancel_indicator: false,
                    segmentation_event_id_compliance_indicator: compliance,
                    program_segmentation_flag: program,
                    delivery_restrictions: restrictions.map(|([w, n, a], d)| {
                        DeliveryRestrictions {
                            web_delivery_allowed_flag: w,
                            no_regional_blackout_flag: n,
                            archive_allowed_flag: a,
                            device_restrictions: d,
                        }
                    }),
                    components: if program {
                        Vec::new()
                    } else {
                        comps
                            .into_iter()
                            .map(|(component_tag, pts_offset)| SegmentationComponent {
                                component_tag,
                                pts_offset,
                            })
                            .collect()
                    },
                    segmentation_duration: duration,
                    segmentation_upid_type: upid_type,
                    segmentation_upid: upid,
                    segmentation_type_id: type_id,
                    segment_num: num,
                    segments_expected: exp,
                    sub_segment: (want_sub && SUB_SEGMENT_TYPES.contains(&type_id)).then_some(
                        SubSegment {
                            sub_segment_num: sub.0,
                            sub_segments_expected: sub.1,
                        },
                    ),
                }
            },
        );
    prop_oneof![1 => cancelled, 4 => active]
}

fn descriptor() -> impl Strategy<Value = SpliceDescriptor> {
    prop_oneof![
        1 => any::<u32>().prop_map(|id| SpliceDescriptor::Avail(AvailDescriptor { provider_avail_id: id })),
        1 => (any::<u8>(), vec(any::<u8>(), 0..=7))
            .prop_map(|(preroll, dtmf_chars)| SpliceDescriptor::Dtmf(DtmfDescriptor { preroll, dtmf_chars })),
        3 => segmentation().prop_map(SpliceDescriptor::Segmentation),
        1 => (0u64..(1 << 48), any::<u32>(), any::<u16>()).prop_map(|(s, ns, off)| SpliceDescriptor::Time(
            TimeDescriptor { tai_seconds: s, tai_ns: ns, utc_offset: off }
        )),
        1 => vec((any::<u8>(), 0u32..(1 << 24), 0u8..8, 0u8..16, any::<bool>()), 0..=15).prop_map(|cs| {
            SpliceDescriptor::Audio(AudioDescriptor {
                components: cs
                    .into_iter()
                    .map(|(component_tag, iso_code, bit_stream_mode, num_channels, full_srvc_audio)| AudioComponent {
                        component_tag,
                        iso_code,
                        bit_stream_mode,
                        num_channels,
                        full_srvc_audio,
                    })
                    .collect(),
            })
        }),
        1 => (5u8..=0xFF, vec(any::<u8>(), 0..30))
            .prop_map(|(tag, bytes)| SpliceDescriptor::Unknown { splice_descriptor_tag: tag, bytes }),
    ]
}

fn self_delimiting(c: &SpliceCommand) -> bool {
    match c {
        SpliceCommand::SpliceNull
        | SpliceCommand::SpliceInsert(_)
        | SpliceCommand::TimeSignal(_) => true,
        SpliceCommand::BandwidthReservation(b) => b.is_empty(),
        _ => false,
    }
}

prop_compose! {
    fn header()(
        ssi in any::<bool>(), private in any::<bool>(), sap_type in 0u8..4, protocol_version in any::<u8>(),
        encryption_algorithm in 0u8..64, pts_adjustment in pts(), cw_index in any::<u8>(), tier in 0u16..=0xFFF,
    ) -> SpliceInfoSection {
        SpliceInfoSection {
            section_syntax_indicator: ssi,
            private_indicator: private,
            sap_type,
            protocol_version,
            encryption_algorithm,
            pts_adjustment,
            cw_index,
            tier,
            ..SpliceInfoSection::new(SpliceCommand::SpliceNull)
        }
    }
}

fn section() -> impl Strategy<Value = SpliceInfoSection> {
    let clear = (
        header(),
        command(),
        vec(descriptor(), 0..4),
        vec(any::<u8>(), 0..4),
        any::<bool>(),
    )
        .prop_map(
            |(mut s, splice_command, splice_descriptors, alignment_stuffing, legacy)| {
                s.legacy_splice_command_length = legacy && self_delimiting(&splice_command);
                s.payload = Payload::Clear {
                    splice_command,
                    splice_descriptors,
                    alignment_stuffing,
                };
                s
            },
        );
    let encrypted =
        (header(), 0u16..=0xFFF, vec(any::<u8>(), 0..40)).prop_map(|(mut s, len, bytes)| {
            s.payload = Payload::Encrypted {
                splice_command_length: len,
                encrypted_bytes: bytes,
            };
            s
        });
    prop_oneof![6 => clear, 1 => encrypted]
}

// ---- naive reference encoder: one bool per bit, bitwise CRC ----

struct Bits(Vec<bool>);

impl Bits {
    fn put(&mut self, n: u32, v: u64) {
        for i in (0..n).rev() {
            self.0.push((v >> i) & 1 == 1);
        }
    }
    fn bytes(&self) -> Vec<u8> {
        assert_eq!(self.0.len() % 8, 0);
        self.0
            .chunks(8)
            .map(|c| c.iter().fold(0u8, |acc, &b| acc << 1 | u8::from(b)))
            .collect()
    }
}

fn naive_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        for i in (0..8).rev() {
            let bit = (byte >> i) & 1 == 1;
            let top = crc & 0x8000_0000 != 0;
            crc <<= 1;
            if bit != top {
                crc ^= 0x04C1_1DB7;
            }
        }
    }
    crc
}

fn naive_splice_time(b: &mut Bits, pts: Option<u64>) {
    match pts {
        Some(p) => {
            b.put(1, 1);
            b.put(6, 0x3F);
            b.put(33, p);
        }
        None => {
            b.put(1, 0);
            b.put(7, 0x7F);
        }
    }
}

/// SCTE 35 Table 5 + Table 10, transcribed literally, for a clear section without descriptors.
fn naive_encode(s: &SpliceInfoSection, si: &SpliceInsert) -> Vec<u8> {
    let mut cmd = Bits(Vec::new());
    cmd.put(32, u64::from(si.splice_event_id));
    cmd.put(1, u64::from(si.splice_event_cancel_indicator));
    cmd.put(7, 0x7F);
    if !si.splice_event_cancel_indicator {
        cmd.put(1, u64::from(si.out_of_network_indicator));
        cmd.put(1, u64::from(si.program_splice_flag));
        cmd.put(1, u64::from(si.break_duration.is_some()));
        cmd.put(1, u64::from(si.splice_immediate_flag));
        cmd.put(1, u64::from(si.event_id_compliance_flag));
        cmd.put(3, 0x7);
        if si.program_splice_flag && !si.splice_immediate_flag {
            naive_splice_time(&mut cmd, si.pts_time);
        }
        if !si.program_splice_flag {
            cmd.put(8, si.components.len() as u64);
            for c in &si.components {
                cmd.put(8, u64::from(c.component_tag));
                if !si.splice_immediate_flag {
                    naive_splice_time(&mut cmd, c.pts_time);
                }
            }
        }
        if let Some(bd) = si.break_duration {
            cmd.put(1, u64::from(bd.auto_return));
            cmd.put(6, 0x3F);
            cmd.put(33, bd.duration);
        }
        cmd.put(16, u64::from(si.unique_program_id));
        cmd.put(8, u64::from(si.avail_num));
        cmd.put(8, u64::from(si.avails_expected));
    }
    let cmd = cmd.bytes();
    let section_length = 11 + cmd.len() + 2 + 4;
    let mut b = Bits(Vec::new());
    b.put(8, 0xFC);
    b.put(1, u64::from(s.section_syntax_indicator));
    b.put(1, u64::from(s.private_indicator));
    b.put(2, u64::from(s.sap_type));
    b.put(12, section_length as u64);
    b.put(8, u64::from(s.protocol_version));
    b.put(1, 0);
    b.put(6, u64::from(s.encryption_algorithm));
    b.put(33, s.pts_adjustment);
    b.put(8, u64::from(s.cw_index));
    b.put(12, u64::from(s.tier));
    b.put(12, cmd.len() as u64);
    b.put(8, 0x05);
    let mut out = b.bytes();
    out.extend_from_slice(&cmd);
    out.extend_from_slice(&[0, 0]);
    let crc = naive_crc(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_valid_sections_round_trip_with_valid_crc(s in section()) {
        let bytes = s.to_vec().expect("generated sections fit their fields");
        prop_assert_eq!(bytes.len(), s.encoded_len());
        // CRC-32/MPEG-2 residue over a whole section (CRC included) is 0.
        prop_assert_eq!(scte35::crc32_mpeg2(&bytes), 0);
        let back = SpliceInfoSection::decode(&bytes);
        prop_assert_eq!(back.as_ref(), Ok(&s));
        let mut again = vec![0u8; bytes.len()];
        prop_assert_eq!(back.unwrap().encode(&mut again), Ok(bytes.len()));
        prop_assert_eq!(&again, &bytes);
        // Text forms round-trip too.
        prop_assert_eq!(scte35::decode_text(&scte35::to_hex(&bytes)), Ok(bytes.clone()));
        prop_assert_eq!(scte35::decode_text(&scte35::to_base64(&bytes)), Ok(bytes));
    }

    #[test]
    fn every_single_bit_flip_is_caught(s in section(), bit in any::<prop::sample::Index>()) {
        let mut bytes = s.to_vec().unwrap();
        let i = bit.index(bytes.len() * 8);
        bytes[i / 8] ^= 0x80 >> (i % 8);
        prop_assert!(SpliceInfoSection::decode(&bytes).is_err(), "flip of bit {} accepted", i);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..300)) {
        let _ = SpliceInfoSection::decode(&bytes);
        let _ = scte35::decode_text(&String::from_utf8_lossy(&bytes));
    }

    /// Random bodies behind a valid table_id, section_length and CRC reach the field parsers; when
    /// one decodes, its re-encoding decodes to the same value.
    #[test]
    fn arbitrary_bodies_with_valid_framing_never_panic(body in vec(any::<u8>(), 10..200), fill in any::<bool>()) {
        let mut bytes = vec![0xFC, 0, 0];
        bytes.extend_from_slice(&body);
        if fill {
            bytes[3] = 0; // protocol_version
            bytes[4] &= 0x7F; // clear: reach the command parsers
        }
        bytes.extend_from_slice(&[0; 4]);
        let section_length = bytes.len() - 3;
        bytes[1] = 0x30 | (section_length >> 8) as u8;
        bytes[2] = section_length as u8;
        let n = bytes.len() - 4;
        let crc = scte35::crc32_mpeg2(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_be_bytes());
        if let Ok(s) = SpliceInfoSection::decode(&bytes) {
            let again = s.to_vec().expect("a decoded section re-encodes");
            prop_assert_eq!(SpliceInfoSection::decode(&again), Ok(s));
        }
    }

    #[test]
    fn encoder_matches_naive_reference(mut s in header(), si in splice_insert()) {
        s.payload = Payload::Clear {
            splice_command: SpliceCommand::SpliceInsert(si.clone()),
            splice_descriptors: Vec::new(),
            alignment_stuffing: Vec::new(),
        };
        prop_assert_eq!(s.to_vec(), Ok(naive_encode(&s, &si)));
    }

    #[test]
    fn encode_into_any_smaller_buffer_fails_cleanly(s in section(), cut in any::<prop::sample::Index>()) {
        let len = s.encoded_len();
        let mut buf = vec![0u8; cut.index(len)];
        prop_assert!(s.encode(&mut buf).is_err());
    }
}
