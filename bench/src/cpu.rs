//! CPU time used by the processes on this machine during a phase, from `/proc` (Linux;
//! elsewhere nothing is printed): the system under test shares the machine with the
//! benchmark, so each figure comes with where its time went.

use std::collections::HashMap;

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU seconds used so far by each live process, by pid, with its name.
pub struct Usage(HashMap<u32, (String, f64)>);

pub fn now() -> Usage {
    let mut usage = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (name) state ppid ...`: the name may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        // utime and stime are fields 14 and 15 of stat(5); here from the state (3).
        if let (Some(user), Some(system)) = (ticks(11), ticks(12)) {
            let name = stat[open + 1..close].to_owned();
            usage.insert(pid, (name, (user + system) / TICKS));
        }
    }
    Usage(usage)
}

/// `cpu s: ingress 3.1, postgres 4.2, …` for what was used since `before`, the
/// system's processes by name and everything else (the kernel's threads included) as
/// `other`; empty where `/proc` is not there.
pub fn since(before: &Usage) -> String {
    let after = now();
    if after.0.is_empty() {
        return String::new();
    }
    const NAMED: [&str; 5] = ["ingress", "postgres", "worker", "nats-server", "scim-bench"];
    let mut by_name: HashMap<&str, f64> = HashMap::new();
    for (pid, (name, used)) in &after.0 {
        let earlier = before.0.get(pid).map_or(0.0, |(_, u)| *u);
        let group = NAMED
            .iter()
            .find(|n| *n == name)
            .copied()
            .unwrap_or("other");
        *by_name.entry(group).or_default() += used - earlier;
    }
    let parts: Vec<String> = NAMED
        .iter()
        .chain(&["other"])
        .map(|n| format!("{n} {:.1}", by_name.get(n).copied().unwrap_or(0.0)))
        .collect();
    format!("cpu s: {}", parts.join(", "))
}
