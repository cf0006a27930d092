//! The real `ingress` and `worker` binaries as child processes, killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{free_port, wait_for_port};

/// `target/<profile>/<name>`, next to the test executable's `deps/` directory.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("locating the test executable");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace binaries first (cargo build --workspace --bins)",
        path.display()
    );
    path
}

/// The operator token the test ingresses accept on their admin API.
pub const OPERATOR_TOKEN: &str = "test-operator-token";

pub struct Service {
    child: Child,
    pub port: u16,
    /// The admin API's port (ingress only).
    pub admin_port: u16,
    /// The metrics endpoint's port.
    pub metrics_port: u16,
    /// How it was started, to start it again on the same ports.
    binary: &'static str,
    env: Vec<(String, String)>,
}

impl Service {
    /// Starts the ingress on free ports (SCIM and admin API) and waits until it listens.
    pub fn ingress(database_url: &str, nats_url: &str) -> Service {
        Service::ingress_with(database_url, nats_url, &[])
    }

    /// Starts the ingress with extra environment.
    pub fn ingress_with(database_url: &str, nats_url: &str, env: &[(&str, &str)]) -> Service {
        Service::spawn("ingress", 3, |ports| {
            let mut all = vec![
                ("LISTEN_ADDR".to_owned(), format!("127.0.0.1:{}", ports[0])),
                (
                    "ADMIN_LISTEN_ADDR".to_owned(),
                    format!("127.0.0.1:{}", ports[1]),
                ),
                ("ADMIN_TOKEN".to_owned(), OPERATOR_TOKEN.to_owned()),
                ("METRICS_ADDR".to_owned(), format!("127.0.0.1:{}", ports[2])),
            ];
            all.extend(common_env(
                database_url,
                nats_url,
                &crate::NATS_INGRESS,
                env,
            ));
            all
        })
    }

    /// Starts a worker with the given extra environment; waits until its health
    /// endpoint listens.
    pub fn worker(database_url: &str, nats_url: &str, env: &[(&str, &str)]) -> Service {
        Service::spawn("worker", 2, |ports| {
            let mut all = vec![
                (
                    "WORKER_HEALTH_ADDR".to_owned(),
                    format!("127.0.0.1:{}", ports[0]),
                ),
                (
                    "WORKER_METRICS_ADDR".to_owned(),
                    format!("127.0.0.1:{}", ports[1]),
                ),
            ];
            all.extend(common_env(database_url, nats_url, &crate::NATS_WORKER, env));
            all
        })
    }

    /// Starts `binary` on `n` free ports (the first the one it is ready on, then the
    /// admin API's for the ingress, and the metrics'), with the environment `env` gives
    /// for them. A free port can be taken by another test's process before the service
    /// binds it: then it starts again, on other ports.
    fn spawn(
        binary: &'static str,
        n: usize,
        env: impl Fn(&[u16]) -> Vec<(String, String)>,
    ) -> Service {
        for _ in 0..5 {
            let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
            let env = env(&ports);
            if let Some(child) = start(binary, &env, ports[0]) {
                let port_at = |i: usize| ports.get(i).copied().unwrap_or_default();
                return Service {
                    child,
                    port: ports[0],
                    admin_port: if n == 3 { port_at(1) } else { 0 },
                    metrics_port: port_at(n - 1),
                    binary,
                    env,
                };
            }
        }
        panic!("{binary} did not start: every port it was given was taken");
    }

    /// Kills the process at once (SIGKILL), as a crashed node would die.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the process again, on the same ports, after [`Service::kill`].
    pub fn restart(&mut self) {
        self.child = start(self.binary, &self.env, self.port)
            .unwrap_or_else(|| panic!("{} did not start again on {}", self.binary, self.port));
    }

    /// The Prometheus metrics text.
    pub async fn metrics(&self) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics_port);
        let res = reqwest::get(&url).await.expect("reading metrics");
        assert!(res.status().is_success(), "{url}: {}", res.status());
        res.text().await.expect("metrics text")
    }

    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the process.
    pub fn freeze(&self, frozen: bool) {
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "kill {signal} failed");
    }

    /// Sends SIGTERM and waits for a graceful exit; returns whether it exited cleanly.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn common_env(
    database_url: &str,
    nats_url: &str,
    nats_user: &crate::NatsUser,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut env = vec![
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("NATS_URL".to_owned(), nats_url.to_owned()),
        (
            "RUST_LOG".to_owned(),
            std::env::var("SERVICE_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ];
    env.extend(
        nats_user
            .env()
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

/// Starts `binary` with `env` and waits until it listens on `port`; `None` if it exited
/// first (a port it was given was taken).
fn start(binary: &str, env: &[(String, String)], port: u16) -> Option<Child> {
    let mut child = Command::new(self::binary(binary))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let listening = wait_for_port(port, Duration::from_millis(100));
        if listening {
            // Listening on the first port: alive still after binding the others?
            std::thread::sleep(Duration::from_millis(100));
        }
        match child.try_wait() {
            Ok(None) if listening => return Some(child),
            Ok(None) => {}
            _ => {
                let _ = child.wait();
                return None;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{binary} did not start listening on {port}");
}
