//! Configuration and synthesis of the shard circuit: column groups, the
//! commitment of input and output tensors, and one arm per Plan op.

use super::*;
use crate::chips::divide::{ADVICE as DIVIDE_ADVICE, FIXED as DIVIDE_FIXED};
use crate::chips::rescale::{
    ADVICE as RESCALE_ADVICE, FIXED as RESCALE_FIXED, ROWS as RESCALE_ROWS,
};

/// Bank columns every circuit has (all equality-enabled: chips copy into them).
const BANK: usize = RESCALE_ADVICE;
/// Fixed bank columns every circuit has.
const FIXED_BANK: usize = RESCALE_FIXED;

impl ShardConfig {
    /// Runs the rescale chip over `xs` (and second operands), advancing the
    /// cursors; without a witness the outputs stay unknown.
    fn requantize(
        &self,
        region: &mut Region<'_, Fr>,
        cur: &mut Cursor,
        xs: &[(Wire, i64, usize)],
        x2s: Option<&[(Wire, i64)]>,
        params: &RescaleParams,
        known: bool,
    ) -> Result<Vec<Wire>, Error> {
        let (ys, next_range) =
            self.rescale()?
                .assign_sum(region, cur.bank, cur.range, xs, x2s, params, |_, _| {})?;
        cur.bank += RESCALE_ROWS * xs.len();
        cur.range = next_range;
        Ok(if known {
            ys
        } else {
            ys.into_iter()
                .map(|w| Wire {
                    cell: w.cell,
                    value: Value::unknown(),
                })
                .collect()
        })
    }
    /// Packs `wires` (values of a tensor with packing `p`) into field
    /// elements, range checking every `v - lo`; returns the element wires.
    fn pack(
        &self,
        region: &mut Region<'_, Fr>,
        cur: &mut Cursor,
        wires: &[Wire],
        p: Packing,
    ) -> Result<Vec<Wire>, Error> {
        let mut elements = Vec::new();
        let base = fe(1i128 << p.bits);
        for (e, chunk) in wires.chunks(p.per_element).enumerate() {
            // Horner from the most significant value down
            let start = cur.bank;
            self.pack_start.enable(region, start)?;
            let mut acc = self.forged(ForgeAt::Start(e), Value::known(Fr::ZERO));
            region.assign_advice(self.pack_acc, start, acc);
            for (step, w) in chunk.iter().rev().enumerate() {
                let j = e * p.per_element + chunk.len() - 1 - step;
                let row = start + step;
                self.pack_step.enable(region, row)?;
                region.assign_fixed(self.pack_base, row, base);
                region.assign_fixed(self.pack_lo, row, fe(p.lo as i128));
                let val = self.forged(ForgeAt::Val(j), w.value);
                let v = region.assign_advice(self.pack_val, row, val).cell();
                mutation::equal(region, "shard/copy:pack-val", v, w.cell);
                let u_val = self.forged(ForgeAt::U(j), val - Value::known(fe(p.lo as i128)));
                let u = region.assign_advice(self.pack_u, row, u_val).cell();
                let checked = self.forged(ForgeAt::Checked(j), u_val);
                let z0 = self.range.check(region, &mut cur.range, checked, p.bits)?;
                mutation::equal(region, "shard/copy:pack-range", z0.cell, u);
                acc = acc * Value::known(base) + self.forged(ForgeAt::AccU(j), u_val);
                region.assign_advice(self.pack_acc, row + 1, acc);
            }
            let end = start + chunk.len();
            let cell = region.assign_advice(self.pack_acc, end, acc).cell();
            elements.push(Wire { cell, value: acc });
            cur.bank = end + 1;
        }
        Ok(elements)
    }

