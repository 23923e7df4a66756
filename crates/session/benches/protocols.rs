//! `make bench`: keygen, signing and share refresh for both protocols, 2-of-3
//! and 3-of-5, in memory. Prints wall time per run and CPU time per party (the simulator is
//! single-threaded, so time inside a party's calls is its CPU time).
//!
//! Targets on a 2-core machine: ECDSA sign <= 5 ms CPU/party, EdDSA sign
//! <= 1 ms CPU/party, ECDSA keygen <= 1 s CPU/party.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tessera_session::derive::DerivationPath;
use tessera_session::ecdsa::{EcdsaKeygen, EcdsaRefresh, EcdsaSign};
use tessera_session::eddsa::{EddsaKeygen, EddsaRefresh, EddsaSign};
use tessera_session::simulator::{run, sessions, Faults, Outcome};
use tessera_types::{NodeId, SessionConfig, SessionId, Threshold};

fn nodes(n: usize) -> Vec<NodeId> {
    (0..n)
        .map(|i| NodeId::new(format!("node{i}")).unwrap())
        .collect()
}

fn cfg(sid: &str, players: &[NodeId], t: u16) -> SessionConfig {
    SessionConfig::new(SessionId::new(sid).unwrap(), players.to_vec(), Threshold(t)).unwrap()
}

struct Stats {
    wall: Vec<Duration>,
    cpu_per_party: Vec<Duration>,
}

impl Stats {
    fn new() -> Self {
        Self {
            wall: Vec::new(),
            cpu_per_party: Vec::new(),
        }
    }
    fn add<O>(&mut self, wall: Duration, out: &Outcome<O>) {
        self.wall.push(wall);
        self.cpu_per_party.extend(out.busy.values().copied());
    }
    fn print(&self, name: &str, target: Option<Duration>) {
        let med = |v: &[Duration]| {
            let mut v = v.to_vec();
            v.sort();
            v[v.len() / 2]
        };
        let cpu = med(&self.cpu_per_party);
        let verdict = match target {
            Some(t) if cpu <= t => format!("target <= {t:?}: met"),
            Some(t) => format!("target <= {t:?}: MISSED"),
            None => String::new(),
        };
        println!(
            "{name:<26} runs {:>3}  wall p50 {:>10.3?}  cpu/party p50 {:>10.3?}  max {:>10.3?}  {verdict}",
            self.wall.len(),
            med(&self.wall),
            cpu,
            self.cpu_per_party.iter().max().copied().unwrap_or_default(),
        );
    }
}

fn main() {
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    // BENCH_KEYGEN_RUNS=1 keeps keygen short when profiling signing.
    let keygen_runs: usize = std::env::var("BENCH_KEYGEN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!("tessera-session in-memory protocol benchmark ({iters} signing runs per line)");
    for (t, n) in [(1u16, 3usize), (2, 5)] {
        let label = format!("{}-of-{}", t + 1, n);
        let ids = nodes(n);
        let c = cfg("bench-kg", &ids, t);

        let mut st = Stats::new();
        let mut ecdsa = BTreeMap::new();
        for i in 0..keygen_runs {
            let c = cfg(&format!("bench-kg-e{i}"), &ids, t);
            let start = Instant::now();
            let out = run(
                sessions(&c, |me| EcdsaKeygen::new(c.clone(), me.clone())).unwrap(),
                &Faults::default(),
            );
            st.add(start.elapsed(), &out);
            ecdsa = out.into_outputs().unwrap();
        }
        st.print(
            &format!("ecdsa keygen {label}"),
            Some(Duration::from_secs(1)),
        );

        let mut st = Stats::new();
        let mut eddsa = BTreeMap::new();
        for i in 0..iters {
            let c = cfg(&format!("bench-kg-d{i}"), &ids, t);
            let start = Instant::now();
            let out = run(
                sessions(&c, |me| EddsaKeygen::new(c.clone(), me.clone())).unwrap(),
                &Faults::default(),
            );
            st.add(start.elapsed(), &out);
            eddsa = out.into_outputs().unwrap();
        }
        st.print(&format!("eddsa keygen {label}"), None);
        let _ = c;

        // Refresh: every holder, same key. ECDSA's complete refresh rebuilds
        // the OT state like keygen does, so it runs as often as keygen.
        let mut st = Stats::new();
        for i in 0..keygen_runs {
            let c = cfg(&format!("bench-re{i}"), &ids, t);
            let start = Instant::now();
            let out = run(
                sessions(&c, |me| EcdsaRefresh::new(&c, ecdsa[me].clone())).unwrap(),
                &Faults::default(),
            );
            st.add(start.elapsed(), &out);
            out.into_outputs().unwrap();
        }
        st.print(&format!("ecdsa refresh {label}"), None);

        let mut st = Stats::new();
        for i in 0..iters {
            let c = cfg(&format!("bench-rd{i}"), &ids, t);
            let start = Instant::now();
            let out = run(
                sessions(&c, |me| EddsaRefresh::new(&c, &eddsa[me])).unwrap(),
                &Faults::default(),
            );
            st.add(start.elapsed(), &out);
            out.into_outputs().unwrap();
        }
        st.print(&format!("eddsa refresh {label}"), None);

        let signers = &ids[..t as usize + 1];
        let mut st = Stats::new();
        for i in 0..iters {
            let c = cfg(&format!("bench-se{i}"), signers, t);
            let digest = [i as u8 + 1; 32];
            let start = Instant::now();
            let out = run(
                sessions(&c, |me| {
                    EcdsaSign::new(&c, ecdsa[me].clone(), &digest, &DerivationPath::root())
                })
                .unwrap(),
                &Faults::default(),
            );
            st.add(start.elapsed(), &out);
            out.into_outputs().unwrap();
        }
        st.print(
            &format!("ecdsa sign {label}"),
            Some(Duration::from_millis(5)),
        );

        let mut st = Stats::new();
        for i in 0..iters {
            let c = cfg(&format!("bench-sd{i}"), signers, t);
            let start = Instant::now();
            let out = run(
                sessions(&c, |me| {
                    EddsaSign::new(&c, &eddsa[me], b"bench message", &DerivationPath::root())
                })
                .unwrap(),
                &Faults::default(),
            );
            st.add(start.elapsed(), &out);
            out.into_outputs().unwrap();
        }
        st.print(
            &format!("eddsa sign {label}"),
            Some(Duration::from_millis(1)),
        );
    }
}
