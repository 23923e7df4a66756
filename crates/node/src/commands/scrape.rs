//! What `tessera bench --metrics URL` reads from the nodes' `/metrics`
//! before and after its run: the nodes' CPU time and the sign requests'
//! phase histograms, so the bench can print node CPU per signature and where
//! a request's wall time goes.
//!
//! Only the sample lines of the Prometheus text format are read
//! (`name{labels} value`); comments and unknown metrics are skipped.

use std::collections::BTreeMap;

use anyhow::{anyhow, Context};

use tessera_eventconsumer::metrics::{PHASE_DURATION as PHASE, REQUEST_DURATION as REQUEST};

use crate::metrics::PROCESS_CPU;

/// The process collector's CPU counter: whole seconds only (the fallback for
/// nodes older than `tessera_process_cpu_seconds`).
const PROCESS_CPU_COARSE: &str = "process_cpu_seconds_total";

/// The phases of a request in the order they happen (eventconsumer's metrics).
pub const PHASES: [&str; 6] = ["claim", "plan", "join", "protocol", "record", "publish"];

/// One sample line: its name, labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The sample lines of one scrape (comments and malformed lines skipped).
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (head, value) = match line.find('{') {
        Some(open) => {
            let close = line.rfind('}')?;
            let labels = parse_labels(&line[open + 1..close])?;
            ((&line[..open], labels), line[close + 1..].trim())
        }
        None => {
            let (name, rest) = line.split_once(' ')?;
            ((name, BTreeMap::new()), rest.trim())
        }
    };
    // A timestamp may follow the value.
    let value = value.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name: head.0.to_string(),
        labels: head.1,
        value,
    })
}

/// `a="x",b="y"`; the exporter escapes `"` and `\` in values, which bounded
/// label values here never contain.
fn parse_labels(s: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair.split_once('=')?;
        let v = v.trim().strip_prefix('"')?.strip_suffix('"')?;
        out.insert(k.trim().to_string(), v.to_string());
    }
    Some(out)
}

/// The sum of every sample named `name` whose labels include `want`.
pub fn sum(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// What the bench needs of one node at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeFigures {
    /// CPU seconds; `precise` is false when only the whole-second counter was there.
    pub cpu: f64,
    pub precise: bool,
    /// Per phase of sign requests: (sum of seconds, count).
    pub phases: BTreeMap<&'static str, (f64, f64)>,
    /// Successful sign requests end to end: (sum of seconds, count).
    pub request: (f64, f64),
}

impl NodeFigures {
    pub fn of(samples: &[Sample]) -> Self {
        let precise = samples.iter().any(|s| s.name == PROCESS_CPU);
        let cpu = if precise {
            sum(samples, PROCESS_CPU, &[])
        } else {
            sum(samples, PROCESS_CPU_COARSE, &[])
        };
        let phases = PHASES
            .iter()
            .map(|p| {
                let want = [("kind", "sign"), ("phase", *p)];
                let s = sum(samples, &format!("{PHASE}_sum"), &want);
                let c = sum(samples, &format!("{PHASE}_count"), &want);
                (*p, (s, c))
            })
            .collect();
        let want = [("kind", "sign"), ("outcome", "success")];
        let request = (
            sum(samples, &format!("{REQUEST}_sum"), &want),
            sum(samples, &format!("{REQUEST}_count"), &want),
        );
        NodeFigures {
            cpu,
            precise,
            phases,
            request,
        }
    }

    /// What happened between `self` (before) and `after`.
    pub fn delta(&self, after: &NodeFigures) -> NodeFigures {
        let phases = after
            .phases
            .iter()
            .map(|(p, (s, c))| {
                let (s0, c0) = self.phases.get(p).copied().unwrap_or_default();
                (*p, (s - s0, c - c0))
            })
            .collect();
        NodeFigures {
            cpu: after.cpu - self.cpu,
            precise: self.precise && after.precise,
            phases,
            request: (
                after.request.0 - self.request.0,
                after.request.1 - self.request.1,
            ),
        }
    }
}

/// Scrapes one node's `/metrics`.
pub async fn scrape(client: &reqwest::Client, url: &str) -> anyhow::Result<NodeFigures> {
    let text = client
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("cannot read {url}"))?
        .text()
        .await
        .with_context(|| format!("cannot read {url}"))?;
    let samples = parse(&text);
    if samples.is_empty() {
        return Err(anyhow!("{url} returned no metrics"));
    }
    Ok(NodeFigures::of(&samples))
}

