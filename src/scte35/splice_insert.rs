//! splice_insert() — SCTE 35 2023r1 §9.7.3 (Table 10).

use super::bits::{BitReader, BitWriter, range_error};
use super::break_duration::BreakDuration;
use super::splice_time;
use super::{DecodeError, EncodeError};

/// splice_insert(): an avail (OUT) or a return to the network (IN), or the cancellation of one.
///
/// The flags are kept as the standard has them. When `splice_event_cancel_indicator` is set nothing
/// after it is on the wire; decoding then leaves the remaining fields at their [`Default`] values
/// and encoding ignores them. `pts_time` is the program-mode splice_time(): it is written only when
/// `program_splice_flag` is 1 and `splice_immediate_flag` is 0 (`None`: time_specified_flag 0);
/// `components` is written only when `program_splice_flag` is 0; `break_duration` is present
/// exactly when duration_flag is 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SpliceInsert {
    /// splice_event_id: 32
    pub splice_event_id: u32,
    /// splice_event_cancel_indicator: 1
    pub splice_event_cancel_indicator: bool,
    /// out_of_network_indicator: 1
    pub out_of_network_indicator: bool,
    /// program_splice_flag: 1
    pub program_splice_flag: bool,
    /// splice_immediate_flag: 1
    pub splice_immediate_flag: bool,
    /// event_id_compliance_flag: 1 (a reserved bit, always 1, before SCTE 35 2023)
    pub event_id_compliance_flag: bool,
    /// splice_time() in program mode: pts_time: 33, `None` when time_specified_flag is 0.
    pub pts_time: Option<u64>,
    /// component_count: 8 and the component loop (component mode only).
    pub components: Vec<SpliceInsertComponent>,
    /// break_duration(), present when duration_flag is 1.
    pub break_duration: Option<BreakDuration>,
    /// unique_program_id: 16
    pub unique_program_id: u16,
    /// avail_num: 8
    pub avail_num: u8,
    /// avails_expected: 8
    pub avails_expected: u8,
}

impl Default for SpliceInsert {
    fn default() -> Self {
        SpliceInsert {
            splice_event_id: 0,
            splice_event_cancel_indicator: false,
            out_of_network_indicator: false,
            program_splice_flag: true,
            splice_immediate_flag: false,
            event_id_compliance_flag: true,
            pts_time: None,
            components: Vec::new(),
            break_duration: None,
            unique_program_id: 0,
            avail_num: 0,
            avails_expected: 0,
        }
    }
}

/// One component of a component-mode splice_insert().
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SpliceInsertComponent {
    /// component_tag: 8
    pub component_tag: u8,
    /// splice_time() (only when splice_immediate_flag is 0): pts_time: 33, `None` when time_specified_flag is 0.
    pub pts_time: Option<u64>,
}

impl SpliceInsert {
    /// duration_flag as it goes on the wire.
    pub fn duration_flag(&self) -> bool {
        self.break_duration.is_some()
    }

    pub(crate) fn encoded_len(&self) -> usize {
        let mut len = 5; // splice_event_id, cancel indicator + reserved
        if self.splice_event_cancel_indicator {
            return len;
        }
        len += 1; // flags
        if self.program_splice_flag {
            if !self.splice_immediate_flag {
                len += splice_time::encoded_len(self.pts_time);
            }
        } else {
            len += 1; // component_count
            for c in &self.components {
                len += 1;
                if !self.splice_immediate_flag {
                    len += splice_time::encoded_len(c.pts_time);
                }
            }
        }
        if self.break_duration.is_some() {
            len += BreakDuration::ENCODED_LEN;
        }
        len + 4 // unique_program_id, avail_num, avails_expected
    }

    /// component_count when it does not fit (asked before an enclosing length that overflows
    /// too, so the innermost field is named).
    pub(crate) fn length_error(&self) -> Option<EncodeError> {
        if self.splice_event_cancel_indicator || self.program_splice_flag {
            return None;
        }
        range_error(
            8,
            self.components.len() as u64,
            "splice_insert.component_count",
        )
    }

