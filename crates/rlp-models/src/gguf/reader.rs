//! The GGUF container (version 2 and 3), as llama.cpp's `gguf.h` lays it out: a header
//! (`GGUF`, version, tensor count, metadata count), typed key/value metadata, tensor
//! descriptors (name, dims with `ne0` innermost, ggml type, offset), then the tensor data at
//! `general.alignment` (default 32). Every read is bounds-checked, so a truncated file is an
//! error naming the key or tensor being read, never a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{ModelError, Result};
use crate::gguf::quant::GgmlType;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// Any unsigned integer type (u8 … u64).
    Uint(u64),
    /// Any signed integer type (i8 … i64).
    Int(i64),
    /// f32 or f64; f32 values keep their f32 rounding in [`MetaValue::F32`].
    F64(f64),
    /// An f32, kept as stored.
    F32(f32),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string (invalid bytes replaced).
    Str(String),
    /// An array of values.
    Array(Vec<MetaValue>),
}

/// One tensor descriptor.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// The GGUF name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions with `ne0` (the innermost, contiguous one) first.
    pub dims: Vec<u64>,
    /// The element type.
    pub ty: GgmlType,
    /// Byte offset from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements (`None` when the product of the dims overflows 64 bits).
    pub fn numel(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
    }

    /// The row-major shape as Hugging Face stores it: the dims reversed (`[ne1, ne0]`).
    pub fn hf_shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

/// A parsed GGUF file: metadata, tensor descriptors, and the raw bytes.
pub struct GgufFile {
    /// The file it was read from (named in errors).
    pub path: PathBuf,
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata by key.
    pub meta: BTreeMap<String, MetaValue>,
    /// Tensor descriptors in file order.
    pub tensors: Vec<TensorInfo>,
    bytes: Vec<u8>,
    data_start: usize,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl Cursor<'_> {
    fn err(&self, what: &str, message: impl Into<String>) -> ModelError {
        ModelError::Gguf {
            path: self.path.to_path_buf(),
            what: what.into(),
            message: message.into(),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(self.err(
                what,
                format!(
                    "file ends at byte {} while reading {n} bytes at {} (truncated?)",
                    self.bytes.len(),
                    self.pos
                ),
            )),
        }
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.u64(what)?;
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.bytes.len())
            .ok_or_else(|| self.err(what, format!("string length {n} exceeds the file")))?;
        Ok(String::from_utf8_lossy(self.take(n, what)?).into_owned())
    }

    fn value(&mut self, ty: u32, key: &str, depth: usize) -> Result<MetaValue> {
        let b = |c: &mut Self, n| c.take(n, key).map(|s| s.to_vec());
        Ok(match ty {
            0 => MetaValue::Uint(b(self, 1)?[0] as u64),
            1 => MetaValue::Int(b(self, 1)?[0] as i8 as i64),
            2 => MetaValue::Uint(u16::from_le_bytes(b(self, 2)?.try_into().unwrap()) as u64),
            3 => MetaValue::Int(i16::from_le_bytes(b(self, 2)?.try_into().unwrap()) as i64),
            4 => MetaValue::Uint(self.u32(key)? as u64),
            5 => MetaValue::Int(self.u32(key)? as i32 as i64),
            6 => MetaValue::F32(f32::from_bits(self.u32(key)?)),
            7 => MetaValue::Bool(b(self, 1)?[0] != 0),
            8 => MetaValue::Str(self.string(key)?),
            9 => {
                if depth > 4 {
                    return Err(self.err(key, "arrays nested too deeply"));
                }
                let ety = self.u32(key)?;
                let n = self.u64(key)?;
                // Every element takes at least one byte, so a longer array cannot fit.
                let left = (self.bytes.len() - self.pos) as u64;
                if n > left {
                    return Err(self.err(
                        key,
                        format!("array length {n} exceeds the {left} bytes left in the file"),
                    ));
                }
                // Grow as elements actually parse rather than trusting the claimed length.
                let mut v = Vec::with_capacity((n as usize).min(4096));
                for _ in 0..n {
                    v.push(self.value(ety, key, depth + 1)?);
                }
                MetaValue::Array(v)
            }
            10 => MetaValue::Uint(self.u64(key)?),
            11 => MetaValue::Int(self.u64(key)? as i64),
            12 => MetaValue::F64(f64::from_bits(self.u64(key)?)),
            other => return Err(self.err(key, format!("unknown metadata value type {other}"))),
        })
    }
}