/// The bench's report of the nodes over its run: `deltas` per node, in the
/// order of `--metrics`, and the signatures made.
pub fn report(deltas: &[NodeFigures], signatures: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let n = signatures.max(1) as f64;
    let total: f64 = deltas.iter().map(|d| d.cpu).sum();
    let per_node: Vec<String> = deltas
        .iter()
        .map(|d| format!("{:.2}", d.cpu * 1000.0 / n))
        .collect();
    lines.push(format!(
        "node CPU per signature: {:.2} ms (all {} nodes; per node: {} ms){}",
        total * 1000.0 / n,
        deltas.len(),
        per_node.join(", "),
        if deltas.iter().all(|d| d.precise) {
            ""
        } else {
            " [whole-second CPU counter: imprecise]"
        }
    ));
    let mut sums: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for d in deltas {
        for (p, (s, c)) in &d.phases {
            let e = sums.entry(p).or_default();
            e.0 += s;
            e.1 += c;
        }
    }
    let (req_s, req_c): (f64, f64) = deltas
        .iter()
        .fold((0.0, 0.0), |a, d| (a.0 + d.request.0, a.1 + d.request.1));
    let mean = |(s, c): (f64, f64)| if c > 0.0 { s * 1000.0 / c } else { 0.0 };
    let phases: Vec<String> = PHASES
        .iter()
        .map(|p| format!("{p} {:.2}", mean(sums.get(p).copied().unwrap_or_default())))
        .collect();
    lines.push(format!(
        "phases (mean ms per sign request, on the node that pulled it): {}; pull to ack {:.2}",
        phases.join(", "),
        mean((req_s, req_c))
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "\
# HELP tessera_process_cpu_seconds CPU.
# TYPE tessera_process_cpu_seconds gauge
tessera_process_cpu_seconds 1.5
process_cpu_seconds_total 1
tessera_request_phase_duration_seconds_sum{kind=\"sign\",phase=\"protocol\"} 0.010
tessera_request_phase_duration_seconds_count{kind=\"sign\",phase=\"protocol\"} 2
tessera_request_phase_duration_seconds_sum{kind=\"keygen\",phase=\"protocol\"} 9
tessera_request_duration_seconds_sum{kind=\"sign\",outcome=\"success\"} 0.02
tessera_request_duration_seconds_count{kind=\"sign\",outcome=\"success\"} 2
";
    const AFTER: &str = "\
tessera_process_cpu_seconds 2.5
tessera_request_phase_duration_seconds_sum{kind=\"sign\",phase=\"protocol\"} 0.040
tessera_request_phase_duration_seconds_count{kind=\"sign\",phase=\"protocol\"} 12
tessera_request_phase_duration_seconds_sum{kind=\"keygen\",phase=\"protocol\"} 19
tessera_request_duration_seconds_sum{kind=\"sign\",outcome=\"success\"} 0.07
tessera_request_duration_seconds_count{kind=\"sign\",outcome=\"success\"} 12
";

    #[test]
    fn parses_samples_with_and_without_labels() {
        let s = parse("a 1\nb{x=\"1\",y=\"z\"} 2.5 1700000000\n# c 3\nbad\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "a");
        assert_eq!(s[1].labels["y"], "z");
        assert_eq!(s[1].value, 2.5);
    }

    #[test]
    fn deltas_give_cpu_per_signature_and_phase_means() {
        let before = NodeFigures::of(&parse(BEFORE));
        let after = NodeFigures::of(&parse(AFTER));
        let d = before.delta(&after);
        assert!(d.precise);
        assert!((d.cpu - 1.0).abs() < 1e-9);
        let (sum, count) = d.phases["protocol"];
        assert!((sum - 0.03).abs() < 1e-12 && count == 10.0, "{sum} {count}");
        let lines = report(&[d.clone(), d], 100);
        assert_eq!(
            lines[0],
            "node CPU per signature: 20.00 ms (all 2 nodes; per node: 10.00, 10.00 ms)"
        );
        assert!(lines[1].contains("protocol 3.00"), "{}", lines[1]);
        assert!(lines[1].contains("claim 0.00"), "{}", lines[1]);
        assert!(lines[1].ends_with("pull to ack 5.00"), "{}", lines[1]);
    }

    #[test]
    fn falls_back_to_the_whole_second_counter() {
        let f = NodeFigures::of(&parse("process_cpu_seconds_total 7\n"));
        assert_eq!((f.cpu, f.precise), (7.0, false));
        let lines = report(&[f.delta(&f)], 10);
        assert!(lines[0].ends_with("[whole-second CPU counter: imprecise]"));
    }
}
