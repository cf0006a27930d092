//! Any JSON as a user or group body: normalization must accept or refuse it, never
//! panic, and what it accepts it must accept again as it returns it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::group::Group;
use scim_core::user::User;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(user) = User::from_request(body.clone()) {
        let again = User::from_request(Value::Object(user.attrs().clone()))
            .expect("a normalized user is a valid request");
        assert_eq!(again, user, "normalization is idempotent");
    }
    let _ = Group::from_request(body);
});
