"""E-mail of the attestation: invitations and notices (B 2.7, 4.6) rendered from views,
kept in a database outbox so no letter is lost to a restart, and sent over SMTP by a
background sender that retries with backoff and shows failures to staff."""
