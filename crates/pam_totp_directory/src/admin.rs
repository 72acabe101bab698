//! What `totp-enroll --store ldap` does to a user's entries, bound as the administrator's
//! configuration says: read them (status, tokens), enroll (token and parameters entries, the
//! user entry's object class and token reference), replace recovery codes, add a token,
//! remove the enrollment.
