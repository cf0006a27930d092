//! A PostgreSQL server of a test's own, for tests that restart it: initialized in a
//! temporary directory from the installed server binaries (Debian's
//! `/usr/lib/postgresql/<version>/bin`, the newest), listening on a free port of
//! 127.0.0.1 with trust authentication, stopped and removed on drop. As root, the
//! server runs as the `postgres` user (it refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{free_port, wait_for_port};

pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
}

impl PgServer {
    /// Initializes and starts a server.
    pub fn start() -> PgServer {
        let bin = server_bin();
        let dir = std::env::temp_dir().join(format!("scim-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("creating the server's directory");
        let as_root = is_root();
        if as_root {
            run(Command::new("chown").args(["postgres:postgres", &dir.to_string_lossy()]));
        }
        let server = PgServer {
            bin,
            dir,
            port: free_port(),
        };
        server.pg(
            "initdb",
            &[
                "-D",
                &server.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        server.start_again();
        server
    }

    /// `postgres://` URL of the server's `postgres` database.
    pub fn admin_url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// Stops the server (fast shutdown: sessions are terminated, as in a failover)
    /// and starts it again on the same port.
    pub fn restart(&self) {
        self.stop();
        self.start_again();
    }

    fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.to_string_lossy()
        );
        let log = self.dir.join("server.log");
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        );
        assert!(
            wait_for_port(self.port, Duration::from_secs(10)),
            "the test's PostgreSQL did not listen on {}",
            self.port
        );
    }

    fn stop(&self) {
        self.pg("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    /// Runs one of the server's programs, as `postgres` when we are root.
    fn pg(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        run(cmd.args(args).current_dir(&self.dir));
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The newest installed server's binaries.
fn server_bin() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<u32> = std::fs::read_dir(root)
        .expect("PostgreSQL's server is installed under /usr/lib/postgresql (scripts/deps.sh)")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort();
    let newest = versions.last().expect("a PostgreSQL server version");
    root.join(newest.to_string()).join("bin")
}
