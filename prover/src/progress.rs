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

/// Time left in a run of shards whose cost grows like `2^k` (keygen and
/// proving are dominated by FFTs and MSMs over `2^k` rows): after the first
/// shard, the time so far scaled by the work left.
pub(crate) struct Eta {
    total: f64,
    done: f64,
    started: std::time::Instant,
}

impl Eta {
    pub(crate) fn new(ks: &[u32]) -> Eta {
        Eta {
            total: ks.iter().map(|&k| (k as f64).exp2()).sum(),
            done: 0.0,
            started: std::time::Instant::now(),
        }
    }

    /// `", about N s left"` once a shard is done, else nothing.
    pub(crate) fn left(&self) -> String {
        if self.done <= 0.0 {
            return String::new();
        }
        let secs = self.started.elapsed().as_secs_f64() * (self.total - self.done) / self.done;
        format!(", about {secs:.0} s left")
    }

    pub(crate) fn finished(&mut self, k: u32) {
        self.done += (k as f64).exp2();
    }

    /// A shard that needed no work (kept from an earlier run): out of the
    /// estimate, so it does not make the rest look quick.
    pub(crate) fn skipped(&mut self, k: u32) {
        self.total -= (k as f64).exp2();
    }
}

#[cfg(test)]
mod tests {
    use super::Eta;

    #[test]
    fn time_left_scales_by_the_work_left() {
        let mut e = Eta::new(&[10, 10, 11]);
        assert_eq!(e.left(), "");
        e.finished(10);
        // a quarter done: three times the time so far is left
        assert!(e.left().starts_with(", about "), "{}", e.left());
        e.finished(10);
        e.finished(11);
        assert_eq!(e.left(), ", about 0 s left");
        // a skipped shard is not counted as done
        let mut e = Eta::new(&[10, 10]);
        e.skipped(10);
        assert_eq!(e.left(), "");
        e.finished(10);
        assert_eq!(e.left(), ", about 0 s left");
    }
}
