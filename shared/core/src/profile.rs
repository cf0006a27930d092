//! Identity-provider profiles: the few defaults a directory's identity provider
//! expects differently from another's. Each is data read by the one code path that
//! serves every provider, never a fork of it; `docs/<provider>.md` and the
//! compatibility matrix of `docs/providers.md` say what each provider gets.

use crate::schema::Returned;
use serde::{Deserialize, Serialize};

/// The kind of identity provider a directory connects (`scimctl directory create
/// --idp`), as the API and the database spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Idp {
    Okta,
    Entra,
    OneLogin,
    JumpCloud,
    /// PingOne and PingFederate (one SCIM outbound provisioner).
    Ping,
    Rippling,
    #[default]
    Generic,
}

/// What differs between providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Whether a group's members carry their `display` unless asked for: the
    /// providers show it in their consoles; a generic client may be a strict test
    /// harness comparing the members it sent (without `display`) with what it reads.
    pub member_display: Returned,
    /// Whether discovery lists the product's roles as a resource type (`/Roles`, schema
    /// `urn:okta:scim:schemas:core:1.0:Role`), as Okta Identity Governance imports
    /// them. Only Okta reads that schema; other clients would take it for a resource
    /// they can create.
    pub governance: bool,
}

impl Idp {
    pub const ALL: [Idp; 7] = [
        Idp::Okta,
        Idp::Entra,
        Idp::OneLogin,
        Idp::JumpCloud,
        Idp::Ping,
        Idp::Rippling,
        Idp::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Idp::Okta => "okta",
            Idp::Entra => "entra",
            Idp::OneLogin => "onelogin",
            Idp::JumpCloud => "jumpcloud",
            Idp::Ping => "ping",
            Idp::Rippling => "rippling",
            Idp::Generic => "generic",
        }
    }

    pub fn profile(self) -> Profile {
        match self {
            Idp::Generic => Profile {
                member_display: Returned::Request,
                governance: false,
            },
            Idp::Okta => Profile {
                member_display: Returned::Default,
                governance: true,
            },
            Idp::Entra | Idp::OneLogin | Idp::JumpCloud | Idp::Ping | Idp::Rippling => Profile {
                member_display: Returned::Default,
                governance: false,
            },
        }
    }
}

impl std::str::FromStr for Idp {
    type Err = String;

    fn from_str(s: &str) -> Result<Idp, String> {
        Idp::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| format!("no identity provider kind {s:?}"))
    }
}

impl std::fmt::Display for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_as_spelled_in_the_api_and_the_database() {
        for idp in Idp::ALL {
            assert_eq!(idp.as_str().parse::<Idp>(), Ok(idp));
            let json = serde_json::to_value(idp).unwrap();
            assert_eq!(json, idp.as_str());
            assert_eq!(serde_json::from_value::<Idp>(json).unwrap(), idp);
        }
        assert!("Okta".parse::<Idp>().is_err());
    }

    #[test]
    fn named_providers_see_member_display_and_generic_clients_ask_for_it() {
        assert_eq!(Idp::Okta.profile().member_display, Returned::Default);
        assert_eq!(Idp::Entra.profile().member_display, Returned::Default);
        assert_eq!(Idp::Generic.profile().member_display, Returned::Request);
    }

    #[test]
    fn only_okta_discovers_the_roles_resource_type() {
        for idp in Idp::ALL {
            assert_eq!(idp.profile().governance, idp == Idp::Okta, "{idp}");
        }
    }
}