impl GgufFile {
    /// Reads and parses `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        Self::parse(path, bytes)
    }

    /// Parses GGUF bytes; `path` names the file in errors.
    pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        let mut c = Cursor {
            bytes: &bytes,
            pos: 0,
            path,
        };
        let magic = c.take(4, "header")?.to_vec();
        if magic != b"GGUF" {
            return Err(c.err("header", format!("not a GGUF file (magic {magic:?})")));
        }
        let version = c.u32("header")?;
        if !(2..=3).contains(&version) {
            return Err(c.err(
                "header",
                format!("GGUF version {version} (2 and 3 are supported)"),
            ));
        }
        let n_tensors = c.u64("header")?;
        let n_kv = c.u64("header")?;
        // A metadata entry takes at least 12 bytes (key length, value type) and a tensor
        // descriptor at least 32 (name length, dims count, one dim, type, offset): counts that
        // cannot fit in the file are refused before anything is allocated for them.
        let left = (bytes.len() - c.pos) as u128;
        let need = n_kv as u128 * 12 + n_tensors as u128 * 32;
        if need > left {
            return Err(c.err(
                "header",
                format!(
                    "claims {n_tensors} tensors and {n_kv} metadata entries, which need at least \
                     {need} bytes, but {left} bytes follow the header (corrupt or truncated)"
                ),
            ));
        }
        let mut meta = BTreeMap::new();
        for i in 0..n_kv {
            let key = c.string(&format!("metadata key #{i}"))?;
            let ty = c.u32(&key)?;
            let v = c.value(ty, &key, 0)?;
            meta.insert(key, v);
        }
        let mut tensors = Vec::new();
        for i in 0..n_tensors {
            let name = c.string(&format!("tensor #{i}"))?;
            let nd = c.u32(&name)?;
            if nd == 0 || nd > 4 {
                return Err(c.err(&name, format!("{nd} dimensions (1 to 4 are valid)")));
            }
            let mut dims = Vec::with_capacity(nd as usize);
            for _ in 0..nd {
                dims.push(c.u64(&name)?);
            }
            let ty_id = c.u32(&name)?;
            let ty = GgmlType::from_id(ty_id);
            let offset = c.u64(&name)?;
            tensors.push(TensorInfo {
                name,
                dims,
                ty,
                offset,
            });
        }
        let align = match meta.get("general.alignment") {
            Some(MetaValue::Uint(a)) if *a > 0 && a.is_power_of_two() => *a as usize,
            None => 32,
            Some(v) => {
                return Err(c.err("general.alignment", format!("{v:?} is not a power of two")));
            }
        };
        let data_start = c.pos.div_ceil(align).checked_mul(align).ok_or_else(|| {
            c.err(
                "general.alignment",
                format!("{align} overflows the offsets"),
            )
        })?;
        let file = Self {
            path: path.to_path_buf(),
            version,
            meta,
            tensors,
            bytes,
            data_start,
        };
        for t in &file.tensors {
            file.tensor_bytes(t)?;
        }
        Ok(file)
    }

    fn err(&self, what: &str, message: impl Into<String>) -> ModelError {
        ModelError::Gguf {
            path: self.path.clone(),
            what: what.into(),
            message: message.into(),
        }
    }

    /// The raw bytes of a tensor, checked against the file length (in 128-bit arithmetic, so
    /// no offset, dim or size from the file can wrap around).
    pub fn tensor_bytes(&self, t: &TensorInfo) -> Result<&[u8]> {
        let numel = t.numel().ok_or_else(|| {
            self.err(
                &t.name,
                format!("dims {:?} overflow 64 bits of elements", t.dims),
            )
        })?;
        let size = t.ty.byte_size(numel).map_err(|m| self.err(&t.name, m))?;
        let start = self.data_start as u128 + t.offset as u128;
        let end = start + size as u128;
        if end > self.bytes.len() as u128 {
            return Err(self.err(
                &t.name,
                format!(
                    "data at offset {} runs to byte {end} but the file has {} bytes (truncated \
                     or a bad offset?)",
                    t.offset,
                    self.bytes.len()
                ),
            ));
        }
        // Both bounds are at most the file length here, so they fit in usize.
        Ok(&self.bytes[start as usize..end as usize])
    }

    /// A tensor descriptor by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Dequantizes a tensor to f32 in file order (row-major over the reversed dims).
    pub fn dequantize(&self, t: &TensorInfo) -> Result<Vec<f32>> {
        let bytes = self.tensor_bytes(t)?;
        t.ty.dequantize(bytes, t.numel().unwrap_or(0) as usize)
            .map_err(|m| self.err(&t.name, m))
    }

    /// A required metadata value.
    pub fn get(&self, key: &str) -> Result<&MetaValue> {
        self.meta
            .get(key)
            .ok_or_else(|| self.err(key, "missing metadata key"))
    }

    /// A required string.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        match self.get(key)? {
            MetaValue::Str(s) => Ok(s),
            v => Err(self.err(key, format!("expected a string, found {}", kind(v)))),
        }
    }

    /// A required unsigned integer.
    pub fn get_uint(&self, key: &str) -> Result<u64> {
        match self.get(key)? {
            MetaValue::Uint(u) => Ok(*u),
            MetaValue::Int(i) if *i >= 0 => Ok(*i as u64),
            v => Err(self.err(
                key,
                format!("expected an unsigned integer, found {}", kind(v)),
            )),
        }
    }

    /// An optional unsigned integer (an error only when present with the wrong type).
    pub fn opt_uint(&self, key: &str) -> Result<Option<u64>> {
        if self.meta.contains_key(key) {
            self.get_uint(key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A required float. An f32 is returned as the shortest decimal that rounds to it
    /// (`1e-5`, not `9.99999974e-6`), which is what the converter wrote from the HF config.
    pub fn get_float(&self, key: &str) -> Result<f64> {
        match self.get(key)? {
            MetaValue::F32(f) => Ok(format!("{f}").parse().expect("f32 prints as a number")),
            MetaValue::F64(f) => Ok(*f),
            MetaValue::Uint(u) => Ok(*u as f64),
            MetaValue::Int(i) => Ok(*i as f64),
            v => Err(self.err(key, format!("expected a number, found {}", kind(v)))),
        }
    }

    /// A required array of strings.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>> {
        match self.get(key)? {
            MetaValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    MetaValue::Str(s) => Ok(s.as_str()),
                    v => Err(self.err(key, format!("item {i} is {}, not a string", kind(v)))),
                })
                .collect(),
            v => Err(self.err(key, format!("expected an array, found {}", kind(v)))),
        }
    }

    /// A required array of integers.
    pub fn get_int_array(&self, key: &str) -> Result<Vec<i64>> {
        match self.get(key)? {
            MetaValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    MetaValue::Int(x) => Ok(*x),
                    MetaValue::Uint(x) => Ok(*x as i64),
                    v => Err(self.err(key, format!("item {i} is {}, not an integer", kind(v)))),
                })
                .collect(),
            v => Err(self.err(key, format!("expected an array, found {}", kind(v)))),
        }
    }
}

fn kind(v: &MetaValue) -> &'static str {
    match v {
        MetaValue::Uint(_) => "an unsigned integer",
        MetaValue::Int(_) => "a signed integer",
        MetaValue::F64(_) | MetaValue::F32(_) => "a float",
        MetaValue::Bool(_) => "a bool",
        MetaValue::Str(_) => "a string",
        MetaValue::Array(_) => "an array",
    }
}
