//! What a database error says about its cause, so that each caller answers it the same
//! way: the ingress (503 or a 4xx), the admin API (503 or 400) and the worker (retry
//! forever, or dead-letter after its attempts). Only outages are worth retrying as they
//! are; an error caused by the data fails again with the same data.

/// The cause of a failed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The connection was gone (a failover, a restart, a terminated backend: 57P01,
    /// 57P02, a closed socket): what was sent on it did not take effect, unless it was
    /// a commit, whose outcome is then unknown. A fresh connection can succeed at once.
    Lost,
    /// The database is unreachable, not accepting connections yet, out of connections
    /// or resources, or the transaction lost a race (serialization failure, deadlock):
    /// the same statement can succeed later.
    Outage,
    /// The statement ran past its time limit (`statement_timeout`).
    Timeout,
    /// The data was refused: a value too long for its index (54000), a malformed or
    /// out-of-range value (22…), an integrity constraint (23…, with its name).
    Data {
        code: String,
        constraint: Option<String>,
    },
    /// Anything else (SQL the code got wrong, a row that does not decode): a bug.
    Bug,
}

impl Failure {
    /// The cause of `e`. A lost connection is noted too: every pool of the process
    /// then checks its older connections before handing them out ([`crate::liveness`]).
    pub fn of(e: &sqlx::Error) -> Failure {
        let failure = match e {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                from_sqlstate(&code, db.constraint())
            }
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => Failure::Lost,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                Failure::Outage
            }
            _ => Failure::Bug,
        };
        if failure == Failure::Lost {
            crate::liveness::lost();
        }
        failure
    }

    /// Whether the same statement may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Failure::Lost | Failure::Outage | Failure::Timeout)
    }
}

/// Classifies by SQLSTATE (PostgreSQL, Appendix A).
fn from_sqlstate(code: &str, constraint: Option<&str>) -> Failure {
    let class = code.get(..2).unwrap_or_default();
    match (code, class) {
        ("57014", _) => Failure::Timeout,
        // The server ended the session: terminated (57P01, as a failover or
        // `pg_terminate_backend` does) or crashed (57P02); a connection exception (08…).
        ("57P01" | "57P02", _) | (_, "08") => Failure::Lost,
        // Connection exceptions, refused logins, a database missing or not accepting
        // connections (55000), operator intervention (admin or crash shutdown, cannot
        // connect now), insufficient resources, system and internal errors, transaction
        // rollbacks (serialization failure, deadlock), a lock not available: the
        // database's state, not the statement's.
        (_, "28" | "3D" | "40" | "53" | "55" | "57" | "58" | "XX") => Failure::Outage,
        (_, "22" | "23" | "54") => Failure::Data {
            code: code.to_owned(),
            constraint: constraint.map(str::to_owned),
        },
        _ => Failure::Bug,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_transient_and_refused_data_is_not() {
        for code in ["57P03", "53300", "40001", "40P01", "58030", "55P03"] {
            assert_eq!(from_sqlstate(code, None), Failure::Outage, "{code}");
        }
        for code in ["57P01", "57P02", "08006", "08003"] {
            assert_eq!(from_sqlstate(code, None), Failure::Lost, "{code}");
            assert!(Failure::Lost.is_transient());
        }
        assert_eq!(from_sqlstate("57014", None), Failure::Timeout);
        for code in ["54000", "22001", "22P02", "23505", "23503", "23514"] {
            let f = from_sqlstate(code, Some("c"));
            assert!(matches!(f, Failure::Data { .. }), "{code}");
            assert!(!f.is_transient());
        }
        assert_eq!(from_sqlstate("42P01", None), Failure::Bug);
        assert_eq!(from_sqlstate("", None), Failure::Bug);
        assert!(Failure::of(&sqlx::Error::PoolTimedOut).is_transient());
        assert_eq!(Failure::of(&sqlx::Error::RowNotFound), Failure::Bug);
    }
}
