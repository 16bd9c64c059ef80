-- find_key: an API key by the SHA-256 of its token, with its own limit and
-- its license's (either may be NULL), whether it is revoked, and when it
-- expires (NULL: never).
--   $1 token_sha256 (bytea)
SELECT k.id, k.license_id, k.rate_limit, l.rate_limit,
       k.revoked_at IS NOT NULL,
       EXTRACT(EPOCH FROM k.expires_at)::bigint
  FROM api_keys k
  JOIN licenses l ON l.id = k.license_id
 WHERE k.token_sha256 = $1
