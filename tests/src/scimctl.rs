//! The real `scimctl` binary as tests run it: [`Scimctl::run`] for any command line,
//! typed calls for the commands tests use again and again (each panics, naming the
//! command and what it printed, unless the command succeeds).

use scim_admin_api::{Directory, Team, TeamMember};
use serde::de::DeserializeOwned;
use std::process::Command;
use uuid::Uuid;

use crate::process::{OPERATOR_TOKEN, binary};

/// `scimctl` against one admin API, as actor "test"; for one directory's commands when
/// made with [`Scimctl::in_directory`].
#[derive(Debug, Clone)]
pub struct Scimctl {
    admin_url: String,
    directory: Option<Uuid>,
}

impl Scimctl {
    pub fn new(admin_url: impl Into<String>) -> Scimctl {
        Scimctl {
            admin_url: admin_url.into(),
            directory: None,
        }
    }

    /// The same, adding `--directory <dir>` to every command that does not name one.
    pub fn in_directory(&self, dir: Uuid) -> Scimctl {
        Scimctl {
            directory: Some(dir),
            ..self.clone()
        }
    }

    /// Runs `scimctl args…`: its standard output, or its standard error if it failed.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = self.command(args).output().expect("running scimctl");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs `scimctl args…` with these variables set too (a different `ADMIN_TOKEN`, say):
    /// its exit code.
    pub fn exit_code(&self, args: &[&str], env: &[(&str, &str)]) -> i32 {
        let status = self
            .command(args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        status.expect("running scimctl").code().unwrap_or(-1)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary("scimctl"));
        command
            .args(args)
            .env("ADMIN_URL", &self.admin_url)
            .env("ADMIN_TOKEN", OPERATOR_TOKEN)
            .env("SCIMCTL_ACTOR", "test");
        if let Some(dir) = self.directory.filter(|_| !args.contains(&"--directory")) {
            command.args(["--directory", &dir.to_string()]);
        }
        command
    }

    /// Runs a command that must succeed: what it printed.
    pub fn ok(&self, args: &[&str]) -> String {
        self.run(args)
            .unwrap_or_else(|e| panic!("scimctl {args:?} failed: {e}"))
    }

    /// Runs a command that must fail: what it said.
    pub fn refused(&self, args: &[&str]) -> String {
        match self.run(args) {
            Ok(out) => panic!("scimctl {args:?} succeeded: {out}"),
            Err(e) => e,
        }
    }

    /// Runs a command with `--json` that must succeed: what it printed, read as `T`.
    pub fn json<T: DeserializeOwned>(&self, args: &[&str]) -> T {
        let out = self.ok(&[args, &["--json"]].concat());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("scimctl {args:?}: {e}: {out}"))
    }

    /// `directory show`.
    pub fn directory(&self) -> Directory {
        self.json(&["directory", "show"])
    }

    /// `team create --team <name>` (or the team of that name).
    pub fn create_team(&self, name: &str) -> Team {
        self.json(&["team", "create", "--team", name])
    }

    /// `team map --team <team> --group <g>…` (none unmaps).
    pub fn map_team(&self, team: &str, groups: &[&str]) -> Team {
        let mut args = vec!["team", "map", "--team", team];
        for g in groups {
            args.extend(["--group", g]);
        }
        self.json(&args)
    }

    /// `team list`.
    pub fn teams(&self) -> Vec<Team> {
        self.json(&["team", "list"])
    }

    /// `team members --team <team>`: the members, or what scimctl said when it failed
    /// (no such team, for one).
    pub fn team_members(&self, team: &str) -> Result<Vec<TeamMember>, String> {
        let out = self.run(&["team", "members", "--team", team, "--json"])?;
        Ok(serde_json::from_str(&out).unwrap_or_else(|e| panic!("team members: {e}: {out}")))
    }

    /// The emails of the team's members in effect (not suspended); the team must exist.
    pub fn team_emails(&self, team: &str) -> std::collections::BTreeSet<String> {
        let rows = self
            .team_members(team)
            .unwrap_or_else(|e| panic!("team members --team {team}: {e}"));
        rows.into_iter()
            .filter(|r| !r.suspended)
            .filter_map(|r| r.email)
            .collect()
    }
}
