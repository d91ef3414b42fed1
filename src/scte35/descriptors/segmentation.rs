//! segmentation_descriptor() — SCTE 35 2023r1 §10.3.3 (Table 19), with segmentation_upid()
//! (§10.3.3.1) kept as its type and raw bytes.

use crate::scte35::bits::{BitReader, BitWriter, range_error};
use crate::scte35::{DecodeError, EncodeError};

/// segmentation_type_id values after which sub_segment_num and sub_segments_expected may follow
/// (Table 22: Provider/Distributor Placement/Advertisement/Promo Opportunity Start and the like).
pub const SUB_SEGMENT_TYPES: [u8; 8] = [0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x44, 0x46];

/// The length segmentation_upid() must have for `segmentation_upid_type`, for the types whose
/// length the standard fixes (SCTE 35 2023r1 §10.3.3.1, the segmentation_upid_type table); `None`
/// for variable-length and reserved types. Decoding keeps whatever length the wire carries;
/// encoders use this to refuse a UPID that no receiver could read as its type.
pub const fn segmentation_upid_fixed_length(segmentation_upid_type: u8) -> Option<usize> {
    match segmentation_upid_type {
        0x00 => Some(0),  // Not Used
        0x02 => Some(8),  // ISCI (deprecated)
        0x03 => Some(12), // Ad-ID
        0x04 => Some(32), // UMID (SMPTE 330)
        0x05 => Some(8),  // ISAN (deprecated)
        0x06 => Some(12), // ISAN
        0x07 => Some(12), // TID
        0x08 => Some(8),  // TI (AiringID)
        0x0A => Some(12), // EIDR
        0x10 => Some(16), // UUID
        _ => None,        // User Defined, ADI, ATSC, MPU, MID, ADS, URI, SCR, reserved
    }
}

/// segmentation_descriptor(): a segment of content — a program, chapter, break or opportunity (tag 0x02).
///
/// When `segmentation_event_cancel_indicator` is set nothing after the flag byte is on the wire;
/// decoding leaves the other fields at their [`Default`] values and encoding ignores them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SegmentationDescriptor {
    /// segmentation_event_id: 32
    pub segmentation_event_id: u32,
    /// segmentation_event_cancel_indicator: 1
    pub segmentation_event_cancel_indicator: bool,
    /// segmentation_event_id_compliance_indicator: 1 (a reserved bit, always 1, before SCTE 35 2023)
    pub segmentation_event_id_compliance_indicator: bool,
    /// program_segmentation_flag: 1
    pub program_segmentation_flag: bool,
    /// The restriction flags; `None` when delivery_not_restricted_flag is 1.
    pub delivery_restrictions: Option<DeliveryRestrictions>,
    /// component_count: 8 and the component loop (when program_segmentation_flag is 0).
    pub components: Vec<SegmentationComponent>,
    /// segmentation_duration: 40 (90 kHz ticks); present when segmentation_duration_flag is 1.
    pub segmentation_duration: Option<u64>,
    /// segmentation_upid_type: 8
    pub segmentation_upid_type: u8,
    /// segmentation_upid(): segmentation_upid_length: 8 bytes, kept raw.
    pub segmentation_upid: Vec<u8>,
    /// segmentation_type_id: 8
    pub segmentation_type_id: u8,
    /// segment_num: 8
    pub segment_num: u8,
    /// segments_expected: 8
    pub segments_expected: u8,
    /// sub_segment_num: 8 and sub_segments_expected: 8, present only after the
    /// [`SUB_SEGMENT_TYPES`] and only when the descriptor has room for them.
    pub sub_segment: Option<SubSegment>,
}

impl Default for SegmentationDescriptor {
    fn default() -> Self {
        SegmentationDescriptor {
            segmentation_event_id: 0,
            segmentation_event_cancel_indicator: false,
            segmentation_event_id_compliance_indicator: true,
            program_segmentation_flag: true,
            delivery_restrictions: None,
            components: Vec::new(),
            segmentation_duration: None,
            segmentation_upid_type: 0,
            segmentation_upid: Vec::new(),
            segmentation_type_id: 0,
            segment_num: 0,
            segments_expected: 0,
            sub_segment: None,
        }
    }
}

/// The delivery restriction flags of a segmentation descriptor (delivery_not_restricted_flag 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DeliveryRestrictions {
    /// web_delivery_allowed_flag: 1
    pub web_delivery_allowed_flag: bool,
    /// no_regional_blackout_flag: 1
    pub no_regional_blackout_flag: bool,
    /// archive_allowed_flag: 1
    pub archive_allowed_flag: bool,
    /// device_restrictions: 2
    pub device_restrictions: u8,
}