    #[inline]
    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        w.put(
            32,
            u64::from(self.splice_event_id),
            "splice_insert.splice_event_id",
        ); // splice_event_id: 32
        w.flag(self.splice_event_cancel_indicator); // splice_event_cancel_indicator: 1
        w.reserved(7); // reserved: 7
        if self.splice_event_cancel_indicator {
            return;
        }
        w.flag(self.out_of_network_indicator); // out_of_network_indicator: 1
        w.flag(self.program_splice_flag); // program_splice_flag: 1
        w.flag(self.break_duration.is_some()); // duration_flag: 1
        w.flag(self.splice_immediate_flag); // splice_immediate_flag: 1
        w.flag(self.event_id_compliance_flag); // event_id_compliance_flag: 1
        w.reserved(3); // reserved: 3
        if self.program_splice_flag {
            if !self.splice_immediate_flag {
                splice_time::encode(w, self.pts_time, "splice_insert.splice_time.pts_time");
            }
        } else {
            w.put(
                8,
                self.components.len() as u64,
                "splice_insert.component_count",
            ); // component_count: 8
            for c in &self.components {
                w.put(8, u64::from(c.component_tag), "splice_insert.component_tag"); // component_tag: 8
                if !self.splice_immediate_flag {
                    splice_time::encode(
                        w,
                        c.pts_time,
                        "splice_insert.component.splice_time.pts_time",
                    );
                }
            }
        }
        if let Some(bd) = &self.break_duration {
            bd.encode(w);
        }
        w.put(
            16,
            u64::from(self.unique_program_id),
            "splice_insert.unique_program_id",
        ); // unique_program_id: 16
        w.put(8, u64::from(self.avail_num), "splice_insert.avail_num"); // avail_num: 8
        w.put(
            8,
            u64::from(self.avails_expected),
            "splice_insert.avails_expected",
        ); // avails_expected: 8
    }

    #[inline]
    pub(crate) fn decode(r: &mut BitReader<'_>) -> Result<Self, DecodeError> {
        let splice_event_id = r.u32(32, "splice_event_id")?; // splice_event_id: 32
        let splice_event_cancel_indicator = r.flag("splice_event_cancel_indicator")?; // 1
        r.skip(7)?; // reserved: 7
        if splice_event_cancel_indicator {
            return Ok(SpliceInsert {
                splice_event_id,
                splice_event_cancel_indicator,
                ..SpliceInsert::default()
            });
        }
        let out_of_network_indicator = r.flag("out_of_network_indicator")?; // 1
        let program_splice_flag = r.flag("program_splice_flag")?; // 1
        let duration_flag = r.flag("duration_flag")?; // 1
        let splice_immediate_flag = r.flag("splice_immediate_flag")?; // 1
        let event_id_compliance_flag = r.flag("event_id_compliance_flag")?; // 1
        r.skip(3)?; // reserved: 3
        let mut pts_time = None;
        let mut components = Vec::new();
        if program_splice_flag {
            if !splice_immediate_flag {
                pts_time = splice_time::decode(r)?;
            }
        } else {
            let component_count = r.u8(8, "component_count")?; // component_count: 8
            components.reserve(usize::from(component_count).min(r.remaining()));
            for _ in 0..component_count {
                let component_tag = r.u8(8, "component_tag")?; // component_tag: 8
                let pts_time = if splice_immediate_flag {
                    None
                } else {
                    splice_time::decode(r)?
                };
                components.push(SpliceInsertComponent {
                    component_tag,
                    pts_time,
                });
            }
        }
        let break_duration = if duration_flag {
            Some(BreakDuration::decode(r)?)
        } else {
            None
        };
        let unique_program_id = r.u16(16, "unique_program_id")?; // unique_program_id: 16
        let avail_num = r.u8(8, "avail_num")?; // avail_num: 8
        let avails_expected = r.u8(8, "avails_expected")?; // avails_expected: 8
        Ok(SpliceInsert {
            splice_event_id,
            splice_event_cancel_indicator,
            out_of_network_indicator,
            program_splice_flag,
            splice_immediate_flag,
            event_id_compliance_flag,
            pts_time,
            components,
            break_duration,
            unique_program_id,
            avail_num,
            avails_expected,
        })
    }
}
