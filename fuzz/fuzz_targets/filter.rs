//! Any text as a filter, a PATCH path and a sortBy: parsing, compiling to SQL for both
//! resource types and evaluating in memory must answer or refuse, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::filter::{self, eval, sql};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = filter::parse(text) {
        let _ = sql::compile_filter(&sql::USERS, &f, 2);
        let _ = sql::compile_filter(&sql::GROUPS, &f, 2);
        let user = serde_json::json!({
            "userName": "jane@x.com",
            "name": {"givenName": "Jane"},
            "emails": [{"value": "jane@x.com", "type": "work", "primary": true}],
            "active": true,
        });
        if let serde_json::Value::Object(resource) = user {
            let _ = eval::matches_user(&f, &resource);
        }
    }
    if let Ok(path) = filter::parse_path(text) {
        let _ = sql::compile_sort(&sql::USERS, &path.attr, false);
    }
});
