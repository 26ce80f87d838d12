//! Whole ops built from the divide chip and its neighbours, equal to the
//! executor: softmax lanes (maxpool, running sums, lookup, division) and
//! average pooling (running sums with a constant, constant divisors).

use super::*;
use crate::chips::range::FunctionTable;

/// Whole softmax lanes from chips: the max (maxpool chip), `max - x_i`
/// (running sum with coefficients 1, -1), `e_i = table[max - x_i]` (lookup
/// chip), `Σ e` (running sum) and the divisions.
#[derive(Clone)]
struct SoftmaxCircuit {
    lanes: Vec<Vec<i64>>,
    table: Vec<i64>,
    params: DivideParams,
}

#[derive(Clone)]
struct SoftmaxConfig {
    base: TestConfig,
    pool: MaxPoolConfig,
    lookup: LookupConfig,
}

const TAG: u64 = 1;

impl Circuit<Fr> for SoftmaxCircuit {
    type Config = SoftmaxConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> SoftmaxConfig {
        let base = configure_divide(meta);
        let pool_cols = std::array::from_fn(|_| meta.advice_column());
        let pool = MaxPoolConfig::configure(meta, pool_cols, base.divide.range.clone());
        let (z, next, out) = (
            meta.advice_column(),
            meta.fixed_column(),
            meta.advice_column(),
        );
        SoftmaxConfig {
            base,
            pool,
            lookup: LookupConfig::configure(meta, z, next, out),
        }
    }

    fn synthesize(&self, cfg: SoftmaxConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let (src, div) = (cfg.base.src, &cfg.base.divide);
        div.range.load_table(&mut layouter)?;
        let exp = FunctionTable {
            tag: TAG,
            in_lo: 0,
            values: &self.table,
        };
        cfg.lookup.range.load_tables(&mut layouter, &[exp])?;
        layouter.assign_region(
            || "softmax",
            |mut region| {
                let (mut src_row, mut pool_row, mut lk_row, mut row, mut range) = (0, 0, 0, 0, 0);
                for lane in &self.lanes {
                    let xs = sources(&mut region, src, src_row, lane);
                    src_row += lane.len();
                    let taps: Vec<(Wire, i64)> = xs.iter().copied().zip(lane.clone()).collect();
                    let (max, next, next_range) = cfg.pool.assign_window(
                        &mut region,
                        pool_row,
                        range,
                        &taps,
                        5,
                        true,
                        None,
                    )?;
                    (pool_row, range) = (next, next_range);
                    let top = lane.iter().copied().max().unwrap_or(0);
                    let mut idx = Vec::new();
                    for (x, &v) in xs.iter().zip(lane) {
                        let w =
                            div.assign_sum(&mut region, row, &[max, *x], Some(&[1, -1]), 0, None)?;
                        row += 2;
                        idx.push((w, top - v));
                    }
                    let es =
                        cfg.lookup
                            .assign(&mut region, lk_row, TAG, 0, &self.table, &idx, None)?;
                    lk_row += idx.len();
                    let e: Vec<i64> = idx.iter().map(|&(_, j)| self.table[j as usize]).collect();
                    let sum = div.assign_sum(&mut region, row, &es, None, 0, None)?;
                    row += sum_rows(es.len());
                    let d: i128 = e.iter().map(|&v| v as i128).sum();
                    let ns: Vec<(Wire, i64)> = es.into_iter().zip(e).collect();
                    let (_, next_range) = div.assign(
                        &mut region,
                        row,
                        range,
                        &ns,
                        &Divisor::Wire(sum, d),
                        &self.params,
                        |_, _| {},
                    )?;
                    row += ns.len();
                    range = next_range;
                }
                Ok(())
            },
        )
    }
}

#[test]
fn softmax_lanes_equal_the_executor() {
    // e_j = round(256 exp(-j / 2)): 256, 155, 94, ..., 1, 0, 0
    let table: Vec<i64> = (0..16)
        .map(|j| (256.0 * (-(j as f64) / 2.0).exp()).round() as i64)
        .collect();
    assert_eq!((table[0], table[15]), (256, 0));
    let lanes: Vec<Vec<i64>> = vec![
        vec![3, -2, 5, 5, 0],
        vec![7, -8, -8],
        vec![1, 1, 1, 1],
        vec![-4, -3, -5, -8, 0, 2],
        vec![6],
    ];
    let (out_mult, out_zero, lo, hi) = (256, -128, -128, 127);
    let widest = lanes.iter().map(Vec::len).max().unwrap_or(1) as i128;
    // the max tap contributes table[0], so Σ e >= 256
    let params = DivideParams {
        mult: out_mult,
        out_zero,
        lo,
        hi,
        n_lo: 0,
        n_hi: table[0],
        d_lo: table[0] as i128,
        d_hi: widest * table[0] as i128,
        slack: 0,
    };
    let c = SoftmaxCircuit {
        lanes: lanes.clone(),
        table: table.clone(),
        params: params.clone(),
    };
    assert_eq!(prove(&c), Ok(()));
    for lane in &lanes {
        let x = ArrayD::from_shape_vec(IxDyn(&[lane.len()]), lane.clone()).unwrap();
        let want = softmax(&x, 0, &table, out_mult, out_zero, lo, hi);
        let top = lane.iter().copied().max().unwrap_or(0);
        let e: Vec<i64> = lane.iter().map(|&v| table[(top - v) as usize]).collect();
        let d: i128 = e.iter().map(|&v| v as i128).sum();
        let got: Vec<i64> = e.iter().map(|&n| params.witness(n, d).y).collect();
        assert_eq!(
            got,
            want.iter().copied().collect::<Vec<_>>(),
            "lane {lane:?}"
        );
    }
    // [7, -8, -8]: 256 * 256 / 256 saturates high
    assert_eq!(params.witness(256, 256).y, 127);
}

