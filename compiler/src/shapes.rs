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
    let w = window_nd(at, &kernel, &xs[2..])?;
    Ok((
        [w.strides[0], w.strides[1]],
        [w.begin[0], w.begin[1], w.end[0], w.end[1]],
        [w.dilations[0], w.dilations[1]],
    ))
}

/// A window over `n` spatial axes: strides, pads before and after each
/// axis, dilations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowNd {
    pub strides: Vec<usize>,
    pub begin: Vec<usize>,
    pub end: Vec<usize>,
    pub dilations: Vec<usize>,
}

impl WindowNd {
    /// Output length of axis `d` (input length `input`, kernel `k`).
    pub fn out(&self, d: usize, input: usize, k: usize, ceil: bool) -> Option<usize> {
        zkinf_circuits::plan::infer::window_out(
            input,
            k,
            self.strides[d],
            self.begin[d] + self.end[d],
            self.dilations[d],
            self.begin[d],
            ceil,
        )
    }
}

/// Resolves the window attributes of Conv and pooling ops (auto_pad
/// included) for spatial input lengths `spatial` and a kernel of the same
/// rank. Errors starting with "unsupported: " name features zkinf does not
/// implement.
pub fn window_nd(at: &Attrs, kernel: &[usize], spatial: &[usize]) -> Result<WindowNd, String> {
    let n = kernel.len();
    if spatial.len() != n {
        return Err(format!(
            "kernel of rank {n} for {} spatial axes",
            spatial.len()
        ));
    }
    let per_axis = |name: &str| -> Result<Vec<usize>, String> {
        match at.ints(name) {
            None => Ok(vec![1; n]),
            Some(v) if v.len() == n && v.iter().all(|&x| x >= 1) => {
                Ok(v.iter().map(|&x| x as usize).collect())
            }
            Some(v) => Err(format!("{name} {v:?} for a {n}-D window")),
        }
    };
    let strides = per_axis("strides")?;
    let dilations = per_axis("dilations")?;
    if kernel.contains(&0) || spatial.contains(&0) {
        return Err(format!(
            "a window of {kernel:?} over {spatial:?}: empty kernels and inputs have no windows"
        ));
    }
    let auto_pad = at.string("auto_pad").unwrap_or_default();
    let (mut begin, mut end) = (vec![0; n], vec![0; n]);
    match auto_pad.as_str() {
        "" | "NOTSET" => match at.ints("pads") {
            None => {}
            Some(p) if p.len() == 2 * n && p.iter().all(|&x| x >= 0) => {
                for d in 0..n {
                    begin[d] = p[d] as usize;
                    end[d] = p[d + n] as usize;
                }
            }
            Some(p) => return Err(format!("unsupported: pads {p:?}")),
        },
        "VALID" => {}
        "SAME_UPPER" | "SAME_LOWER" => {
            for d in 0..n {
                let input = spatial[d];
                let out = input.div_ceil(strides[d]);
                let eff = (kernel[d] - 1) * dilations[d] + 1;
                let total = ((out - 1) * strides[d] + eff).saturating_sub(input);
                let small = total / 2;
                let (b, e) = if auto_pad == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                begin[d] = b;
                end[d] = e;
            }
        }
        other => return Err(format!("auto_pad {other}")),
    }
    let w = WindowNd {
        strides,
        begin,
        end,
        dilations,
    };
    for d in 0..n {
        w.out(d, spatial[d], kernel[d], false)
            .ok_or("window larger than the padded input")?;
    }
    Ok(w)
}
