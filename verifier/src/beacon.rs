//! Public randomness for the hybrid mode's sample: a drand beacon round
//! named in the commitment record.
//!
//! A record may name a beacon (a drand chain and a round emitted after the
//! record is published). Nobody can predict a round's output before it is
//! emitted, and nobody can choose it afterwards (a BLS signature is unique
//! for its key and message), so the sample drawn from it needs no
//! interaction with the verifier: anyone checks the signature offline
//! against the chain's public key. What the beacon cannot show is when the
//! record was published: the sample binds only a record whose hash was
//! public before the round's time ([`BeaconChain::round_time`]), which is
//! the verifier's to know (it kept the hash, or a chain timestamped it).
//!
//! Supported: drand's unchained scheme with signatures on G1
//! (`bls-unchained-g1-rfc9380`, e.g. the League of Entropy's `quicknet`):
//! the message is SHA-256 of the round (8 bytes, big-endian), hashed to G1
//! with RFC 9380's `BLS12381G1_XMD:SHA-256_SSWU_RO_` suite, and the
//! signature `σ` verifies when `e(σ, G2) = e(H(m), pk)`. The randomness the
//! sample uses is the 48-byte signature itself (drand's published
//! randomness is its SHA-256).

use halo2_proofs::halo2curves::bls12_381::{
    multi_miller_loop, G1Affine, G2Affine, G2Prepared, Gt, G1,
};
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::halo2curves::CurveExt;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The domain separation tag of drand's G1 signatures.
const DST: &str = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";

/// A drand chain whose beacons zkinf checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BeaconChain {
    pub name: &'static str,
    /// drand's chain hash (the chain's identity)
    pub chain_hash: [u8; 32],
    /// the group public key on G2, compressed
    pub public_key: [u8; 96],
    /// unix time of round 1
    pub genesis: u64,
    /// seconds between rounds
    pub period: u64,
}

