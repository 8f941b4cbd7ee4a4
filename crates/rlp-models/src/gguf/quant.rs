//! ggml element types and their dequantization to f32. Supported: `F32`, `F16`, `Q8_0`
//! (34-byte blocks: f16 scale `d`, 32 × i8 `q`; `x = d·q`) and `Q4_1` (20-byte blocks: f16 `d`,
//! f16 `m`, 16 bytes of nibbles; `x[j] = d·(q[j] & 15) + m`, `x[j+16] = d·(q[j] >> 4) + m`).
//! Every other type is recognised by name and refused with an error naming it.

use half::f16;

/// A ggml tensor element type (`enum ggml_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// 4-bit blocks of 32 with an f16 scale and minimum.
    Q4_1,
    /// 8-bit blocks of 32 with an f16 scale.
    Q8_0,
    /// A type this importer does not dequantize (its ggml id and name).
    Unsupported(u32, &'static str),
}

/// Elements per quantization block.
pub const QK: usize = 32;

fn ggml_name(id: u32) -> &'static str {
    match id {
        2 => "Q4_0",
        6 => "Q5_0",
        7 => "Q5_1",
        9 => "Q8_1",
        10 => "Q2_K",
        11 => "Q3_K",
        12 => "Q4_K",
        13 => "Q5_K",
        14 => "Q6_K",
        15 => "Q8_K",
        16 => "IQ2_XXS",
        17 => "IQ2_XS",
        18 => "IQ3_XXS",
        19 => "IQ1_S",
        20 => "IQ4_NL",
        21 => "IQ3_S",
        22 => "IQ2_S",
        23 => "IQ4_XS",
        24 => "I8",
        25 => "I16",
        26 => "I32",
        27 => "I64",
        28 => "F64",
        29 => "IQ1_M",
        30 => "BF16",
        34 => "TQ1_0",
        35 => "TQ2_0",
        39 => "MXFP4",
        _ => "unknown",
    }
}

impl GgmlType {
    /// The type for a ggml id.
    pub fn from_id(id: u32) -> Self {
        match id {
            0 => Self::F32,
            1 => Self::F16,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            other => Self::Unsupported(other, ggml_name(other)),
        }
    }

    /// The ggml name.
    pub fn name(self) -> String {
        match self {
            Self::F32 => "F32".into(),
            Self::F16 => "F16".into(),
            Self::Q4_1 => "Q4_1".into(),
            Self::Q8_0 => "Q8_0".into(),
            Self::Unsupported(id, name) => format!("{name} (ggml type {id})"),
        }
    }

    fn unsupported(self) -> String {
        format!(
            "tensor type {} is not supported (F32, F16, Q8_0 and Q4_1 are)",
            self.name()
        )
    }

    /// Bytes taken by `numel` elements; errors for unsupported types and partial blocks.
    pub fn byte_size(self, numel: u64) -> Result<u64, String> {
        let blocks = |block_bytes: u64| {
            if numel % QK as u64 != 0 {
                Err(format!(
                    "{numel} elements is not a whole number of {QK}-element {} blocks",
                    self.name()
                ))
            } else {
                (numel / QK as u64).checked_mul(block_bytes).ok_or_else(|| {
                    format!("{numel} {} elements overflow 64 bits of bytes", self.name())
                })
            }
        };
        let times = |bytes: u64| {
            numel.checked_mul(bytes).ok_or_else(|| {
                format!("{numel} {} elements overflow 64 bits of bytes", self.name())
            })
        };
        match self {
            Self::F32 => times(4),
            Self::F16 => times(2),
            Self::Q8_0 => blocks(34),
            Self::Q4_1 => blocks(20),
            Self::Unsupported(..) => Err(self.unsupported()),
        }
    }

    /// Dequantizes `numel` elements from `bytes` (which must be exactly [`Self::byte_size`]).
    pub fn dequantize(self, bytes: &[u8], numel: usize) -> Result<Vec<f32>, String> {
        let want = self.byte_size(numel as u64)? as usize;
        if bytes.len() != want {
            return Err(format!(
                "{} bytes for {numel} {} elements, expected {want}",
                bytes.len(),
                self.name()
            ));
        }
        let h = |b: &[u8]| f16::from_le_bytes([b[0], b[1]]).to_f32();
        let mut out = Vec::with_capacity(numel);
        match self {
            Self::F32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            ),
            Self::F16 => out.extend(bytes.chunks_exact(2).map(h)),
            Self::Q8_0 => {
                for block in bytes.chunks_exact(34) {
                    let d = h(&block[..2]);
                    out.extend(block[2..].iter().map(|&q| d * (q as i8) as f32));
                }
            }
            Self::Q4_1 => {
                for block in bytes.chunks_exact(20) {
                    let (d, m) = (h(&block[..2]), h(&block[2..4]));
                    let qs = &block[4..];
                    out.extend(qs.iter().map(|&q| d * (q & 15) as f32 + m));
                    out.extend(qs.iter().map(|&q| d * (q >> 4) as f32 + m));
                }
            }
            Self::Unsupported(..) => return Err(self.unsupported()),
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f16b(x: f32) -> [u8; 2] {
        f16::from_f32(x).to_le_bytes()
    }

    #[test]
    fn q4_1_block_golden_values() {
        // d = 0.5, m = -1.0 (both exact in f16). Byte j holds low nibble j % 16 and high nibble
        // 15 - j % 16, so element j (< 16) = 0.5·j − 1 and element j + 16 = 0.5·(15 − j) − 1:
        // x[0] = −1, x[3] = 0.5, x[15] = 6.5, x[16] = 6.5, x[31] = −1.
        let mut block = Vec::new();
        block.extend(f16b(0.5));
        block.extend(f16b(-1.0));
        block.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let x = GgmlType::Q4_1.dequantize(&block, 32).unwrap();
        assert_eq!(x.len(), 32);
        assert_eq!(
            (x[0], x[3], x[15], x[16], x[31]),
            (-1.0, 0.5, 6.5, 6.5, -1.0)
        );
        for j in 0..16 {
            assert_eq!(x[j], 0.5 * j as f32 - 1.0);
            assert_eq!(x[j + 16], 0.5 * (15 - j) as f32 - 1.0);
        }
    }

    #[test]
    fn q8_0_and_f16_golden_values() {
        // d = 0.25; q = −128, −1, 0, 1, 127, … → x = −32, −0.25, 0, 0.25, 31.75.
        let mut block = Vec::from(f16b(0.25));
        let qs: Vec<i8> = (0..32).map(|i| [-128, -1, 0, 1, 127][i % 5]).collect();
        block.extend(qs.iter().map(|&q| q as u8));
        let x = GgmlType::Q8_0.dequantize(&block, 32).unwrap();
        assert_eq!(&x[..5], &[-32.0, -0.25, 0.0, 0.25, 31.75]);
        let bytes: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|&v| f16b(v)).collect();
        assert_eq!(
            GgmlType::F16.dequantize(&bytes, 2).unwrap(),
            vec![1.5, -2.0]
        );
    }

    #[test]
    fn unsupported_types_and_partial_blocks_are_named() {
        let e = GgmlType::from_id(12)
            .dequantize(&[0; 144], 256)
            .unwrap_err();
        assert!(e.contains("Q4_K") && e.contains("not supported"), "{e}");
        let e = GgmlType::Q4_1.byte_size(33).unwrap_err();
        assert!(e.contains("33 elements"), "{e}");
        let e = GgmlType::Q8_0.dequantize(&[0; 10], 32).unwrap_err();
        assert!(e.contains("expected 34"), "{e}");
    }
}
