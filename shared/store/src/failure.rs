//! What a database error says about its cause, so that each caller answers it the same
//! way: the ingress (503 or a 4xx), the admin API (503 or 400) and the worker (retry
//! forever, or dead-letter after its attempts). Only outages are worth retrying as they
//! are; an error caused by the data fails again with the same data.

/// The cause of a failed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The database is unreachable, restarting (a failover terminates connections with
    /// 57P01), out of connections or resources, or the transaction lost a race
    /// (serialization failure, deadlock): the same statement can succeed later.
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
    pub fn of(e: &sqlx::Error) -> Failure {
        match e {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                from_sqlstate(&code, db.constraint())
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => Failure::Outage,
            _ => Failure::Bug,
        }
    }

    /// Whether the same statement may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Failure::Outage | Failure::Timeout)
    }
}

/// Classifies by SQLSTATE (PostgreSQL, Appendix A).
fn from_sqlstate(code: &str, constraint: Option<&str>) -> Failure {
    let class = code.get(..2).unwrap_or_default();
    match (code, class) {
        ("57014", _) => Failure::Timeout,
        // Connection exceptions, refused logins, a database missing or not accepting
        // connections (55000), operator intervention (admin or crash shutdown, cannot
        // connect now), insufficient resources, system and internal errors, transaction
        // rollbacks (serialization failure, deadlock), a lock not available: the
        // database's state, not the statement's.
        (_, "08" | "28" | "3D" | "40" | "53" | "55" | "57" | "58" | "XX") => Failure::Outage,
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
        for code in [
            "57P01", "57P03", "08006", "53300", "40001", "40P01", "58030", "55P03",
        ] {
            assert_eq!(from_sqlstate(code, None), Failure::Outage, "{code}");
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