/// The League of Entropy's `quicknet` (3 s rounds since 2023-08-23).
pub const QUICKNET: BeaconChain = BeaconChain {
    name: "quicknet",
    chain_hash: hex32("52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"),
    public_key: hex96(concat!(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c",
        "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb",
        "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    )),
    genesis: 1692803367,
    period: 3,
};

/// The chains zkinf knows.
pub const BEACON_CHAINS: &[BeaconChain] = &[QUICKNET];

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum BeaconError {
    #[error("unknown beacon chain {0} (zkinf checks drand quicknet, chain hash 52db9ba7...)")]
    UnknownChain(String),
    #[error("a beacon signature is 48 bytes (a compressed G1 point), not {0}")]
    SignatureLength(usize),
    #[error("the beacon signature is not a point of BLS12-381's G1 subgroup")]
    SignaturePoint,
    #[error("the beacon signature is not {chain}'s signature of round {round}")]
    Signature { chain: &'static str, round: u64 },
    #[error("beacon round 0 does not exist (rounds start at 1)")]
    RoundZero,
    #[error("the record names {chain} round {round}: its randomness must be that round's signature in hex (96 hex digits)")]
    NotHex { chain: &'static str, round: u64 },
}

/// What an audit's beacon check found (a record naming a round, and the
/// randomness verified as its signature).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BeaconReport {
    pub chain: &'static str,
    pub round: u64,
    /// unix time at which the round was emitted
    pub emitted: u64,
}

impl BeaconReport {
    pub fn describe(&self) -> String {
        format!(
            "randomness from drand {} round {} (signature verified; emitted {}): it binds only a record published before then",
            self.chain,
            self.round,
            utc(self.emitted)
        )
    }
}

/// For a record that names a beacon round, checks that `randomness` is the
/// hex of that round's signature; `Ok(None)` for a record that names none.
pub fn check_randomness(
    record: &crate::CommitRecord,
    randomness: &[u8],
) -> Result<Option<BeaconReport>, BeaconError> {
    let Some(b) = &record.beacon else {
        return Ok(None);
    };
    let chain = BeaconChain::by_hash(&b.chain)?;
    let sig = unhex(randomness).ok_or(BeaconError::NotHex {
        chain: chain.name,
        round: b.round,
    })?;
    chain.verify(b.round, &sig)?;
    Ok(Some(BeaconReport {
        chain: chain.name,
        round: b.round,
        emitted: chain.round_time(b.round),
    }))
}

fn unhex(h: &[u8]) -> Option<Vec<u8>> {
    if h.len() % 2 != 0 {
        return None;
    }
    let d = |c: u8| (c as char).to_digit(16).map(|v| v as u8);
    h.chunks(2)
        .map(|p| Some(d(p[0])? << 4 | d(p[1])?))
        .collect()
}

/// A unix time as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian).
pub fn utc(t: u64) -> String {
    let (days, secs) = ((t / 86_400) as i64, t % 86_400);
    // days since 1970-01-01 to a civil date, in 400-year eras of 146097 days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

impl BeaconChain {
    pub fn by_hash(hash: &[u8; 32]) -> Result<&'static BeaconChain, BeaconError> {
        BEACON_CHAINS
            .iter()
            .find(|c| &c.chain_hash == hash)
            .ok_or_else(|| BeaconError::UnknownChain(crate::hex(hash)))
    }

    pub fn by_name(name: &str) -> Result<&'static BeaconChain, BeaconError> {
        BEACON_CHAINS
            .iter()
            .find(|c| c.name == name || crate::hex(&c.chain_hash) == name)
            .ok_or_else(|| BeaconError::UnknownChain(name.to_string()))
    }

    /// Unix time at which `round` is emitted.
    pub fn round_time(&self, round: u64) -> u64 {
        self.genesis + round.saturating_sub(1) * self.period
    }

    /// The first round emitted at or after unix time `t`.
    pub fn first_round_at_or_after(&self, t: u64) -> u64 {
        if t <= self.genesis {
            return 1;
        }
        (t - self.genesis).div_ceil(self.period) + 1
    }

    /// Checks that `signature` is this chain's signature of `round`.
    pub fn verify(&self, round: u64, signature: &[u8]) -> Result<(), BeaconError> {
        if round == 0 {
            return Err(BeaconError::RoundZero);
        }
        let sig: [u8; 48] = signature
            .try_into()
            .map_err(|_| BeaconError::SignatureLength(signature.len()))?;
        let sig: Option<G1Affine> = G1Affine::from_compressed_be(&sig).into();
        let sig = sig
            .filter(|p| !bool::from(p.is_identity()))
            .ok_or(BeaconError::SignaturePoint)?;
        let pk: Option<G2Affine> = G2Affine::from_compressed_be(&self.public_key).into();
        let bad = BeaconError::Signature {
            chain: self.name,
            round,
        };
        let pk = pk.ok_or(bad.clone())?;
        let message = Sha256::digest(round.to_be_bytes());
        let h = G1::hash_to_curve(DST)(&message).to_affine();
        let neg_g2 = -G2Affine::generator();
        let check = multi_miller_loop(&[
            (&sig, &G2Prepared::from(neg_g2)),
            (&h, &G2Prepared::from(pk)),
        ])
        .final_exponentiation();
        if check == Gt::identity() {
            Ok(())
        } else {
            Err(bad)
        }
    }
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not lowercase hex"),
    }
}

const fn hex_array<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    assert!(b.len() == 2 * N);
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn hex32(s: &str) -> [u8; 32] {
    hex_array::<32>(s)
}

const fn hex96(s: &str) -> [u8; 96] {
    hex_array::<96>(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// quicknet round 657413 as the chain published it: its signature, and
    /// drand's randomness (SHA-256 of the signature).
    const ROUND: u64 = 657413;
    const SIG: [u8; 48] = hex_array(concat!(
        "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be",
        "41076862b98fad56e91a6b85b89cd97b"
    ));
    const RANDOMNESS: [u8; 32] =
        hex32("fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587");

    #[test]
    fn a_published_quicknet_round_verifies() {
        assert_eq!(<[u8; 32]>::from(Sha256::digest(SIG)), RANDOMNESS);
        QUICKNET.verify(ROUND, &SIG).unwrap();
    }

    #[test]
    fn another_round_a_changed_signature_or_a_bad_length_is_refused() {
        assert_eq!(
            QUICKNET.verify(ROUND + 1, &SIG),
            Err(BeaconError::Signature {
                chain: "quicknet",
                round: ROUND + 1
            })
        );
        assert_eq!(QUICKNET.verify(0, &SIG), Err(BeaconError::RoundZero));
        assert_eq!(
            QUICKNET.verify(ROUND, &SIG[..47]),
            Err(BeaconError::SignatureLength(47))
        );
        // a flipped bit: either no point at all, or another point
        for byte in [0usize, 20, 47] {
            let mut s = SIG;
            s[byte] ^= 1;
            assert!(QUICKNET.verify(ROUND, &s).is_err(), "flip in byte {byte}");
        }
        // another valid G1 point (the generator) is not the signature
        let g = G1Affine::generator().to_compressed_be();
        assert!(matches!(
            QUICKNET.verify(ROUND, &g),
            Err(BeaconError::Signature { .. })
        ));
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(QUICKNET.genesis), "2023-08-23 15:09:27 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_798_761_599), "2026-12-31 23:59:59 UTC");
    }

    #[test]
    fn round_times() {
        assert_eq!(QUICKNET.round_time(1), QUICKNET.genesis);
        assert_eq!(QUICKNET.first_round_at_or_after(QUICKNET.genesis + 1), 2);
        assert_eq!(QUICKNET.first_round_at_or_after(QUICKNET.genesis + 3), 2);
        assert_eq!(QUICKNET.first_round_at_or_after(QUICKNET.genesis + 4), 3);
        let r = QUICKNET.first_round_at_or_after(1_800_000_000);
        assert!(QUICKNET.round_time(r) >= 1_800_000_000);
        assert!(QUICKNET.round_time(r - 1) < 1_800_000_000);
        assert!(BeaconChain::by_name("quicknet").is_ok());
        assert!(BeaconChain::by_hash(&QUICKNET.chain_hash).is_ok());
        assert!(BeaconChain::by_name("default").is_err());
    }
}
