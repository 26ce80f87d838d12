//! Differential tests: random small Plans (random shapes, zero points,
//! multipliers, shifts, weights, tables and inputs within range; every op
//! of the Plan: MatMul, Conv, Rescale, Add, Mul, Clamp, MaxPool, AvgPool,
//! Lookup, Softmax, Reshape, Transpose, Concat), run
//! through the integer executor and through the shard circuit with
//! MockProver. The circuit must accept exactly the executor's result: the
//! honest witness verifies; a claimed output with one value moved by one is
//! rejected, and so is a witness with one value of a MatMul or Conv product
//! moved by one (the values the circuit takes from the witness). Every
//! plan that can be cut is also cut at every cut point: each shard accepts
//! its slice of the trace and the shards chain through their commitments.
//!
//! Cases: `ZKINF_DIFF_CASES` (default below). Each case prints its seed;
//! `ZKINF_DIFF_SEED=S` replays one.

use halo2_proofs::dev::MockProver;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinf_circuits::plan::{InputQuant, IntRange, Op, OutputDequant, PlanInput, PlanOutput};
use zkinf_circuits::shard::{cut_points, ShardCircuit, ShardSpec};
use zkinf_circuits::{execute, CheckedPlan, Plan, TensorId, Trace};

fn rescale(rng: &mut StdRng, span_bits: u32, channels: usize, axis: u32) -> Op {
    // bring an accumulator of about `span_bits` bits back to 8 bits
    let mult_bits = rng.gen_range(4..=14);
    let shift = (span_bits + mult_bits)
        .saturating_sub(rng.gen_range(7..=9))
        .max(1);
    let per_channel = channels > 1 && rng.gen_bool(0.5);
    let n = if per_channel { channels } else { 1 };
    Op::Rescale {
        in_zero: 0,
        mult: (0..n)
            .map(|_| rng.gen_range(1i64 << (mult_bits - 1)..1i64 << mult_bits))
            .collect(),
        bias: if rng.gen_bool(0.3) {
            (0..n).map(|_| rng.gen_range(-500..=500)).collect()
        } else {
            vec![]
        },
        shift,
        axis: if per_channel { axis } else { 0 },
        out_zero: rng.gen_range(-10..=10),
        lo: -128,
        hi: 127,
    }
}

fn bits(r: IntRange) -> u32 {
    let span = (r.hi as i128 - r.lo as i128).max(1) as u128;
    128 - span.leading_zeros()
}

fn konst(p: &mut Plan, rng: &mut StdRng, shape: Vec<usize>, lo: i64, hi: i64) -> TensorId {
    let n: usize = shape.iter().product();
    let values = (0..n).map(|_| rng.gen_range(lo..=hi)).collect();
    p.push("c", Op::Const { values }, vec![], Some(shape))
        .unwrap()
}

/// A pooling window for an NCHW `shape` (at least 2x2): kernel 2 or 3,
/// stride 1 or 2, padding below the kernel on each side.
fn pool_window(rng: &mut StdRng, shape: &[usize]) -> ([usize; 2], [usize; 2], [usize; 4]) {
    let kernel = [
        rng.gen_range(2..=3.min(shape[2])),
        rng.gen_range(2..=3.min(shape[3])),
    ];
    let strides = [rng.gen_range(1..=2), rng.gen_range(1..=2)];
    let mut pads = [0; 4];
    if rng.gen_bool(0.3) {
        for (i, p) in pads.iter_mut().enumerate() {
            *p = rng.gen_range(0..kernel[i % 2]);
        }
    }
    (kernel, strides, pads)
}