/// One component of a component-mode segmentation descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SegmentationComponent {
    /// component_tag: 8
    pub component_tag: u8,
    /// pts_offset: 33
    pub pts_offset: u64,
}

/// sub_segment_num and sub_segments_expected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SubSegment {
    /// sub_segment_num: 8
    pub sub_segment_num: u8,
    /// sub_segments_expected: 8
    pub sub_segments_expected: u8,
}

impl SegmentationDescriptor {
    /// delivery_not_restricted_flag as it goes on the wire.
    pub fn delivery_not_restricted_flag(&self) -> bool {
        self.delivery_restrictions.is_none()
    }

    /// segmentation_duration_flag as it goes on the wire.
    pub fn segmentation_duration_flag(&self) -> bool {
        self.segmentation_duration.is_some()
    }

    pub(crate) fn body_len(&self) -> usize {
        let mut len = 5; // segmentation_event_id, cancel + compliance + reserved
        if self.segmentation_event_cancel_indicator {
            return len;
        }
        len += 1; // flags
        if !self.program_segmentation_flag {
            len += 1 + 6 * self.components.len();
        }
        if self.segmentation_duration.is_some() {
            len += 5;
        }
        len += 2 + self.segmentation_upid.len() + 3;
        if self.sub_segment.is_some() {
            len += 2;
        }
        len
    }

