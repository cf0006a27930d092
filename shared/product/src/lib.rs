//! The product side of provisioning: the member records and teams a SaaS product keeps,
//! derived from the directory. The only writer of `members` and `team_members` (their
//! first migration still says the worker owns them: migrations are never edited): the
//! worker calls it for every event, the admin API for what people do by hand.
//!
//! - [`affected`]: what an event asks to bring up to date, and doing it;
//! - [`members`]: member records (one per SCIM user, and those made by hand), and
//!   [`sync`], bringing them up to date with their users;
//! - [`hold`]: the mass-deprovisioning hold the member records pass through;
//! - [`recompute`]: every member and team of a directory at once (reconcile, resume);
//! - [`teams`]: how teams follow the directory ([`teams::plan`], pure), their SQL
//!   ([`teams::store`]) and the recomputation ([`teams::reconcile`]);
//! - [`roles`]: each member's role, recomputed by `scim_core::roles::resolve`.

/// Implements sqlx's reading of a column that holds a `$t` as text (`$t::parse`).
macro_rules! text_column {
    ($t:ty, $what:literal) => {
        impl sqlx::Type<sqlx::Postgres> for $t {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $t {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                <$t>::parse(text)
                    .ok_or_else(|| format!(concat!("no ", $what, " {:?}"), text).into())
            }
        }
    };
}

pub mod affected;
pub mod hold;
pub mod members;
pub mod recompute;
pub mod roles;
pub mod sync;
pub mod teams;