    /// Commits to a tensor: `lo` (a constant) then the packed elements.
    fn commit(
        &self,
        region: &mut Region<'_, Fr>,
        cur: &mut Cursor,
        wires: &[Wire],
        p: Packing,
    ) -> Result<Wire, Error> {
        let elements = self.pack(region, cur, wires, p)?;
        let mut values = vec![Value::known(fe(p.lo as i128))];
        values.extend(elements.iter().map(|e| e.value));
        for (k, v) in values.iter_mut().enumerate() {
            *v = self.forged(ForgeAt::Absorbed(k), *v);
        }
        let capacity = fe(wires.len() as i128) + fe(1i128 << 64) * fe(p.bits as i128);
        let cells = self
            .poseidon
            .assign_sponge(region, cur.bank, capacity, &values)?;
        cur.bank += cells.rows;
        // the first absorbed value is the constant lo; the rest are the packed elements
        let lo_cell = self.constant(region, cur, fe(p.lo as i128))?;
        mutation::equal(
            region,
            "shard/copy:commit-lo",
            cells.inputs[0].cell,
            lo_cell.cell,
        );
        for (input, e) in cells.inputs[1..].iter().zip(&elements) {
            mutation::equal(region, "shard/copy:commit-element", input.cell, e.cell);
        }
        Ok(cells.output)
    }

    /// An advice cell pinned to a constant by the "constant" gate (`src`
    /// equals the fixed `consts` on that row).
    fn constant(
        &self,
        region: &mut Region<'_, Fr>,
        cur: &mut Cursor,
        v: Fr,
    ) -> Result<Wire, Error> {
        let row = cur.bank;
        cur.bank += 1;
        self.const_on.enable(region, row)?;
        region.assign_fixed(self.consts, row, v);
        let value = self.forged(ForgeAt::Constant(row), Value::known(v));
        let cell = region.assign_advice(self.src, row, value).cell();
        Ok(Wire {
            cell,
            value: Value::known(v),
        })
    }
}

impl ShardCircuit {
    /// Lays out constant `t` as cells pinned to its values, once; any other
    /// tensor is left alone.
    fn constant_cells(
        &self,
        config: &ShardConfig,
        region: &mut Region<'_, Fr>,
        cur: &mut Cursor,
        wires: &mut HashMap<TensorId, Vec<Wire>>,
        t: TensorId,
    ) -> Result<(), Error> {
        if let (false, Op::Const { values }) =
            (wires.contains_key(&t), &self.plan.nodes[t as usize].op)
        {
            let ws = values
                .iter()
                .map(|&v| config.constant(region, cur, fe(v as i128)))
                .collect::<Result<Vec<_>, _>>()?;
            wires.insert(t, ws);
        }
        Ok(())
    }
}

impl Circuit<Fr> for ShardCircuit {
    type Config = ShardConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ShardParams;

    fn without_witnesses(&self) -> Self {
        ShardCircuit {
            plan: self.plan.clone(),
            params: self.params,
            model: self.model,
            index: self.index,
            values: None,
            #[cfg(test)]
            forges: Forges::default(),
        }
    }

