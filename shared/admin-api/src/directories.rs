//! Directories, their controls and their SCIM bearer tokens.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub use scim_core::profile::Idp;

/// `PUT /directories/{id}/team-mapping`, and a directory's team mode with that mode's
/// setting: how provisioning assigns teams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"team_mode": "attribute", "team_attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "unmapped_values": "create"})))]
#[serde(tag = "team_mode", rename_all = "lowercase")]
pub enum TeamMapping {
    /// Admins map teams to exact group names.
    Mapped,
    /// Each pushed group is a team with exactly the group's members; with a pattern,
    /// only groups whose names match it (`*` for any characters, case ignored).
    Mirrored {
        /// 1 to 200 bytes of UTF-8.
        #[serde(
            rename = "mirror_pattern",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
        pattern: Option<String>,
    },
    /// The values of this URN-qualified extension attribute name the teams, through the
    /// directory's value table where it has a row.
    Attribute {
        /// `urn:…:<attribute>`, such as `urn:acme:scim:schemas:2.0:User:group`.
        #[serde(rename = "team_attribute")]
        #[cfg_attr(feature = "openapi", schema(pattern = "^urn:[\\s\\S]*:[^:]+$"))]
        attribute: String,
        /// What a value without a row in the value table does.
        #[serde(rename = "unmapped_values", default)]
        unmapped: Unmapped,
    },
}

/// Attribute mode: what a value that the value table does not map does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Unmapped {
    /// Names a team, made on the value's first use.
    #[default]
    Create,
    /// Names no team.
    Ignore,
}

/// `POST /directories`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Acme Corp", "idp": "okta"})))]
#[serde(deny_unknown_fields)]
pub struct NewDirectory {
    /// 1 to 200 bytes of UTF-8, unique per deployment (case ignored).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    #[serde(default)]
    pub idp: Idp,
}

/// A directory: settings, counts and the SCIM base URL its identity provider uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Directory {
    pub id: Uuid,
    pub name: String,
    pub idp: Idp,
    /// Most active users; `null` for no limit.
    pub seat_limit: Option<i32>,
    /// Email domains users must be on; empty accepts any.
    pub trusted_domains: Vec<String>,
    /// How provisioning assigns teams: `team_mode`, with `team_attribute` or
    /// `mirror_pattern` where the mode has one.
    #[serde(flatten)]
    pub team_mapping: TeamMapping,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_request_at: Option<OffsetDateTime>,
    pub users: i64,
    pub active_users: i64,
    pub groups: i64,
    pub teams: i64,
    /// Raised by every change of the directory's settings (its events' version).
    pub version: i64,
    pub scim_base_url: String,
    /// Until when the request log keeps what every request sends, not only failed
    /// ones; `null` when that window is not open.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub inspect_until: Option<OffsetDateTime>,
    /// The mass-deprovisioning hold's threshold; `null`: the hold is off.
    #[serde(default)]
    pub hold_policy: Option<crate::HoldPolicy>,
    /// What a push of someone the product already has as a member made by hand does.
    #[serde(default)]
    pub existing_members: ExistingMembers,
    /// Users deactivated and unchanged this many days are deleted; `null`: never.
    #[serde(default)]
    pub retention_days: Option<i32>,
    /// Since when the directory's provisioning is paused (`POST …/pause`): the SCIM API
    /// answers and records, the product is left as it is; `null`: not paused.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub paused_at: Option<OffsetDateTime>,
}

/// What a directory does when its identity provider pushes someone the product already
/// has as a member made by hand (same email).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ExistingMembers {
    /// Provisioning takes the member over: it is `adopted`.
    #[default]
    Adopt,
    /// The create is refused (409 `uniqueness`) with a detail naming the member.
    Refuse,
}

/// `PUT /directories/{id}/retention`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"retention_days": 30})))]
#[serde(deny_unknown_fields)]
pub struct RetentionSetting {
    /// Days a user stays deactivated and unchanged before it is deleted (1 or more);
    /// `null`: never (the default).
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub retention_days: Option<i32>,
}

/// `PUT /directories/{id}/existing-members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"existing_members": "adopt"})))]
#[serde(deny_unknown_fields)]
pub struct ExistingMembersSetting {
    pub existing_members: ExistingMembers,
}

/// `POST /directories` answers the directory with its first token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedDirectory {
    #[serde(flatten)]
    pub directory: Directory,
    pub token: IssuedToken,
}

/// `DELETE /directories/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletedDirectory {
    pub deleted: Uuid,
    pub removed: Removed,
}

/// What a deleted directory held.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removed {
    pub name: String,
    pub users: i64,
    pub groups: i64,
    pub teams: i64,
}

/// `PUT /directories/{id}/seat-limit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"seat_limit": 250})))]
#[serde(deny_unknown_fields)]
pub struct SeatLimit {
    /// `null` removes the limit.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub seat_limit: Option<i32>,
}

/// A trusted domain as an admin gives it, for the OpenAPI document (the wire type is a
/// string): ASCII labels of letters, digits and `-` (1 to 63 each, at least two), upper
/// or lower case, with surrounding ASCII spaces, `@` and dots ignored.
#[cfg(feature = "openapi")]
pub struct DomainName;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for DomainName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A domain name, such as acme.com"))
            .pattern(Some(scim_core::controls::DOMAIN_PATTERN))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for DomainName {}

/// `PUT /directories/{id}/trusted-domains`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"domains": ["acme.com", "acme.co.uk"]})))]
#[serde(deny_unknown_fields)]
pub struct TrustedDomains {
    /// Empty accepts users on any domain.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<DomainName>))]
    pub domains: Vec<String>,
}

/// `PUT /directories/{id}/access-rules`: the trusted domains and the seat limit in
/// one change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"trusted_domains": ["acme.com"], "seat_limit": 250})))]
#[serde(deny_unknown_fields)]
pub struct AccessRules {
    /// Empty accepts users on any domain.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<DomainName>))]
    pub trusted_domains: Vec<String>,
    /// `null`: no limit.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub seat_limit: Option<i32>,
}

/// `PUT /directories/{id}/inspection`: keep what every request sends for `minutes`
/// (at most [`scim_core::limits::INSPECTION_MINUTES`]), or stop (0).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"minutes": 30})))]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    #[cfg_attr(feature = "openapi", schema(maximum = 60))]
    pub minutes: u32,
}

/// `POST /directories/{id}/tokens` (the body may be left out: a token that does not
/// expire).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"expires_at": "2027-06-01T00:00:00Z"})))]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// When the token stops working; in the future.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// `POST /directories/{id}/tokens`: the token, and where to use it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewToken {
    #[serde(flatten)]
    pub token: IssuedToken,
    pub scim_base_url: String,
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Token {
    pub id: Uuid,
    /// The token's first characters, enough to tell tokens apart.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// When it stops working; `null` for never.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Where it came from; `null` for a token issued before this was recorded.
    #[serde(default)]
    pub origin: Option<TokenOrigin>,
}

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenOrigin {
    /// Issued with its directory (`directory create`).
    DirectoryCreated,
    /// Issued by an operator (admin API, `scimctl`, the console).
    Operator,
    /// Generated on the directory's setup page.
    SetupLink,
}

/// A newly issued token: the only time its plain text is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedToken {
    pub id: Uuid,
    pub prefix: String,
    pub token: String,
    /// When it stops working; `null` for never.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}
