//! Constraint mutation test (`cargo test -p zkinf-circuits --features
//! mutation mutation -- --nocapture`): every gate polynomial, lookup and copy
//! constraint the chips and the shard circuit declare (their ids, see
//! [`crate::mutation`]) is switched off in turn, and the chips' forged
//! witnesses are proven again. A constraint is covered ("killed") when a
//! forged witness that every constraint together rejects is accepted
//! without it; a constraint no forged witness needs ("survived") is either
//! unneeded or untested, and fails the test.

use super::testing::Case;
use crate::mutation;
use std::collections::BTreeMap;
use std::time::Instant;

/// Every chip's cases, by chip name (the prefix of its ids).
fn suites() -> Vec<(&'static str, Vec<Case>)> {
    vec![
        ("range", super::range::tests::cases()),
        ("lookup", super::lookup::tests::cases()),
        ("maxpool", super::maxpool::tests::cases()),
        ("rescale", super::rescale::tests::cases()),
        ("divide", super::divide::tests::cases()),
        ("dot", super::dot::tests::cases()),
        ("matmul", super::matmul::tests::cases()),
        ("poseidon", super::poseidon::tests::cases()),
        ("shard", crate::shard::tests::cases()),
    ]
}

#[test]
fn mutation() {
    let t0 = Instant::now();
    let suites = suites();
    let total_cases: usize = suites.iter().map(|s| s.1.len()).sum();

    // every constraint in force: honest witnesses accepted, forged rejected;
    // the ids each suite's circuits declare
    mutation::disable(None);
    let mut seen_by: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (si, (chip, cases)) in suites.iter().enumerate() {
        mutation::take_seen();
        for c in cases {
            if c.accepted() == c.forged {
                wrong.push(format!(
                    "{chip}: {} ({})",
                    c.name,
                    if c.forged {
                        "forged, accepted"
                    } else {
                        "honest, rejected"
                    }
                ));
            }
        }
        for id in mutation::take_seen() {
            seen_by.entry(id).or_default().push(si);
        }
    }
    assert!(
        wrong.is_empty(),
        "with every constraint in force: {wrong:#?}"
    );
    let owner = |id: &str| id.split('/').next().unwrap_or("").to_string();
    let mut problems = Vec::new();
    for (chip, cases) in &suites {
        let n = seen_by.keys().filter(|id| owner(id) == *chip).count();
        println!("mutation: {chip}: {n} constraints, {} cases", cases.len());
        if n == 0 {
            problems.push(format!("{chip}: no registered constraint"));
        }
        for c in cases {
            for t in &c.targets {
                if !seen_by.contains_key(t) {
                    problems.push(format!("{chip}: {} targets unknown id {t}", c.name));
                }
            }
        }
    }

    // one constraint off at a time
    let (mut killed, mut survived) = (Vec::new(), Vec::new());
    let mut runs = 0usize;
    for (&id, sis) in &seen_by {
        mutation::disable(Some(id));
        let mut killer: Option<String> = None;
        // the cases built for this constraint: each must get through
        for (chip, cases) in &suites {
            for c in cases.iter().filter(|c| c.targets.contains(&id)) {
                runs += 1;
                if c.accepted() {
                    killer.get_or_insert_with(|| format!("{chip}: {}", c.name));
                } else {
                    problems.push(format!(
                        "{id}: {chip}: {} is still rejected without it",
                        c.name
                    ));
                }
            }
        }
        // else any forged case of the suites that declare it, its chip's first
        if killer.is_none() {
            let mut order: Vec<usize> = sis.clone();
            order.sort_by_key(|&si| suites[si].0 != owner(id));
            'search: for si in order {
                let (chip, cases) = &suites[si];
                for c in cases
                    .iter()
                    .filter(|c| c.forged && !c.targets.contains(&id))
                {
                    runs += 1;
                    if c.accepted() {
                        killer = Some(format!("{chip}: {} (not targeted)", c.name));
                        break 'search;
                    }
                }
            }
        }
        mutation::disable(None);
        match killer {
            Some(k) => {
                println!("mutation: killed   {id:<36} by {k}");
                killed.push(id);
            }
            None => {
                println!("mutation: SURVIVED {id:<36} no forged witness needs it");
                survived.push(id);
            }
        }
    }
    println!(
        "mutation: {} constraints, {} killed, {} survived ({} cases, {runs} mutant runs, {:.1} s)",
        seen_by.len(),
        killed.len(),
        survived.len(),
        total_cases,
        t0.elapsed().as_secs_f64()
    );
    println!(
        "mutation: {} passed, {} failed",
        killed.len(),
        survived.len()
    );
    for p in &problems {
        println!("mutation: problem: {p}");
    }
    assert!(survived.is_empty(), "surviving constraints: {survived:?}");
    assert!(problems.is_empty(), "{problems:#?}");
}
