//! Any JSON as a PATCH request body, applied to a user and to a group: the PATCH
//! engines must apply it or refuse it, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::group::{Group, patch as group_patch};
use scim_core::patch;
use scim_core::user::User;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(ops) = patch::parse_request(body) else {
        return;
    };
    let user = User::from_request(json!({
        "userName": "jane@x.com",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": "jane@x.com", "type": "work", "primary": true}, {"value": "j@home.com", "type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
    }))
    .expect("the base user is valid");
    let _ = patch::apply(&user, &ops);
    let (group, _) = Group::from_request(json!({"displayName": "Eng"})).expect("the base group is valid");
    let _ = group_patch::apply(&group, &ops);
});