    /// The first count or length inside the descriptor that does not fit its field (see
    /// [`SpliceDescriptor::length_error`](super::SpliceDescriptor::length_error)).
    pub(crate) fn length_error(&self) -> Option<EncodeError> {
        if self.segmentation_event_cancel_indicator {
            return None;
        }
        let components = if self.program_segmentation_flag {
            None
        } else {
            range_error(
                8,
                self.components.len() as u64,
                "segmentation_descriptor.component_count",
            )
        };
        components.or_else(|| {
            range_error(
                8,
                self.segmentation_upid.len() as u64,
                "segmentation_descriptor.segmentation_upid_length",
            )
        })
    }

    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        w.put(
            32,
            u64::from(self.segmentation_event_id),
            "segmentation_descriptor.segmentation_event_id",
        ); // 32
        w.flag(self.segmentation_event_cancel_indicator); // segmentation_event_cancel_indicator: 1
        w.flag(self.segmentation_event_id_compliance_indicator); // ..._compliance_indicator: 1
        w.reserved(6); // reserved: 6
        if self.segmentation_event_cancel_indicator {
            return;
        }
        w.flag(self.program_segmentation_flag); // program_segmentation_flag: 1
        w.flag(self.segmentation_duration.is_some()); // segmentation_duration_flag: 1
        w.flag(self.delivery_restrictions.is_none()); // delivery_not_restricted_flag: 1
        match &self.delivery_restrictions {
            Some(d) => {
                w.flag(d.web_delivery_allowed_flag); // web_delivery_allowed_flag: 1
                w.flag(d.no_regional_blackout_flag); // no_regional_blackout_flag: 1
                w.flag(d.archive_allowed_flag); // archive_allowed_flag: 1
                w.put(
                    2,
                    u64::from(d.device_restrictions),
                    "segmentation_descriptor.device_restrictions",
                ); // 2
            }
            None => w.reserved(5), // reserved: 5
        }
        if !self.program_segmentation_flag {
            w.put(
                8,
                self.components.len() as u64,
                "segmentation_descriptor.component_count",
            ); // component_count: 8
            for c in &self.components {
                w.put(
                    8,
                    u64::from(c.component_tag),
                    "segmentation_descriptor.component_tag",
                ); // component_tag: 8
                w.reserved(7); // reserved: 7
                w.put(33, c.pts_offset, "segmentation_descriptor.pts_offset"); // pts_offset: 33
            }
        }
        if let Some(d) = self.segmentation_duration {
            w.put(40, d, "segmentation_descriptor.segmentation_duration"); // segmentation_duration: 40
        }
        w.put(
            8,
            u64::from(self.segmentation_upid_type),
            "segmentation_descriptor.segmentation_upid_type",
        ); // 8
        w.put(
            8,
            self.segmentation_upid.len() as u64,
            "segmentation_descriptor.segmentation_upid_length",
        ); // 8
        w.bytes(&self.segmentation_upid); // segmentation_upid()
        w.put(
            8,
            u64::from(self.segmentation_type_id),
            "segmentation_descriptor.segmentation_type_id",
        ); // 8
        w.put(
            8,
            u64::from(self.segment_num),
            "segmentation_descriptor.segment_num",
        ); // segment_num: 8
        w.put(
            8,
            u64::from(self.segments_expected),
            "segmentation_descriptor.segments_expected",
        ); // segments_expected: 8
        if let Some(s) = &self.sub_segment {
            w.put(
                8,
                u64::from(s.sub_segment_num),
                "segmentation_descriptor.sub_segment_num",
            ); // sub_segment_num: 8
            w.put(
                8,
                u64::from(s.sub_segments_expected),
                "segmentation_descriptor.sub_segments_expected",
            ); // 8
        }
    }

    pub(crate) fn decode(r: &mut BitReader<'_>) -> Result<Self, DecodeError> {
        let segmentation_event_id = r.u32(32, "segmentation_event_id")?; // 32
        let segmentation_event_cancel_indicator = r.flag("segmentation_event_cancel_indicator")?; // 1
        let segmentation_event_id_compliance_indicator =
            r.flag("segmentation_event_id_compliance_indicator")?; // 1
        r.skip(6)?; // reserved: 6
        if segmentation_event_cancel_indicator {
            return Ok(SegmentationDescriptor {
                segmentation_event_id,
                segmentation_event_cancel_indicator,
                segmentation_event_id_compliance_indicator,
                ..SegmentationDescriptor::default()
            });
        }
        let program_segmentation_flag = r.flag("program_segmentation_flag")?; // 1
        let segmentation_duration_flag = r.flag("segmentation_duration_flag")?; // 1
        let delivery_not_restricted_flag = r.flag("delivery_not_restricted_flag")?; // 1
        let delivery_restrictions = if delivery_not_restricted_flag {
            r.skip(5)?; // reserved: 5
            None
        } else {
            Some(DeliveryRestrictions {
                web_delivery_allowed_flag: r.flag("web_delivery_allowed_flag")?, // 1
                no_regional_blackout_flag: r.flag("no_regional_blackout_flag")?, // 1
                archive_allowed_flag: r.flag("archive_allowed_flag")?,           // 1
                device_restrictions: r.u8(2, "device_restrictions")?,            // 2
            })
        };
        let mut components = Vec::new();
        if !program_segmentation_flag {
            let component_count = r.u8(8, "component_count")?; // component_count: 8
            components.reserve(usize::from(component_count).min(r.remaining() / 6));
            for _ in 0..component_count {
                let component_tag = r.u8(8, "component_tag")?; // component_tag: 8
                r.skip(7)?; // reserved: 7
                let pts_offset = r.get(33, "pts_offset")?; // pts_offset: 33
                components.push(SegmentationComponent {
                    component_tag,
                    pts_offset,
                });
            }
        }
        let segmentation_duration = if segmentation_duration_flag {
            Some(r.get(40, "segmentation_duration")?) // segmentation_duration: 40
        } else {
            None
        };
        let segmentation_upid_type = r.u8(8, "segmentation_upid_type")?; // 8
        let segmentation_upid_length = r.u8(8, "segmentation_upid_length")?; // 8
        let segmentation_upid = r
            .bytes(usize::from(segmentation_upid_length), "segmentation_upid")?
            .to_vec();
        let segmentation_type_id = r.u8(8, "segmentation_type_id")?; // segmentation_type_id: 8
        let segment_num = r.u8(8, "segment_num")?; // segment_num: 8
        let segments_expected = r.u8(8, "segments_expected")?; // segments_expected: 8
        let sub_segment = if SUB_SEGMENT_TYPES.contains(&segmentation_type_id) && r.remaining() >= 2
        {
            Some(SubSegment {
                sub_segment_num: r.u8(8, "sub_segment_num")?, // sub_segment_num: 8
                sub_segments_expected: r.u8(8, "sub_segments_expected")?, // 8
            })
        } else {
            None
        };
        Ok(SegmentationDescriptor {
            segmentation_event_id,
            segmentation_event_cancel_indicator,
            segmentation_event_id_compliance_indicator,
            program_segmentation_flag,
            delivery_restrictions,
            components,
            segmentation_duration,
            segmentation_upid_type,
            segmentation_upid,
            segmentation_type_id,
            segment_num,
            segments_expected,
            sub_segment,
        })
    }
}
