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

/// Strides, pads (`[top, left, bottom, right]`) and dilations of a 2-D window.
pub type Window = ([usize; 2], [usize; 4], [usize; 2]);

/// Resolves the window attributes of Conv and pooling ops (auto_pad
/// included) for a 4-D input of shape `xs`. Errors starting with
/// "unsupported: " name features zkinf does not implement.
pub fn window_attrs(at: &Attrs, kernel: [usize; 2], xs: &[usize]) -> Result<Window, String> {
    let two = |name: &str| -> Result<[usize; 2], String> {
        match at.ints(name) {
            None => Ok([1, 1]),
            Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 1) => {
                Ok([v[0] as usize, v[1] as usize])
            }
            Some(v) => Err(format!("unsupported: {name} {v:?} (2-D windows only)")),
        }
    };
    let strides = two("strides")?;
    let dilations = two("dilations")?;
    let auto_pad = at.string("auto_pad").unwrap_or_default();
    let pads = match auto_pad.as_str() {
        "" | "NOTSET" => match at.ints("pads") {
            None => [0; 4],
            Some(p) if p.len() == 4 && p.iter().all(|&x| x >= 0) => {
                [p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize]
            }
            Some(p) => return Err(format!("unsupported: pads {p:?}")),
        },
        "VALID" => [0; 4],
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut p = [0; 4];
            for d in 0..2 {
                let input = xs[2 + d];
                let out = input.div_ceil(strides[d]);
                let eff = (kernel[d] - 1) * dilations[d] + 1;
                let total = ((out - 1) * strides[d] + eff).saturating_sub(input);
                let small = total / 2;
                let (b, e) = if auto_pad == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                p[d] = b;
                p[d + 2] = e;
            }
            p
        }
        other => return Err(format!("auto_pad {other}")),
    };
    for d in 0..2 {
        zkinf_circuits::plan::infer::window_out(
            xs[2 + d],
            kernel[d],
            strides[d],
            pads[d] + pads[d + 2],
            dilations[d],
            pads[d],
            false,
        )
        .ok_or("window larger than the padded input")?;
    }
    Ok((strides, pads, dilations))
}
