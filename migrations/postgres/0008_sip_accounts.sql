-- Agents' SIP phones: the digest secrets a user's phone REGISTERs with, as HA1s for one
-- realm (H(username:realm:password), MD5 and SHA-256, lower-case hex). Never a password.
CREATE TABLE sip_accounts (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    realm      TEXT   NOT NULL,
    ha1_md5    TEXT   NOT NULL,
    ha1_sha256 TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