/// A random plan of 1 to 4 layers, or None when a drawn combination is not
/// a valid plan (the generator then draws again).
fn random_plan(rng: &mut StdRng) -> Option<Plan> {
    let image = rng.gen_bool(0.5);
    let batch = if rng.gen_bool(0.2) { 2 } else { 1 };
    let shape = if image {
        vec![
            batch,
            rng.gen_range(1..=2),
            rng.gen_range(3..=5),
            rng.gen_range(3..=5),
        ]
    } else {
        vec![batch, rng.gen_range(2..=8)]
    };
    let range = if rng.gen_bool(0.5) {
        IntRange { lo: -128, hi: 127 }
    } else {
        IntRange { lo: 0, hi: 255 }
    };
    let mut p = Plan {
        name: "random".into(),
        inputs: vec![PlanInput {
            name: "x".into(),
            shape: shape.clone(),
            range,
            quant: InputQuant::Integer,
        }],
        ..Plan::default()
    };
    let mut x = p.push("x", Op::Input { index: 0 }, vec![], None).ok()?;
    for layer in 0..rng.gen_range(1..=4) {
        let info = p.nodes[x as usize].info.clone();
        let sh = info.shape.clone();
        let name = format!("l{layer}");
        x = match (sh.len(), rng.gen_range(0..14)) {
            (2, 0..=2) => {
                let (k, m) = (sh[1], rng.gen_range(1..=6));
                // the right operand: constant weights, or an activation
                // (the input reshaped into a column, next to constants)
                let witness = sh[0] == 1 && rng.gen_bool(0.25);
                let m = if witness { rng.gen_range(1..=3) } else { m };
                let w = if witness {
                    let col = p
                        .push(
                            format!("{name}.col"),
                            Op::Reshape,
                            vec![x],
                            Some(vec![k, 1]),
                        )
                        .ok()?;
                    if m == 1 {
                        col
                    } else {
                        let c = konst(&mut p, rng, vec![k, m - 1], -20, 20);
                        p.push(
                            format!("{name}.b"),
                            Op::Concat { axis: 1 },
                            vec![col, c],
                            None,
                        )
                        .ok()?
                    }
                } else {
                    konst(&mut p, rng, vec![k, m], -20, 20)
                };
                let mut ins = vec![x, w];
                if rng.gen_bool(0.5) {
                    ins.push(konst(&mut p, rng, vec![m], -300, 300));
                }
                let b_zero = if rng.gen_bool(0.3) {
                    (0..m).map(|_| rng.gen_range(-3..=3)).collect()
                } else {
                    vec![rng.gen_range(-3..=3)]
                };
                let a_zero = rng.gen_range(-5..=5);
                let acc = p
                    .push(&name, Op::MatMul { a_zero, b_zero }, ins, None)
                    .ok()?;
                let r = rescale(rng, bits(p.nodes[acc as usize].info.range), m, 1);
                p.push(format!("{name}.rq"), r, vec![acc], None).ok()?
            }
            (4, 0..=2) => {
                let (cin, h, w) = (sh[1], sh[2], sh[3]);
                // grouped (depthwise when cin = 2) or dilated sometimes
                let group = if cin == 2 && rng.gen_bool(0.3) { 2 } else { 1 };
                let cout = group * rng.gen_range(1..=3 / group);
                let dil = if rng.gen_bool(0.2) { 2 } else { 1 };
                let kh = rng.gen_range(1..=3.min(h));
                let kw = rng.gen_range(1..=3.min(w));
                let pad = |rng: &mut StdRng| if rng.gen_bool(0.3) { 1 } else { 0 };
                let pads = [pad(rng), pad(rng), pad(rng), pad(rng)];
                let strides = [rng.gen_range(1..=2), rng.gen_range(1..=2)];
                let wt = konst(&mut p, rng, vec![cout, cin / group, kh, kw], -10, 10);
                let mut ins = vec![x, wt];
                if rng.gen_bool(0.5) {
                    ins.push(konst(&mut p, rng, vec![cout], -200, 200));
                }
                let w_zero = if rng.gen_bool(0.3) {
                    (0..cout).map(|_| rng.gen_range(-2..=2)).collect()
                } else {
                    vec![rng.gen_range(-2..=2)]
                };
                let conv = Op::Conv {
                    x_zero: rng.gen_range(-3..=3),
                    w_zero,
                    strides,
                    pads,
                    dilations: [dil, dil],
                    group,
                };
                let acc = p.push(&name, conv, ins, None).ok()?;
                let r = rescale(rng, bits(p.nodes[acc as usize].info.range), cout, 1);
                p.push(format!("{name}.rq"), r, vec![acc], None).ok()?
            }
            (4, 3) if sh[2] >= 2 && sh[3] >= 2 => {
                let (kernel, strides, pads) = pool_window(rng, &sh);
                let op = Op::MaxPool {
                    kernel,
                    strides,
                    pads,
                    dilations: [1, 1],
                    ceil_mode: rng.gen_bool(0.3),
                };
                p.push(&name, op, vec![x], None).ok()?
            }
            (4, 4) if sh[2] >= 2 && sh[3] >= 2 && rng.gen_bool(0.3) => {
                // onnxruntime's float32 average pooling (int8 QDQ models)
                let (kernel, strides, pads) = pool_window(rng, &sh);
                let x_scale = rng.gen_range(0.001f32..0.1);
                let y_scale = x_scale * rng.gen_range(0.5f32..2.0);
                let d = zkinf_circuits::arith::Dyadic::exact((x_scale / y_scale) as f64)?;
                let op = Op::AvgPoolF32 {
                    kernel,
                    strides,
                    pads,
                    count_include_pad: rng.gen_bool(0.5),
                    in_zero: rng.gen_range(-3..=3),
                    mult: d.mult,
                    shift: d.shift,
                    out_zero: rng.gen_range(-3..=3),
                    lo: -128,
                    hi: 127,
                    x_scale,
                    y_scale,
                    zero_shift: 128,
                    global: pads == [0; 4] && kernel == [sh[2], sh[3]],
                };
                p.push(&name, op, vec![x], None).ok()?
            }
            (4, 4) if sh[2] >= 2 && sh[3] >= 2 => {
                let (kernel, strides, pads) = pool_window(rng, &sh);
                let op = Op::AvgPool {
                    kernel,
                    strides,
                    pads,
                    count_include_pad: rng.gen_bool(0.5),
                    in_zero: 0,
                    mult: rng.gen_range(1..=3),
                    shift: rng.gen_range(0..=2),
                    out_zero: 0,
                    lo: -128,
                    hi: 127,
                };
                p.push(&name, op, vec![x], None).ok()?
            }
            (4, 5) => {
                let n: usize = sh.iter().product();
                p.push(&name, Op::Reshape, vec![x], Some(vec![sh[0], n / sh[0]]))
                    .ok()?
            }
            (_, 5) => {
                let lo = rng.gen_range(info.range.lo..=0.max(info.range.lo));
                p.push(
                    &name,
                    Op::Clamp {
                        lo,
                        hi: 127.min(info.range.hi),
                    },
                    vec![x],
                    None,
                )
                .ok()?
            }
            (_, 6) if info.range.hi - info.range.lo <= 511 => {
                let n = (info.range.hi - info.range.lo + 1) as usize;
                let table = (0..n).map(|_| rng.gen_range(-128..=127)).collect();
                let op = Op::Lookup {
                    in_lo: info.range.lo,
                    table,
                };
                p.push(&name, op, vec![x], None).ok()?
            }
            (_, 7) => {
                let other = if rng.gen_bool(0.5) {
                    x
                } else {
                    konst(&mut p, rng, sh.clone(), -128, 127)
                };
                let op = if rng.gen_bool(0.5) {
                    Op::Add {
                        a_zero: rng.gen_range(-3..=3),
                        b_zero: rng.gen_range(-3..=3),
                        a_mult: rng.gen_range(1..=1 << 10),
                        b_mult: rng.gen_range(1..=1 << 10),
                        shift: 10,
                        out_zero: 0,
                        lo: -128,
                        hi: 127,
                    }
                } else {
                    Op::Mul {
                        a_zero: rng.gen_range(-3..=3),
                        b_zero: rng.gen_range(-3..=3),
                        mult: rng.gen_range(1..=1 << 10),
                        shift: rng.gen_range(10..=16),
                        out_zero: 0,
                        lo: -128,
                        hi: 127,
                    }
                };
                p.push(&name, op, vec![x, other], None).ok()?
            }
            (_, 8) => {
                // the compiler's table: round(2^16 exp(-d s)) for d = max - x
                let s: f64 = rng.gen_range(0.01..0.3);
                let span = info.range.hi - info.range.lo;
                let exp_table = (0..=span)
                    .map(|d| ((-(d as f64) * s).exp() * 65536.0).round() as i64)
                    .collect();
                let (out_zero, lo, hi) = if rng.gen_bool(0.5) {
                    (-128, -128, 127)
                } else {
                    (0, 0, 255)
                };
                let op = Op::Softmax {
                    axis: rng.gen_range(0..sh.len()) as u32,
                    exp_table,
                    out_mult: rng.gen_range(64..=256),
                    out_zero,
                    lo,
                    hi,
                };
                p.push(&name, op, vec![x], None).ok()?
            }
            (_, 9) => {
                let mut perm: Vec<u32> = (0..sh.len() as u32).collect();
                for i in (1..perm.len()).rev() {
                    perm.swap(i, rng.gen_range(0..=i));
                }
                p.push(&name, Op::Transpose { perm }, vec![x], None).ok()?
            }
            (_, 10) => {
                let axis = rng.gen_range(0..sh.len());
                let mut other = sh.clone();
                other[axis] = rng.gen_range(1..=2);
                let other = if other == sh && rng.gen_bool(0.5) {
                    x
                } else {
                    konst(&mut p, rng, other, -128, 127)
                };
                let ins = if rng.gen_bool(0.5) {
                    vec![x, other]
                } else {
                    vec![other, x, x]
                };
                let op = Op::Concat { axis: axis as u32 };
                p.push(&name, op, ins, None).ok()?
            }
            (_, 11) => {
                // a random index map over x and a one-value pad constant
                // (Slice, Pad, Tile, Expand and Gather lower to this op)
                let pad = konst(&mut p, rng, vec![1], -128, 127);
                let len = info.len();
                let mut shape = sh.clone();
                let last = shape.len() - 1;
                shape[last] = rng.gen_range(1..=sh[last] + 2);
                let n: usize = shape.iter().product();
                let map = (0..n).map(|_| rng.gen_range(0..=len) as u32).collect();
                p.push(&name, Op::Gather { map }, vec![x, pad], Some(shape))
                    .ok()?
            }
            (2, 12) => {
                // a row normalization as LayerNorm/RMSNorm lower: squares,
                // their row sums, the floor square root plus a bias, and
                // the row divided by it
                let r = info.range;
                let top = (r.lo.abs().max(r.hi.abs()) as i64).pow(2);
                let sq = Op::Mul {
                    a_zero: 0,
                    b_zero: 0,
                    mult: 1,
                    shift: 0,
                    out_zero: 0,
                    lo: 0,
                    hi: top,
                };
                let sq = p.push(format!("{name}.sq"), sq, vec![x, x], None).ok()?;
                let ones = konst(&mut p, rng, vec![sh[1], 1], 1, 1);
                let op = Op::MatMul {
                    a_zero: 0,
                    b_zero: vec![0],
                };
                let v = p
                    .push(format!("{name}.sum"), op, vec![sq, ones], None)
                    .ok()?;
                let bias = rng.gen_range(1..=100);
                let root = p
                    .push(format!("{name}.root"), Op::Sqrt { bias }, vec![v], None)
                    .ok()?;
                let op = Op::Div {
                    mult: rng.gen_range(1..=1 << 8),
                    out_zero: 0,
                    lo: -128,
                    hi: 127,
                };
                p.push(&name, op, vec![x, root], None).ok()?
            }
            (_, 13) => {
                // division by a tensor: one divisor per element or per row
                let mut dshape = sh.clone();
                if rng.gen_bool(0.5) {
                    let last = dshape.len() - 1;
                    dshape[last] = 1;
                }
                let d = konst(&mut p, rng, dshape, 1, 9);
                let op = Op::Div {
                    mult: rng.gen_range(1..=64),
                    out_zero: rng.gen_range(-3..=3),
                    lo: -128,
                    hi: 127,
                };
                p.push(&name, op, vec![x, d], None).ok()?
            }
            _ => x,
        };
    }
    if matches!(p.nodes[x as usize].op, Op::Input { .. }) {
        return None;
    }
    p.outputs.push(PlanOutput {
        name: "y".into(),
        tensor: x,
        dequant: OutputDequant::Integer,
    });
    Some(p)
}

