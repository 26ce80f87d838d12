//! Target shapes of ONNX layout ops, shared by the lowering and the float
//! reference executor.

use crate::model::Attrs;

fn norm(ax: i64, rank: i64) -> Result<usize, String> {
    let a = if ax < 0 { ax + rank } else { ax };
    if a < 0 || a >= rank.max(1) {
        Err(format!("axis {ax} out of range for rank {rank}"))
    } else {
        Ok(a as usize)
    }
}

/// The output shape of Flatten, Reshape, Squeeze, Unsqueeze or Identity given
/// the input shape and the second (constant) input, if any.
pub fn layout_shape(
    op: &str,
    at: &Attrs,
    shape: &[usize],
    second: Option<&[f64]>,
) -> Result<Vec<usize>, String> {
    let rank = shape.len() as i64;
    let axes = || -> Option<Vec<i64>> {
        at.ints("axes")
            .or_else(|| second.map(|s| s.iter().map(|&v| v as i64).collect()))
    };
    Ok(match op {
        "Identity" => shape.to_vec(),
        "Flatten" => {
            let ax = at.int("axis", 1);
            let ax = if ax < 0 { ax + rank } else { ax };
            if ax < 0 || ax > rank {
                return Err(format!("axis {ax} out of range"));
            }
            let ax = ax as usize;
            vec![shape[..ax].iter().product(), shape[ax..].iter().product()]
        }
        "Reshape" => {
            let target = second.ok_or("Reshape needs a constant shape")?;
            let allow_zero = at.int("allowzero", 0) != 0;
            let total: usize = shape.iter().product();
            let mut out = Vec::new();
            let mut infer = None;
            for (i, &d) in target.iter().enumerate() {
                match d as i64 {
                    -1 if infer.is_none() => {
                        infer = Some(i);
                        out.push(1)
                    }
                    0 if !allow_zero => {
                        out.push(*shape.get(i).ok_or("0 in shape beyond the input's rank")?)
                    }
                    d if d >= 0 => out.push(d as usize),
                    d => return Err(format!("bad target dimension {d}")),
                }
            }
            if let Some(i) = infer {
                let known: usize = out.iter().product();
                if known == 0 || total % known != 0 {
                    return Err(format!("cannot reshape {shape:?} into {target:?}"));
                }
                out[i] = total / known;
            }
            if out.iter().product::<usize>() != total {
                return Err(format!("cannot reshape {shape:?} into {out:?}"));
            }
            out
        }
        "Squeeze" => {
            let axes = match axes() {
                Some(a) => a
                    .iter()
                    .map(|&x| norm(x, rank))
                    .collect::<Result<Vec<_>, _>>()?,
                None => (0..shape.len()).filter(|&i| shape[i] == 1).collect(),
            };
            if axes.iter().any(|&a| shape[a] != 1) {
                return Err("squeezing a dimension that is not 1".into());
            }
            shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(i))
                .map(|(_, &d)| d)
                .collect()
        }
        "Unsqueeze" => {
            let axes = axes().ok_or("Unsqueeze needs axes")?;
            let out_rank = rank + axes.len() as i64;
            let mut axes = axes
                .iter()
                .map(|&x| norm(x, out_rank))
                .collect::<Result<Vec<_>, _>>()?;
            axes.sort_unstable();
            let mut out = shape.to_vec();
            for a in axes {
                out.insert(a, 1);
            }
            out
        }
        other => return Err(format!("{other} is not a layout op")),
    })
}
