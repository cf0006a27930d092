-- Directories may connect OneLogin, JumpCloud, PingOne/PingFederate and Rippling too
-- (scim_core::profile::Idp spells each kind).
ALTER TABLE directories DROP CONSTRAINT directories_idp_check;
ALTER TABLE directories ADD CONSTRAINT directories_idp_check
    CHECK (idp IN ('okta', 'entra', 'onelogin', 'jumpcloud', 'ping', 'rippling', 'generic'));
