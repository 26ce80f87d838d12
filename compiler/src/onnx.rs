//! The ONNX protobuf layer: generated prost types, and decoding of tensors
//! (inline or in external data files) into [`ConstTensor`]s.

#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/onnx.rs"));

use crate::error::{CompileError, Result};
use crate::value::{ConstTensor, DType};
use std::path::Path;

/// Upper bound on elements of one tensor read from a file (2^31): checked
/// before allocating.
const MAX_ELEMENTS: u64 = 1 << 31;

fn ext_err(t: &TensorProto, reason: impl Into<String>) -> CompileError {
    CompileError::ExternalData {
        tensor: t.name.clone(),
        reason: reason.into(),
    }
}

fn bad(t: &TensorProto, reason: impl Into<String>) -> CompileError {
    CompileError::Model {
        node: t.name.clone(),
        op: "tensor".into(),
        reason: reason.into(),
    }
}

/// Reads the bytes of a tensor stored in an external file next to the model.
fn external_bytes(t: &TensorProto, base: Option<&Path>) -> Result<Vec<u8>> {
    let mut location = None;
    let (mut offset, mut length) = (0u64, None);
    for e in &t.external_data {
        match e.key.as_str() {
            "location" => location = Some(e.value.clone()),
            "offset" => {
                offset = e
                    .value
                    .parse()
                    .map_err(|_| ext_err(t, format!("bad offset '{}'", e.value)))?
            }
            "length" => {
                length = Some(
                    e.value
                        .parse::<u64>()
                        .map_err(|_| ext_err(t, format!("bad length '{}'", e.value)))?,
                )
            }
            _ => {}
        }
    }
    let location = location.ok_or_else(|| ext_err(t, "no location given"))?;
    let rel = Path::new(&location);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(ext_err(
            t,
            format!("location '{location}' must be a relative path inside the model's folder"),
        ));
    }
    let base = base.ok_or_else(|| {
        ext_err(
            t,
            "the model was not loaded from a file, so external data cannot be found",
        )
    })?;
    let path = base.join(rel);
    let data = std::fs::read(&path)
        .map_err(|e| ext_err(t, format!("cannot read {}: {e}", path.display())))?;
    let end = match length {
        Some(l) => offset
            .checked_add(l)
            .ok_or_else(|| ext_err(t, "offset + length overflows"))?,
        None => data.len() as u64,
    };
    if offset > end || end > data.len() as u64 {
        return Err(ext_err(
            t,
            format!(
                "range {offset}..{end} is outside {} ({} bytes)",
                path.display(),
                data.len()
            ),
        ));
    }
    Ok(data[offset as usize..end as usize].to_vec())
}

/// Decodes a tensor's values into f64 (exact for every integer type zkinf
/// reads, and for float32).
pub fn decode_tensor(t: &TensorProto, base: Option<&Path>) -> Result<ConstTensor> {
    let dtype = DType::from_onnx(t.data_type);
    let mut shape = Vec::with_capacity(t.dims.len());
    let mut count: u64 = 1;
    for &d in &t.dims {
        if d < 0 {
            return Err(bad(t, format!("negative dimension {d}")));
        }
        count = count
            .checked_mul(d as u64)
            .filter(|&c| c <= MAX_ELEMENTS)
            .ok_or_else(|| bad(t, "tensor too large"))?;
        shape.push(d as usize);
    }
    let n = count as usize;
    let raw = if t.data_location == 1 {
        Some(external_bytes(t, base)?)
    } else if !t.raw_data.is_empty() {
        Some(t.raw_data.clone())
    } else {
        None
    };
    let data: Vec<f64> = if let Some(raw) = raw {
        let width = dtype
            .byte_width()
            .ok_or_else(|| bad(t, format!("element type {} is not supported", dtype.name())))?;
        if raw.len() != n * width {
            return Err(bad(
                t,
                format!(
                    "raw data has {} bytes, expected {} for shape {:?}",
                    raw.len(),
                    n * width,
                    shape
                ),
            ));
        }
        raw.chunks_exact(width).map(|c| dtype.read_le(c)).collect()
    } else {
        let v: Vec<f64> = match dtype {
            DType::F32 => t.float_data.iter().map(|&x| x as f64).collect(),
            DType::F64 => t.double_data.clone(),
            DType::I64 => t.int64_data.iter().map(|&x| x as f64).collect(),
            DType::U32 | DType::U64 => t.uint64_data.iter().map(|&x| x as f64).collect(),
            DType::F16 => t.int32_data.iter().map(|&x| f16_to_f64(x as u16)).collect(),
            DType::I8 | DType::U8 | DType::I16 | DType::U16 | DType::I32 | DType::Bool => {
                t.int32_data.iter().map(|&x| x as f64).collect()
            }
            DType::Other(_) => {
                return Err(bad(
                    t,
                    format!("element type {} is not supported", dtype.name()),
                ))
            }
        };
        if v.len() != n {
            return Err(bad(
                t,
                format!(
                    "has {} values, expected {} for shape {:?}",
                    v.len(),
                    n,
                    shape
                ),
            ));
        }
        v
    };
    Ok(ConstTensor { dtype, shape, data })
}

/// IEEE half precision to f64.
pub fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 => {
            if frac == 0.0 {
                f64::INFINITY
            } else {
                f64::NAN
            }
        }
        _ => (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    }
}
