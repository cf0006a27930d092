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
}

impl Service {
    /// Starts the ingress on free ports (SCIM and admin API) and waits until it listens.
    pub fn ingress(database_url: &str, nats_url: &str) -> Service {
        Service::ingress_with(database_url, nats_url, &[])
    }

    /// Starts the ingress with extra environment.
    pub fn ingress_with(database_url: &str, nats_url: &str, env: &[(&str, &str)]) -> Service {
        let (port, admin_port, metrics_port) = (free_port(), free_port(), free_port());
        let child = Command::new(binary("ingress"))
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("ADMIN_LISTEN_ADDR", format!("127.0.0.1:{admin_port}"))
            .env("ADMIN_TOKEN", OPERATOR_TOKEN)
            .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env("DATABASE_URL", database_url)
            .env("NATS_URL", nats_url)
            .env(
                "RUST_LOG",
                std::env::var("SERVICE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the ingress");
        assert!(
            wait_for_port(port, Duration::from_secs(30))
                && wait_for_port(admin_port, Duration::from_secs(30)),
            "the ingress did not start listening"
        );
        Service {
            child,
            port,
            admin_port,
            metrics_port,
        }
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

    /// Starts a worker with the given extra environment; waits until its health
    /// endpoint listens (on `port`).
    pub fn worker(database_url: &str, nats_url: &str, env: &[(&str, &str)]) -> Service {
        let (port, metrics_port) = (free_port(), free_port());
        let child = Command::new(binary("worker"))
            .env("WORKER_HEALTH_ADDR", format!("127.0.0.1:{port}"))
            .env("WORKER_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env("DATABASE_URL", database_url)
            .env("NATS_URL", nats_url)
            .env(
                "RUST_LOG",
                std::env::var("SERVICE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the worker");
        assert!(
            wait_for_port(port, Duration::from_secs(30)),
            "the worker did not start"
        );
        Service {
            child,
            port,
            admin_port: 0,
            metrics_port,
        }
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

/// Runs `scimctl` with `args` against an admin API: its standard output, or its
/// standard error if it failed.
pub fn scimctl(admin_url: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(binary("scimctl"))
        .args(args)
        .env("ADMIN_URL", admin_url)
        .env("ADMIN_TOKEN", OPERATOR_TOKEN)
        .env("SCIMCTL_ACTOR", "test")
        .output()
        .expect("running scimctl");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
