-- The mass-deprovisioning hold (scim_core::hold, docs/operations.md).
--
-- A directory's threshold: deactivations and deletions within an hour past more than
-- hold_min_members members and more than hold_share_percent % of its active members
-- are held. On by default; both NULL: the hold is off. Constant defaults: adding the
-- columns rewrites nothing.
ALTER TABLE directories
    ADD COLUMN hold_min_members integer DEFAULT 10 CHECK (hold_min_members >= 0),
    ADD COLUMN hold_share_percent integer DEFAULT 10
        CHECK (hold_share_percent BETWEEN 1 AND 100),
    ADD CONSTRAINT hold_policy_whole
        CHECK ((hold_min_members IS NULL) = (hold_share_percent IS NULL));

-- The deprovisionings that took effect within the window: what the threshold counts.
-- Rows older than the window are deleted as new ones are counted.
CREATE TABLE deprovisionings (
    directory_id uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    member_id    uuid NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deprovisionings_by_time ON deprovisionings (directory_id, at);

-- A directory's open hold: from the deprovisioning that passed the threshold until
-- its held changes are applied, kept, or all superseded. What the threshold was and
-- what the hour had seen, as the hold began.
CREATE TABLE holds (
    directory_id   uuid PRIMARY KEY REFERENCES directories (id) ON DELETE CASCADE,
    since          timestamptz NOT NULL DEFAULT now(),
    min_members    integer NOT NULL,
    share_percent  integer NOT NULL,
    active_members bigint NOT NULL,
    deprovisioned  bigint NOT NULL
);

-- The members a hold keeps active, with what the identity provider asked: deactivate
-- or remove them, at which version of their user.
CREATE TABLE held_deprovisionings (
    directory_id uuid NOT NULL REFERENCES holds (directory_id) ON DELETE CASCADE,
    scim_user_id uuid NOT NULL,
    member_id    uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    change       text NOT NULL CHECK (change IN ('deactivate', 'remove')),
    scim_version bigint NOT NULL,
    held_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (directory_id, scim_user_id)
);

-- What the threshold's share is of: a directory's active members, counted (from this
-- index alone) each time deprovisionings are judged, until a hold opens.
CREATE INDEX members_active ON members (directory_id) WHERE status = 'active';
