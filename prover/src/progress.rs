//! How the pipeline tells its caller about slow steps (key generation,
//! proving, SRS generation): the CLI prints them, an embedding service may
//! log them or stay silent.

pub trait Progress {
    /// A slow step starts.
    fn step(&mut self, what: &str);
    /// The step started last is done.
    fn done(&mut self);
    /// A note (a warning, a regenerated cache).
    fn note(&mut self, msg: &str);
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn step(&mut self, _: &str) {}
    fn done(&mut self) {}
    fn note(&mut self, _: &str) {}
}
