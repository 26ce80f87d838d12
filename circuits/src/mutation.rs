//! Constraint mutation hooks. Every gate polynomial, lookup and copy
//! constraint of the chips (and of the shard circuit's own glue) is declared
//! through this module under a stable id such as `"rescale/gate:rounding"`,
//! `"range/lookup:limb"` or `"matmul/copy:lhs-rhs"` (`chip/kind:name`).
//!
//! Without the `mutation` feature [`on`] is the constant `true`: every hook
//! is the constraint itself and compiles to exactly the code it wraps, so
//! constraint systems, verifying keys and proofs are unchanged. With the
//! feature (used only by the mutation test, `chips::mutation_tests`) a test
//! may switch off one id on its thread: that gate polynomial becomes zero,
//! that lookup is not registered, that copy constraint is skipped. Every id
//! a circuit declares is recorded, which is how the test enumerates them.

use halo2_proofs::circuit::{Cell, Region};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::Expression;

#[cfg(feature = "mutation")]
mod state {
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeSet;

    thread_local! {
        pub static DISABLED: Cell<Option<&'static str>> = const { Cell::new(None) };
        pub static SEEN: RefCell<BTreeSet<&'static str>> = const { RefCell::new(BTreeSet::new()) };
    }
}

/// Whether constraint `id` is in force: always, unless the `mutation`
/// feature is on and the current thread disabled it.
#[inline(always)]
pub(crate) fn on(id: &'static str) -> bool {
    #[cfg(feature = "mutation")]
    {
        state::SEEN.with(|s| s.borrow_mut().insert(id));
        state::DISABLED.with(|d| d.get() != Some(id))
    }
    #[cfg(not(feature = "mutation"))]
    {
        let _ = id;
        true
    }
}

/// A gate polynomial with its id (zero when the id is disabled).
#[inline(always)]
pub(crate) fn gate(id: &'static str, poly: Expression<Fr>) -> Expression<Fr> {
    if on(id) {
        poly
    } else {
        poly * Expression::Constant(Fr::ZERO)
    }
}

/// A copy constraint with its id (skipped when the id is disabled).
#[inline(always)]
pub(crate) fn equal(region: &mut Region<'_, Fr>, id: &'static str, a: Cell, b: Cell) {
    if on(id) {
        region.constrain_equal(a, b);
    }
}

/// Disables constraint `id` on this thread (`None`: every constraint on).
#[cfg(all(test, feature = "mutation"))]
pub(crate) fn disable(id: Option<&'static str>) {
    state::DISABLED.with(|d| d.set(id));
}

/// The ids declared on this thread since the last call (and forgets them).
#[cfg(all(test, feature = "mutation"))]
pub(crate) fn take_seen() -> std::collections::BTreeSet<&'static str> {
    state::SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()))
}
