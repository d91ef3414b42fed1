//! audio_descriptor() — SCTE 35 2023r1 §10.3.5 (Table 26).

use crate::scte35::DecodeError;
use crate::scte35::bits::{BitReader, BitWriter};

/// audio_descriptor(): the audio services of the program (tag 0x04).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AudioDescriptor {
    /// audio_count: 4 and the component loop (at most 15).
    pub components: Vec<AudioComponent>,
}

/// One audio component of an [`AudioDescriptor`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AudioComponent {
    /// component_tag: 8
    pub component_tag: u8,
    /// ISO_code: 24 (ISO 639-2 language code, three ASCII bytes)
    pub iso_code: u32,
    /// Bit_Stream_Mode: 3
    pub bit_stream_mode: u8,
    /// Num_Channels: 4
    pub num_channels: u8,
    /// Full_Srvc_Audio: 1
    pub full_srvc_audio: bool,
}

impl AudioDescriptor {
    pub(crate) fn body_len(&self) -> usize {
        1 + 5 * self.components.len()
    }

    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        w.put(
            4,
            self.components.len() as u64,
            "audio_descriptor.audio_count",
        ); // audio_count: 4
        w.reserved(4); // reserved: 4
        for c in &self.components {
            w.put(
                8,
                u64::from(c.component_tag),
                "audio_descriptor.component_tag",
            ); // component_tag: 8
            w.put(24, u64::from(c.iso_code), "audio_descriptor.ISO_code"); // ISO_code: 24
            w.put(
                3,
                u64::from(c.bit_stream_mode),
                "audio_descriptor.Bit_Stream_Mode",
            ); // Bit_Stream_Mode: 3
            w.put(
                4,
                u64::from(c.num_channels),
                "audio_descriptor.Num_Channels",
            ); // Num_Channels: 4
            w.flag(c.full_srvc_audio); // Full_Srvc_Audio: 1
        }
    }

    pub(crate) fn decode(r: &mut BitReader<'_>) -> Result<Self, DecodeError> {
        let audio_count = r.u8(4, "audio_count")?; // audio_count: 4
        r.skip(4)?; // reserved: 4
        let mut components = Vec::with_capacity(usize::from(audio_count));
        for _ in 0..audio_count {
            components.push(AudioComponent {
                component_tag: r.u8(8, "component_tag")?, // component_tag: 8
                iso_code: r.u32(24, "ISO_code")?,         // ISO_code: 24
                bit_stream_mode: r.u8(3, "Bit_Stream_Mode")?, // Bit_Stream_Mode: 3
                num_channels: r.u8(4, "Num_Channels")?,   // Num_Channels: 4
                full_srvc_audio: r.flag("Full_Srvc_Audio")?, // Full_Srvc_Audio: 1
            });
        }
        Ok(AudioDescriptor { components })
    }
}
