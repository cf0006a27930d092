//! Directory controls applied to SCIM writes: trusted email domains and seat limits.
//! Pure rules; the ingress reads the settings and counts.

use crate::ScimError;
use crate::user::{User, fold_email};
use std::collections::BTreeSet;

/// The user's email addresses, lower-cased: every `emails[].value`, and `userName` when
/// it is an address (Okta's default unique identifier).
fn addresses(user: &User) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = user.email_values().into_iter().collect();
    if user.user_name().contains('@') {
        found.insert(fold_email(user.user_name()));
    }
    found
}

fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// Whether `email` is an address a person could be reached at: one `@`, a local part,
/// and a domain with a dot; no spaces; at most 254 bytes (RFC 5321's path limit).
pub fn check_email(email: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{email:?} is not an email address: {why}"));
    if email.len() > 254 {
        return bad("longer than 254 bytes");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains spaces");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("no @");
    };
    if local.is_empty() || domain.contains('@') {
        return bad("it needs exactly one @ with a name before it");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
    {
        return bad("the domain is not a domain name");
    }
    Ok(())
}

/// What [`normalize_domains`] takes, as a regular expression (the admin API's OpenAPI
/// document states it).
pub const DOMAIN_PATTERN: &str =
    r"^[\t\n\f\r ]*@*\.*([A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{1,63}\.*[\t\n\f\r ]*$";

/// Normalizes an admin's list of domains: lower case, no surrounding ASCII spaces, `@`
/// or dots, sorted, without repeats. `Err` names an entry that is not a domain name
/// (ASCII labels of letters, digits and `-`, each 1 to 63 long, at least two):
/// [`DOMAIN_PATTERN`] says the same.
pub fn normalize_domains(domains: &[String]) -> Result<Vec<String>, String> {
    let mut out = BTreeSet::new();
    for d in domains {
        let d = d
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .trim_start_matches('@')
            .trim_matches('.')
            .to_ascii_lowercase();
        let valid = !d.is_empty()
            && d.contains('.')
            && d.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(d);
        }
        out.insert(d);
    }
    Ok(out.into_iter().collect())
}

/// Checks a user being written against the directory's trusted domains (none: anything
/// goes). Only addresses the user did not already have are checked, so an existing
/// user keeps working when the list changes. A user must have at least one address.
pub fn check_domains(new: &User, old: Option<&User>, trusted: &[String]) -> Result<(), ScimError> {
    if trusted.is_empty() {
        return Ok(());
    }
    let current = addresses(new);
    if current.is_empty() {
        return Err(ScimError::invalid_value(
            "this directory only accepts users with an email address on its trusted domains, and the user has none",
        ));
    }
    let before = old.map(addresses).unwrap_or_default();
    for address in current.difference(&before) {
        let d = domain(address);
        if !trusted.iter().any(|t| t == d) {
            return Err(ScimError::invalid_value(format!(
                "the email domain {d:?} is not a trusted domain of this directory (trusted: {})",
                trusted.join(", ")
            )));
        }
    }
    Ok(())
}

/// The error for an activation past the seat limit.
pub fn over_capacity(limit: i64, in_use: i64) -> ScimError {
    ScimError::Forbidden(format!(
        "the directory is over capacity ({in_use} of {limit} seats in use); deactivate a user or raise the seat limit"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn user(v: Value) -> User {
        User::from_request(v).unwrap()
    }

    #[test]
    fn emails_are_checked_for_what_reaches_a_person() {
        for good in ["jane@acme.com", "j.doe+teams@sub.acme.co.uk"] {
            assert_eq!(check_email(good), Ok(()), "{good}");
        }
        for bad in [
            "jane",
            "@acme.com",
            "jane@",
            "jane@acme",
            "jane@@acme.com",
            "ja ne@acme.com",
            "jane@acme..com",
            "jane@-acme.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@acme.com", "x".repeat(250))).is_err());
    }

    #[test]
    fn every_new_address_must_be_on_a_trusted_domain() {
        let trusted = vec!["acme.com".to_owned()];
        let ok = user(json!({"userName": "Jane@ACME.com", "emails": [{"value": "jane@acme.com"}]}));
        assert!(check_domains(&ok, None, &trusted).is_ok());
        let bad = user(
            json!({"userName": "jane@acme.com", "emails": [{"value": "jane@evil.com", "type": "home"}]}),
        );
        let e = check_domains(&bad, None, &trusted).unwrap_err();
        assert!(e.to_string().contains("\"evil.com\""), "{e}");
        // A subdomain is a different domain.
        let sub = user(json!({"userName": "jane@eng.acme.com"}));
        assert!(check_domains(&sub, None, &trusted).is_err());
        // Nothing to check against: refused while domains are set, accepted otherwise.
        let none = user(json!({"userName": "jdoe"}));
        assert!(check_domains(&none, None, &trusted).is_err());
        assert!(check_domains(&none, None, &[]).is_ok());
        assert!(check_domains(&bad, None, &[]).is_ok());
    }

    #[test]
    fn addresses_a_user_already_had_are_not_rechecked() {
        let trusted = vec!["acme.com".to_owned()];
        let old = user(json!({"userName": "jane@old.com"}));
        let renamed = user(json!({"userName": "jane@old.com", "title": "CTO"}));
        assert!(check_domains(&renamed, Some(&old), &trusted).is_ok());
        let moved = user(json!({"userName": "jane@old.com", "emails": [{"value": "j@other.com"}]}));
        assert!(check_domains(&moved, Some(&old), &trusted).is_err());
    }

    #[test]
    fn domains_are_normalized_and_validated() {
        let input = ["@Acme.COM", "acme.com", " eng.acme.com. "].map(String::from);
        assert_eq!(
            normalize_domains(&input).unwrap(),
            vec!["acme.com".to_owned(), "eng.acme.com".to_owned()]
        );
        // Only ASCII spaces are trimmed, only ASCII letters lowered: a Kelvin sign is no k.
        let bad = [
            "",
            "localhost",
            "a..b",
            "x y.com",
            "bad_domain.com",
            "\u{a0}acme.com",
            "\u{212a}.com",
        ];
        for bad in bad {
            assert!(normalize_domains(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
    }
}
