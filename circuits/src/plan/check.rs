//! The validator: a [`Plan`] becomes a [`CheckedPlan`] only if every node's
//! shape and range follow from its op and operands, every reference points
//! backwards, and inputs and outputs are well formed. The executor and the
//! circuits take only checked plans.

use super::{infer::infer, InputQuant, Op, OutputDequant, Plan};
use crate::PlanError;

/// A plan that passed [`CheckedPlan::new`], with its hash once computed
/// (a checked plan does not change; hashing serializes the whole plan,
/// gigabytes for a large model, and the model hash, the model id, the setup
/// record and the claim all ask for it).
#[derive(Clone, Debug)]
pub struct CheckedPlan(Plan, std::sync::OnceLock<String>);

impl PartialEq for CheckedPlan {
    fn eq(&self, other: &CheckedPlan) -> bool {
        self.0 == other.0
    }
}

impl CheckedPlan {
    pub fn new(plan: Plan) -> Result<CheckedPlan, PlanError> {
        let invalid = |s: String| Err(PlanError::Invalid(s));
        let mut seen_inputs = vec![false; plan.inputs.len()];
        for (i, node) in plan.nodes.iter().enumerate() {
            let hint = matches!(node.op, Op::Const { .. } | Op::Reshape | Op::Gather { .. })
                .then_some(node.info.shape.as_slice());
            let info = infer(&plan, i, &node.name, &node.op, &node.inputs, hint)?;
            if info != node.info {
                return Err(PlanError::BadNode {
                    node: i,
                    name: node.name.clone(),
                    reason: format!("declares {:?} but its op gives {:?}", node.info, info),
                });
            }
            if let Op::Input { index } = node.op {
                match seen_inputs.get_mut(index as usize) {
                    Some(s) if !*s => *s = true,
                    _ => {
                        return invalid(format!(
                            "graph input {index} is read by more than one Input node"
                        ))
                    }
                }
            }
        }
        if let Some(k) = seen_inputs.iter().position(|s| !s) {
            return invalid(format!("graph input {k} is never read"));
        }
        for inp in &plan.inputs {
            if let InputQuant::Affine { scale, zero_point } = inp.quant {
                if !(scale.is_finite() && scale > 0.0) {
                    return invalid(format!(
                        "input '{}' has scale {scale}; scales must be positive",
                        inp.name
                    ));
                }
                if zero_point < inp.range.lo || zero_point > inp.range.hi {
                    return invalid(format!(
                        "input '{}' zero point {zero_point} outside its range",
                        inp.name
                    ));
                }
            }
        }
        if plan.outputs.is_empty() {
            return invalid("the plan has no outputs".into());
        }
        for out in &plan.outputs {
            let Some(node) = plan.nodes.get(out.tensor as usize) else {
                return invalid(format!("output '{}' refers to a missing tensor", out.name));
            };
            if let OutputDequant::Affine {
                scales,
                zero_points,
                axis,
            } = &out.dequant
            {
                let ch = node.info.shape.get(*axis as usize).copied().unwrap_or(1);
                let ok_len = |n: usize| n == 1 || n == ch;
                if scales.is_empty() || !ok_len(scales.len()) || zero_points.len() != scales.len() {
                    return invalid(format!("output '{}' has malformed scales", out.name));
                }
                if scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
                    return invalid(format!("output '{}' has a non-positive scale", out.name));
                }
            }
        }
        Ok(CheckedPlan(plan, std::sync::OnceLock::new()))
    }

    pub fn plan(&self) -> &Plan {
        &self.0
    }

    /// [`Plan::hash_hex`], computed once.
    pub fn hash_hex(&self) -> String {
        self.1.get_or_init(|| self.0.hash_hex()).clone()
    }

    pub fn into_plan(self) -> Plan {
        self.0
    }
}

impl std::ops::Deref for CheckedPlan {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        &self.0
    }
}
