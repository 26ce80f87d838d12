//! The integer semantics of every Plan op, one file per op family. These
//! functions are the single definition of what an op computes: the executor
//! calls them, and each family's chip constrains exactly this; both take
//! their index maps (which element an output reads) from [`index`].

pub mod elementwise;
pub mod index;
pub mod layout;
pub mod linear;
pub mod pool;