/// The less common forms a plan's nodes take (for the coverage summary).
fn variants(plan: &CheckedPlan) -> Vec<&'static str> {
    let mut v = Vec::new();
    if plan.inputs[0].shape[0] > 1 {
        v.push("batch 2");
    }
    for n in &plan.nodes {
        match &n.op {
            Op::Conv {
                group, dilations, ..
            } => {
                if *group > 1 {
                    v.push("Conv grouped");
                }
                if dilations[0] > 1 {
                    v.push("Conv dilated");
                }
            }
            Op::MatMul { .. }
                if !matches!(plan.nodes[n.inputs[1] as usize].op, Op::Const { .. }) =>
            {
                v.push("MatMul of two activations")
            }
            Op::MaxPool {
                ceil_mode: true, ..
            } => v.push("MaxPool ceil mode"),
            Op::AvgPool {
                count_include_pad: false,
                pads,
                ..
            } if pads.iter().any(|&p| p > 0) => v.push("AvgPool padded, pads not counted"),
            _ => {}
        }
        if let Op::MaxPool { pads, .. } | Op::AvgPool { pads, .. } = &n.op {
            if pads.iter().any(|&p| p > 0) {
                v.push("pool padded");
            }
        }
    }
    v
}

fn accepts(circuit: &ShardCircuit) -> bool {
    let inst = circuit.instances().unwrap();
    MockProver::run(circuit.k(), circuit, vec![inst])
        .unwrap()
        .verify()
        .is_ok()
}