/// Average pooling of a 3x3 map (kernel 3, stride 1, pads 1): windows of 4,
/// 6 and 9 taps, each summed with the constant `-taps in_zero` and divided
/// by the constant `count 2^shift`.
#[derive(Clone)]
pub(super) struct AvgPoolCircuit {
    /// the taps of each window, with its count
    pub(super) windows: Vec<(Vec<i64>, i128)>,
    pub(super) in_zero: i64,
    pub(super) params: DivideParams,
}

impl Circuit<Fr> for AvgPoolCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        configure_divide(meta)
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let div = &config.divide;
        div.range.load_table(&mut layouter)?;
        layouter.assign_region(
            || "avgpool",
            |mut region| {
                let (mut src_row, mut row, mut range) = (0, 0, 0);
                for (taps, count) in &self.windows {
                    let ws = sources(&mut region, config.src, src_row, taps);
                    src_row += taps.len();
                    let zsum = -(taps.len() as i64) * self.in_zero;
                    let n = div.assign_sum(&mut region, row, &ws, None, zsum, None)?;
                    row += sum_rows(ws.len());
                    let nv: i64 = taps.iter().map(|&t| t - self.in_zero).sum();
                    let (_, next) = div.assign(
                        &mut region,
                        row,
                        range,
                        &[(n, nv)],
                        &Divisor::Const(*count),
                        &self.params,
                        |_, _| {},
                    )?;
                    row += 1;
                    range = next;
                }
                Ok(())
            },
        )
    }
}

#[test]
fn avg_pool_equals_the_executor() {
    let x: Vec<i64> = vec![-128, 127, 5, -7, 100, 3, 0, -1, 64];
    let map = ArrayD::from_shape_vec(IxDyn(&[1, 1, 3, 3]), x.clone()).unwrap();
    let (in_zero, mult, out_zero, lo, hi) = (-3, 3, 2, -128, 127);
    for shift in 0..=3u32 {
        for include_pad in [false, true] {
            let mut windows = Vec::new();
            for oy in 0..3i64 {
                for ox in 0..3i64 {
                    let mut taps = Vec::new();
                    for iy in oy - 1..=oy + 1 {
                        for ix in ox - 1..=ox + 1 {
                            if (0..3).contains(&iy) && (0..3).contains(&ix) {
                                taps.push(x[(iy * 3 + ix) as usize]);
                            }
                        }
                    }
                    let count = if include_pad { 9 } else { taps.len() as i128 };
                    windows.push((taps, count << shift));
                }
            }
            let counts: Vec<i128> = windows.iter().map(|w| w.1 >> shift).collect();
            if !include_pad {
                assert_eq!(counts, vec![4, 6, 4, 6, 9, 6, 4, 6, 4]);
            }
            let params = DivideParams {
                mult,
                out_zero,
                lo,
                hi,
                n_lo: 9 * (-128 - in_zero),
                n_hi: 9 * (127 - in_zero),
                d_lo: 4 << shift,
                d_hi: 9 << shift,
                slack: 0,
            };
            let c = AvgPoolCircuit {
                windows: windows.clone(),
                in_zero,
                params: params.clone(),
            };
            assert_eq!(prove(&c), Ok(()), "shift {shift}");
            let want = avg_pool(
                &map,
                [3, 3],
                [1, 1],
                [1, 1, 1, 1],
                include_pad,
                in_zero,
                mult,
                shift,
                out_zero,
                lo,
                hi,
                &[1, 1, 3, 3],
            );
            let got: Vec<i64> = windows
                .iter()
                .map(|(taps, d)| {
                    let n: i64 = taps.iter().map(|&t| t - in_zero).sum();
                    params.witness(n, *d).y
                })
                .collect();
            assert_eq!(
                got,
                want.iter().copied().collect::<Vec<_>>(),
                "shift {shift}, count_include_pad {include_pad}"
            );
        }
    }
}