    fn params(&self) -> ShardParams {
        self.params
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ShardConfig {
        Self::configure_with_params(meta, ShardParams::default())
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: ShardParams) -> ShardConfig {
        let has = |flag: u32| params.chips & flag != 0;
        // The bank: advice and fixed columns shared by every chip whose rows
        // are few (inputs and constants, packing, Poseidon, requantization,
        // divisions, maxpool). They take consecutive rows of one cursor, so
        // their selectors never meet on a row, and the circuit pays for one
        // set of columns instead of one per chip. The divide chip's rows are
        // wider: with it the bank has its width.
        let wide = has(chips::DIVIDE);
        let bank: Vec<Column<Advice>> = (0..if wide { DIVIDE_ADVICE } else { BANK })
            .map(|_| meta.advice_column_in(FirstPhase))
            .collect();
        for &c in &bank[..BANK] {
            meta.enable_equality(c);
        }
        let fixed_bank: Vec<Column<Fixed>> = (0..if wide { DIVIDE_FIXED } else { FIXED_BANK })
            .map(|_| meta.fixed_column())
            .collect();
        let src = bank[0];
        // constants: a gate pins src to a fixed bank column on their rows
        // (no equality-enabled fixed column)
        let consts = fixed_bank[0];
        let const_on = meta.selector();
        meta.create_gate("constant", |meta| {
            let q = meta.query_selector(const_on);
            vec![mutation::gate(
                "shard/gate:constant",
                q * (meta.query_advice(src, Rotation::cur())
                    - meta.query_fixed(consts, Rotation::cur())),
            )]
        });
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        // (src and the packing columns are bank columns: equality-enabled above)
        let (pack_val, pack_u, pack_acc) = (bank[0], bank[1], bank[2]);
        let (pack_base, pack_lo) = (fixed_bank[0], fixed_bank[1]);
        let (pack_step, pack_start) = (meta.selector(), meta.selector());
        meta.create_gate("pack step", |meta| {
            let q = meta.query_selector(pack_step);
            let (val, u) = (
                meta.query_advice(pack_val, Rotation::cur()),
                meta.query_advice(pack_u, Rotation::cur()),
            );
            let (acc, next) = (
                meta.query_advice(pack_acc, Rotation::cur()),
                meta.query_advice(pack_acc, Rotation::next()),
            );
            let (base, lo) = (
                meta.query_fixed(pack_base, Rotation::cur()),
                meta.query_fixed(pack_lo, Rotation::cur()),
            );
            vec![
                mutation::gate("shard/gate:pack-u", q.clone() * (u.clone() - (val - lo))),
                mutation::gate("shard/gate:pack-acc", q * (next - (acc * base + u))),
            ]
        });
        meta.create_gate("pack start", |meta| {
            let q = meta.query_selector(pack_start);
            vec![mutation::gate(
                "shard/gate:pack-start",
                q * meta.query_advice(pack_acc, Rotation::cur()),
            )]
        });
        let lanes: Vec<_> = (0..params.range_lanes.clamp(1, MAX_RANGE_LANES))
            .map(|_| (meta.advice_column(), meta.fixed_column()))
            .collect();
        let range = RangeConfig::configure_lanes(meta, &lanes);
        let rescale = has(chips::RESCALE).then(|| {
            let advice = std::array::from_fn(|i| bank[i]);
            let fixed = std::array::from_fn(|i| fixed_bank[i]);
            RescaleConfig::configure(meta, advice, fixed, range.clone())
        });
        // the divide chip's cells that are never copied (sl, sh: its columns
        // 8 and 9) sit in the bank's last columns
        let divide = wide.then(|| {
            const ORDER: [usize; DIVIDE_ADVICE] = [0, 1, 2, 3, 4, 5, 6, 7, 11, 12, 8, 9, 10];
            let advice = std::array::from_fn(|i| bank[ORDER[i]]);
            let fixed = std::array::from_fn(|i| fixed_bank[i]);
            DivideConfig::configure(meta, advice, fixed, range.clone())
        });
        let matmul = has(chips::MATMUL).then(|| {
            let val = meta.advice_column_in(FirstPhase);
            let r = meta.challenge_usable_after(FirstPhase);
            let (acc, w) = (
                meta.advice_column_in(SecondPhase),
                meta.advice_column_in(SecondPhase),
            );
            let mm_fixed = meta.fixed_column();
            MatMulConfig::configure(meta, val, acc, w, mm_fixed, r)
        });
        let lookup = has(chips::LOOKUP).then(|| {
            let (lk_x, lk_y, lk_tag) = (
                meta.advice_column(),
                meta.advice_column(),
                meta.fixed_column(),
            );
            let lk_table = std::array::from_fn(|_| meta.fixed_column());
            LookupConfig::configure(meta, lk_x, lk_y, lk_tag, lk_table)
        });
        let maxpool = has(chips::MAXPOOL).then(|| {
            let pool_cols = [bank[0], bank[1], bank[2], bank[3]];
            MaxPoolConfig::configure(meta, pool_cols, range.clone())
        });
        let state = [bank[0], bank[1], bank[2]];
        let aux = [bank[3], bank[4], bank[5]];
        let rc = [fixed_bank[2], fixed_bank[3], fixed_bank[4]];
        let poseidon = PoseidonConfig::configure(meta, state, aux, rc);
        ShardConfig {
            src,
            consts,
            const_on,
            instance,
            pack_val,
            pack_u,
            pack_acc,
            pack_base,
            pack_lo,
            pack_step,
            pack_start,
            #[cfg(test)]
            forges: Default::default(),
            range,
            rescale,
            divide,
            matmul,
            maxpool,
            lookup,
            poseidon,
        }
    }

    fn synthesize(
        &self,
        mut config: ShardConfig,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        #[cfg(test)]
        {
            config.forges = self.forges.clone();
        }
        // every lane may fill the circuit's usable rows
        let height = (1usize << self.k()) - 16;
        config.range.height = height;
        for r in [
            config.rescale.as_mut().map(|c| &mut c.range),
            config.divide.as_mut().map(|c| &mut c.range),
            config.maxpool.as_mut().map(|c| &mut c.range),
        ]
        .into_iter()
        .flatten()
        {
            r.height = height;
        }
        config.range.load_table(&mut layouter)?;
        let plan = &self.plan;
        let publics = layouter.assign_region(
            || "shard",
            |mut region| {
                let mut cur = Cursor {
                    table: 1,
                    ..Cursor::default()
                };
                let mut wires: HashMap<TensorId, Vec<Wire>> = HashMap::new();
                let mut pending: Vec<(usize, MatMulPhase1, Weights, i64)> = Vec::new();
                let id = config.constant(&mut region, &mut cur, self.model)?;
                let index = config.constant(&mut region, &mut cur, Fr::from(self.index as u64))?;
                let mut input_commit = None;
                for (i, n) in plan.nodes.iter().enumerate() {
                    let t = i as TensorId;
                    for c in self.cell_operands(i) {
                        self.constant_cells(&config, &mut region, &mut cur, &mut wires, c)?;
                    }
                    match &n.op {
                        Op::Input { .. } => {
                            let vals = self.tensor_values(t);
                            let ws: Vec<Wire> = vals
                                .iter()
                                .map(|&v| {
                                    let row = cur.bank;
                                    cur.bank += 1;
                                    Wire {
                                        cell: region.assign_advice(config.src, row, v).cell(),
                                        value: v,
                                    }
                                })
                                .collect();
                            #[cfg(test)]
                            config.forges.commitment.set(0);
                            input_commit =
                                Some(config.commit(&mut region, &mut cur, &ws, self.packing(t))?);
                            wires.insert(t, ws);
                        }
                        Op::Const { .. } => {}
                        Op::Reshape => {
                            let ws = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            wires.insert(t, ws);
                        }
                        Op::MatMul { a_zero, b_zero } => {
                            let (ash, bsh) =
                                (&plan.info(n.inputs[0]).shape, &plan.info(n.inputs[1]).shape);
                            let (m, k) = (ash[ash.len() - 2], ash[ash.len() - 1]);
                            let nn = bsh[bsh.len() - 1];
                            let bias = match n.inputs.get(2).map(|&x| &plan.nodes[x as usize].op) {
                                Some(Op::Const { values }) => values.clone(),
                                _ => vec![],
                            };
                            let b_const = match &plan.nodes[n.inputs[1] as usize].op {
                                Op::Const { values } => Some(values.clone()),
                                _ => None,
                            };
                            let b_wires = match b_const {
                                Some(_) => None,
                                None => {
                                    Some(wires.get(&n.inputs[1]).cloned().ok_or(Error::Synthesis)?)
                                }
                            };
                            let a = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            let c = self.tensor_values(t);
                            let batch = a.len() / (m * k).max(1);
                            // one product per batch entry of a batched B; a plain B
                            // multiplies every batch entry's rows at once
                            let groups = if bsh.len() > 2 { batch } else { 1 };
                            let rows_per = a.len() / groups / k.max(1);
                            let mut out = Vec::with_capacity(c.len());
                            for g in 0..groups {
                                let kn = k * nn;
                                let weights = Weights {
                                    k,
                                    n: nn,
                                    b: b_const
                                        .as_ref()
                                        .map(|b| b[g * kn..(g + 1) * kn].to_vec())
                                        .unwrap_or_default(),
                                    b_zero: b_zero.clone(),
                                    bias: bias.clone(),
                                    witness: b_wires
                                        .as_ref()
                                        .map(|w| w[g * kn..(g + 1) * kn].to_vec()),
                                };
                                let offset = cur.matmul;
                                let p1 = config.matmul()?.assign_phase1(
                                    &mut region,
                                    offset,
                                    &a[g * rows_per * k..(g + 1) * rows_per * k],
                                    &c[g * rows_per * nn..(g + 1) * rows_per * nn],
                                    &weights,
                                )?;
                                cur.matmul += if weights.witness.is_some() {
                                    crate::chips::matmul::rows_for_witness(rows_per, k, nn)
                                } else {
                                    crate::chips::matmul::rows_for(rows_per, k, nn)
                                };
                                out.extend(p1.c.iter().copied());
                                pending.push((offset, p1, weights, *a_zero));
                            }
                            wires.insert(t, out);
                        }
                        Op::Conv {
                            x_zero,
                            w_zero,
                            strides,
                            pads,
                            dilations,
                            group,
                        } => {
                            let xs = plan.info(n.inputs[0]).shape.clone();
                            let ws = plan.info(n.inputs[1]).shape.clone();
                            let (batch, c_in, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
                            let (c_out, kh, kw) = (ws[0], ws[2], ws[3]);
                            let (oh, ow) = (n.info.shape[2], n.info.shape[3]);
                            let groups = *group;
                            let (cig, cog) = (c_in / groups, c_out / groups);
                            let (p_count, kp) = (oh * ow, cig * kh * kw);
                            let Op::Const { values: wv } = &plan.nodes[n.inputs[1] as usize].op
                            else {
                                return Err(Error::Synthesis);
                            };
                            let bias = match n.inputs.get(2).map(|&x| &plan.nodes[x as usize].op) {
                                Some(Op::Const { values }) => values.clone(),
                                _ => vec![],
                            };
                            let x = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            let pad =
                                config.constant(&mut region, &mut cur, fe(*x_zero as i128))?;
                            let out = self.tensor_values(t);
                            let mut out_wires = vec![pad; batch * c_out * p_count];
                            for gi in 0..groups {
                                // B[k, o] = w[gi cog + o, k] with k = (ci, ky, kx)
                                let b: Vec<i64> = (0..kp)
                                    .flat_map(|k| (0..cog).map(move |o| (k, o)))
                                    .map(|(k, o)| wv[(gi * cog + o) * kp + k])
                                    .collect();
                                let slice = |v: &[i64]| {
                                    if v.len() > 1 {
                                        v[gi * cog..(gi + 1) * cog].to_vec()
                                    } else {
                                        v.to_vec()
                                    }
                                };
                                let weights = Weights {
                                    k: kp,
                                    n: cog,
                                    b,
                                    b_zero: slice(w_zero),
                                    bias: slice(&bias),
                                    witness: None,
                                };
                                // im2col: one row of A per (batch, output position)
                                let mut a = Vec::with_capacity(batch * p_count * kp);
                                let mut c = Vec::with_capacity(batch * p_count * cog);
                                for bi in 0..batch {
                                    for y in 0..oh {
                                        for xx in 0..ow {
                                            for ci in gi * cig..(gi + 1) * cig {
                                                for ky in 0..kh {
                                                    for kx in 0..kw {
                                                        let iy = (y * strides[0]
                                                            + ky * dilations[0])
                                                            as isize
                                                            - pads[0] as isize;
                                                        let ix = (xx * strides[1]
                                                            + kx * dilations[1])
                                                            as isize
                                                            - pads[1] as isize;
                                                        let inside = iy >= 0
                                                            && (iy as usize) < h
                                                            && ix >= 0
                                                            && (ix as usize) < wd;
                                                        a.push(if inside {
                                                            x[((bi * c_in + ci) * h + iy as usize)
                                                                * wd
                                                                + ix as usize]
                                                        } else {
                                                            pad
                                                        });
                                                    }
                                                }
                                            }
                                            let p = y * ow + xx;
                                            for o in gi * cog..(gi + 1) * cog {
                                                c.push(out[(bi * c_out + o) * p_count + p]);
                                            }
                                        }
                                    }
                                }
                                let offset = cur.matmul;
                                let p1 = config.matmul()?.assign_phase1(
                                    &mut region,
                                    offset,
                                    &a,
                                    &c,
                                    &weights,
                                )?;
                                cur.matmul +=
                                    crate::chips::matmul::rows_for(batch * p_count, kp, cog);
                                for bi in 0..batch {
                                    for p in 0..p_count {
                                        for o in 0..cog {
                                            out_wires[(bi * c_out + gi * cog + o) * p_count + p] =
                                                p1.c[(bi * p_count + p) * cog + o];
                                        }
                                    }
                                }
                                pending.push((offset, p1, weights, *x_zero));
                            }
                            wires.insert(t, out_wires);
                        }
                        Op::MaxPool {
                            kernel,
                            strides,
                            pads,
                            dilations,
                            ..
                        } => {
                            let x = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            let xv: Vec<i64> = match &self.values {
                                Some(v) => v[n.inputs[0] as usize].clone(),
                                None => vec![0; x.len()],
                            };
                            let bits = self.pool_bits(n);
                            let windows = pool_windows(
                                &plan.info(n.inputs[0]).shape,
                                &n.info.shape,
                                *kernel,
                                *strides,
                                *pads,
                                *dilations,
                            );
                            let mut outs = Vec::with_capacity(n.info.len());
                            for window in windows {
                                let taps: Vec<(Wire, i64)> =
                                    window.iter().map(|&idx| (x[idx], xv[idx])).collect();
                                let (out, next, next_range) = config.maxpool()?.assign_window(
                                    &mut region,
                                    cur.bank,
                                    cur.range,
                                    &taps,
                                    bits,
                                    self.values.is_some(),
                                    None,
                                )?;
                                cur.bank = next;
                                cur.range = next_range;
                                outs.push(out);
                            }
                            wires.insert(t, outs);
                        }
                        Op::AvgPool { .. } => {
                            let x = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            let outs =
                                self.assign_avg_pool(&config, &mut region, &mut cur, n, &x)?;
                            wires.insert(t, outs);
                        }
                        Op::Softmax { .. } => {
                            let x = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            let outs =
                                self.assign_softmax(&config, &mut region, &mut cur, n, i, &x)?;
                            wires.insert(t, outs);
                        }
                        Op::Lookup { in_lo, table } => {
                            let tag = i as u64 + 1;
                            cur.table = config.lookup()?.assign_table(
                                &mut region,
                                cur.table,
                                tag,
                                *in_lo,
                                table,
                            );
                            let x = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            let xv: Vec<i64> = match &self.values {
                                Some(v) => v[n.inputs[0] as usize].clone(),
                                None => vec![*in_lo; x.len()],
                            };
                            let xs: Vec<(Wire, i64)> = x.into_iter().zip(xv).collect();
                            let ys = config.lookup()?.assign(
                                &mut region,
                                cur.lookup,
                                tag,
                                *in_lo,
                                table,
                                &xs,
                                None,
                            )?;
                            cur.lookup += xs.len();
                            wires.insert(t, ys);
                        }
                        Op::Transpose { perm } => {
                            let x = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            let shape = plan.info(n.inputs[0]).shape.clone();
                            let out_shape = &n.info.shape;
                            let mut out = Vec::with_capacity(x.len());
                            for k in 0..x.len() {
                                // output coordinates -> input coordinates through perm
                                let mut rem = k;
                                let mut oc = vec![0; out_shape.len()];
                                for d in (0..out_shape.len()).rev() {
                                    oc[d] = rem % out_shape[d];
                                    rem /= out_shape[d];
                                }
                                let mut ic = vec![0; shape.len()];
                                for (d, &p) in perm.iter().enumerate() {
                                    ic[p as usize] = oc[d];
                                }
                                out.push(
                                    x[ic.iter().zip(&shape).fold(0, |acc, (&c, &s)| acc * s + c)],
                                );
                            }
                            wires.insert(t, out);
                        }
                        Op::Concat { axis } => {
                            let ax = *axis as usize;
                            let outer: usize = n.info.shape[..ax].iter().product();
                            let mut parts = Vec::new();
                            for &inp in &n.inputs {
                                let w = wires.get(&inp).cloned().ok_or(Error::Synthesis)?;
                                let inner: usize = plan.info(inp).shape[ax..].iter().product();
                                parts.push((w, inner));
                            }
                            let mut out = Vec::with_capacity(n.info.len());
                            for o in 0..outer {
                                for (w, inner) in &parts {
                                    out.extend_from_slice(&w[o * inner..(o + 1) * inner]);
                                }
                            }
                            wires.insert(t, out);
                        }
                        Op::Add { .. } | Op::Mul { .. } => {
                            let params = self.rescale_params(n);
                            let out_shape = n.info.shape.clone();
                            let (a_t, b_t) = (n.inputs[0], n.inputs[1]);
                            let (aw, bw) = (
                                wires.get(&a_t).cloned().ok_or(Error::Synthesis)?,
                                wires.get(&b_t).cloned().ok_or(Error::Synthesis)?,
                            );
                            let val = |t: TensorId, k: usize| {
                                self.values.as_ref().map_or(0, |v| v[t as usize][k])
                            };
                            let (ash, bsh) =
                                (plan.info(a_t).shape.clone(), plan.info(b_t).shape.clone());
                            let mut xs = Vec::with_capacity(n.info.len());
                            let mut x2s = Vec::with_capacity(n.info.len());
                            for k in 0..n.info.len() {
                                let (ia, ib) = (
                                    broadcast_index(k, &out_shape, &ash),
                                    broadcast_index(k, &out_shape, &bsh),
                                );
                                xs.push((aw[ia], val(a_t, ia), 0));
                                x2s.push((bw[ib], val(b_t, ib)));
                            }
                            let ys = config.requantize(
                                &mut region,
                                &mut cur,
                                &xs,
                                Some(&x2s),
                                &params,
                                self.values.is_some(),
                            )?;
                            wires.insert(t, ys);
                        }
                        Op::Clamp { .. } => {
                            let params = self.rescale_params(n);
                            let xw = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            let xv: Vec<i64> = match &self.values {
                                Some(v) => v[n.inputs[0] as usize].clone(),
                                None => vec![0; xw.len()],
                            };
                            let xs: Vec<(Wire, i64, usize)> =
                                xw.into_iter().zip(xv).map(|(w, x)| (w, x, 0)).collect();
                            let ys = config.requantize(
                                &mut region,
                                &mut cur,
                                &xs,
                                None,
                                &params,
                                self.values.is_some(),
                            )?;
                            wires.insert(t, ys);
                        }
                        Op::Rescale {
                            mult, bias, axis, ..
                        } => {
                            let params = self.rescale_params(n);
                            let xs_w = wires.get(&n.inputs[0]).cloned().ok_or(Error::Synthesis)?;
                            let shape = &plan.info(n.inputs[0]).shape;
                            let per_channel = mult.len() > 1 || bias.len() > 1;
                            let inner: usize = shape
                                .get(*axis as usize + 1..)
                                .map_or(1, |s| s.iter().product());
                            let ch = shape.get(*axis as usize).copied().unwrap_or(1);
                            let xs_vals: Vec<i64> = match &self.values {
                                Some(v) => v[n.inputs[0] as usize].clone(),
                                None => vec![0; xs_w.len()],
                            };
                            let xs: Vec<(Wire, i64, usize)> = xs_w
                                .iter()
                                .zip(&xs_vals)
                                .enumerate()
                                .map(|(k, (w, &x))| {
                                    (*w, x, if per_channel { (k / inner) % ch } else { 0 })
                                })
                                .collect();
                            let ys = config.requantize(
                                &mut region,
                                &mut cur,
                                &xs,
                                None,
                                &params,
                                self.values.is_some(),
                            )?;
                            wires.insert(t, ys);
                        }
                    }
                }
                let out_t = plan.outputs[0].tensor;
                self.constant_cells(&config, &mut region, &mut cur, &mut wires, out_t)?;
                let out_wires = wires.get(&out_t).cloned().ok_or(Error::Synthesis)?;
                #[cfg(test)]
                config.forges.commitment.set(1);
                let output_commit =
                    config.commit(&mut region, &mut cur, &out_wires, self.packing(out_t))?;
                if config.matmul.is_some() {
                    region.next_phase();
                }
                for (offset, p1, weights, a_zero) in &pending {
                    config
                        .matmul()?
                        .assign_phase2(&mut region, *offset, p1, weights, *a_zero)?;
                }
                Ok([
                    id.cell,
                    index.cell,
                    input_commit.ok_or(Error::Synthesis)?.cell,
                    output_commit.cell,
                ])
            },
        )?;
        const INSTANCE_IDS: [&str; 4] = [
            "shard/copy:instance-model",
            "shard/copy:instance-index",
            "shard/copy:instance-input",
            "shard/copy:instance-output",
        ];
        for (row, cell) in publics.iter().enumerate() {
            if mutation::on(INSTANCE_IDS[row]) {
                layouter.constrain_instance(*cell, config.instance, row);
            }
        }
        Ok(())
    }
}
