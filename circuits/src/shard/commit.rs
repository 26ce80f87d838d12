//! Tensors in and out of the circuit: the Poseidon commitment of a tensor
//! (its values packed into field elements, every value range checked),
//! constants pinned to fixed values, and the input laid out as cells.

use super::config::{Cursor, ShardConfig};
use super::forge::ForgeAt;
use super::synth::Synth;
use super::ShardCircuit;
use crate::chips::poseidon::Wire;
use crate::field::fe;
use crate::mutation;
use crate::plan::{Op, TensorId};
use crate::poseidon::Packing;
use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::Error;

impl ShardConfig {
    /// Packs `wires` (values of a tensor with packing `p`) into field
    /// elements, range checking every `v - lo`; returns the element wires.
    pub(super) fn pack(
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
    pub(super) fn commit(
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
    pub(super) fn constant(
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
    pub(super) fn constant_cells(&self, s: &mut Synth<'_, '_>, t: TensorId) -> Result<(), Error> {
        if let (false, Op::Const { values }) =
            (s.wires.contains_key(&t), &self.plan.nodes[t as usize].op)
        {
            let ws = values
                .iter()
                .map(|&v| s.config.constant(s.region, &mut s.cur, fe(v as i128)))
                .collect::<Result<Vec<_>, _>>()?;
            s.wires.insert(t, ws);
        }
        Ok(())
    }

    /// The input tensor `t` as cells (its witness values), and its
    /// commitment.
    pub(super) fn assign_input(
        &self,
        s: &mut Synth<'_, '_>,
        t: TensorId,
    ) -> Result<(Vec<Wire>, Wire), Error> {
        let vals = self.tensor_values(t);
        let ws: Vec<Wire> = vals
            .iter()
            .map(|&v| {
                let row = s.cur.bank;
                s.cur.bank += 1;
                Wire {
                    cell: s.region.assign_advice(s.config.src, row, v).cell(),
                    value: v,
                }
            })
            .collect();
        #[cfg(test)]
        s.config.forges.commitment.set(0);
        let commit = s
            .config
            .commit(s.region, &mut s.cur, &ws, self.packing(t))?;
        Ok((ws, commit))
    }
}