/// The trace with one value of tensor `t` moved by one (towards the inside
/// of its range).
fn perturbed(trace: &Trace, plan: &CheckedPlan, t: TensorId, rng: &mut StdRng) -> Trace {
    let mut tr = Trace {
        values: trace.values.clone(),
    };
    let r = plan.info(t).range;
    let a = &mut tr.values[t as usize];
    let i = rng.gen_range(0..a.len());
    let v = a.as_slice_mut().unwrap();
    v[i] = if v[i] < r.hi { v[i] + 1 } else { v[i] - 1 };
    tr
}

#[test]
fn random_plans_accept_exactly_the_executor_result() {
    let cases: u64 = std::env::var("ZKINF_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seeds: Vec<u64> = match std::env::var("ZKINF_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(s) => vec![s],
        None => (0..cases).collect(),
    };
    let (mut ran, mut perturbations, mut drawn) = (0, 0, 0);
    let (mut sharded, mut shards) = (0, 0);
    let mut ops = std::collections::BTreeMap::<&'static str, usize>::new();
    for seed in seeds {
        let mut rng = StdRng::seed_from_u64(0xd1ff_0000 + seed);
        let plan = loop {
            drawn += 1;
            if let Some(p) = random_plan(&mut rng).and_then(|p| CheckedPlan::new(p).ok()) {
                break p;
            }
        };
        let input = {
            let i = &plan.inputs[0];
            let n: usize = i.shape.iter().product();
            let v: Vec<i64> = (0..n)
                .map(|_| rng.gen_range(i.range.lo..=i.range.hi))
                .collect();
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&i.shape), v).unwrap()
        };
        let trace = execute(&plan, vec![input]).unwrap();
        let kinds: Vec<&str> = plan.nodes.iter().map(|n| n.op.kind()).collect();
        println!("seed {seed}: {kinds:?}");
        let circuit = match ShardCircuit::new(plan.clone(), 0, Some(&trace)) {
            Ok(c) => c,
            Err(e) => panic!("seed {seed}: the circuit refuses a valid plan: {e}"),
        };
        assert!(circuit.k() <= 13, "seed {seed}: k = {}", circuit.k());
        if std::env::var("ZKINF_DIFF_SEED").is_ok() {
            println!(
                "rows {:?} -> {} (k = {})",
                circuit.row_breakdown(),
                circuit.rows(),
                circuit.k()
            );
        }
        assert!(
            accepts(&circuit),
            "seed {seed}: the circuit rejects the executor's result ({kinds:?})"
        );
        for k in kinds.iter().copied().chain(variants(&plan)) {
            *ops.entry(k).or_default() += 1;
        }
        // the plan cut at every cut point: each shard accepts its slice of
        // the trace, and the shards chain (one's output commitment is the
        // next one's input commitment) from the whole plan's input
        // commitment to its output commitment
        let cuts = cut_points(&plan);
        if !cuts.is_empty() {
            let whole = circuit.instances().unwrap();
            let mut bounds = vec![0];
            bounds.extend(cuts.iter().map(|c| c + 1));
            bounds.push(plan.nodes.len());
            let mut carried = whole[2];
            for (s, w) in bounds.windows(2).enumerate() {
                let spec = ShardSpec {
                    start: w[0],
                    end: w[1],
                };
                let shard = ShardCircuit::for_shard(&plan, spec, s as u32, Some(&trace))
                    .unwrap_or_else(|e| panic!("seed {seed}: shard {s} ({spec:?}) refused: {e}"));
                assert!(
                    accepts(&shard),
                    "seed {seed}: shard {s} ({spec:?}) rejects the executor's result ({kinds:?})"
                );
                let inst = shard.instances().unwrap();
                assert_eq!(inst[0], whole[0], "seed {seed}: shard {s}'s model id");
                assert_eq!(inst[2], carried, "seed {seed}: shard {s} does not link");
                carried = inst[3];
            }
            assert_eq!(carried, whole[3], "seed {seed}: the chain's output");
            sharded += 1;
            shards += bounds.len() - 1;
        }
        // the claimed output, and every tensor whose value the circuit takes
        // from the witness rather than deriving it in-circuit (the products
        // of MatMul and Conv, checked by Freivalds); the other ops' chips
        // derive their outputs from their operands' cells, and their forged
        // witnesses are the chips' own rejection tests
        let out = plan.outputs[0].tensor;
        // (an AvgPoolF32 output admits the other neighbour at a tie: its own
        // tests move it, `shard::float_pool_tests`)
        let relaxed_out = matches!(plan.nodes[out as usize].op, Op::AvgPoolF32 { .. });
        let mut computed: Vec<TensorId> = plan
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.op, Op::MatMul { .. } | Op::Conv { .. }))
            .map(|(i, _)| i as TensorId)
            .collect();
        if !relaxed_out {
            computed.push(out);
        }
        for &t in &computed {
            let bad = perturbed(&trace, &plan, t, &mut rng);
            let forged = ShardCircuit::new(plan.clone(), 0, Some(&bad)).unwrap();
            assert!(
                !accepts(&forged),
                "seed {seed}: a value of tensor {t} ({}) moved by one is accepted ({kinds:?})",
                plan.nodes[t as usize].op.kind()
            );
            perturbations += 1;
        }
        ran += 1;
    }
    println!(
        "differential: {ran} random plans ({drawn} drawn), {perturbations} perturbed witnesses rejected, {sharded} also cut into {shards} linked shards, ops covered: {ops:?}"
    );
}
