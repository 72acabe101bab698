//! Who is asked for a code: the group rules `only_group=` and `skip_group=`, decided through
//! the user and group database before any file is looked at. `skip_group` wins.

use crate::options::ModuleOptions;
use pam_totp_core::log_safe;
use pam_totp_core::user_db::{Account, GroupEntry, UserDb};
use thiserror::Error;

/// The group rules of one pam.d line, with the group names resolved to ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPolicy {
    /// `only_group=`: (name, entry) of each group; empty when the option is not given.
    only: Vec<(String, GroupEntry)>,
    /// `skip_group=`: (name, entry) of each group.
    skip: Vec<(String, GroupEntry)>,
}

/// Why a user is not asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exemption {
    /// A member of this `skip_group=` group.
    SkipGroup(String),
    /// A member of none of the `only_group=` groups (or no such user); the groups,
    /// comma-separated.
    NotInOnlyGroup(String),
}

/// Why the group rules could not be applied.
#[derive(Debug, Error)]
pub enum PolicyError<E: std::fmt::Display> {
    /// A group the pam.d line names does not exist: a configuration error.
    #[error("group \"{group}\" named in {option}= does not exist in the group database; create it or fix the pam.d line")]
    NoSuchGroup {
        /// `only_group` or `skip_group`.
        option: &'static str,
        /// The group's name (log-safe).
        group: String,
    },
    /// The group database could not say whether a group exists.
    #[error("cannot look up group \"{group}\" named in {option}= in the group database: {error}")]
    GroupLookup {
        /// `only_group` or `skip_group`.
        option: &'static str,
        /// The group's name (log-safe).
        group: String,
        /// What the database said.
        error: E,
    },
    /// The groups of the user could not be listed.
    #[error("cannot list the user's groups in the group database: {error}")]
    Membership {
        /// What the database said.
        error: E,
    },
}

impl<E: std::fmt::Display> PolicyError<E> {
    /// True for an error in the pam.d line (PAM_SERVICE_ERR), false for a database that did not
    /// answer (the login is refused).
    pub fn is_configuration_error(&self) -> bool {
        matches!(self, PolicyError::NoSuchGroup { .. })
    }
}

impl GroupPolicy {
    /// Resolves the groups that `opts` names. Every name must exist: a misspelt group must not
    /// quietly exempt everyone (or no one).
    pub fn resolve<U: UserDb>(
        users: &U,
        opts: &ModuleOptions,
    ) -> Result<GroupPolicy, PolicyError<U::Error>> {
        Ok(GroupPolicy {
            only: resolve_names(users, "only_group", &opts.only_group)?,
            skip: resolve_names(users, "skip_group", &opts.skip_group)?,
        })
    }

    /// True when the pam.d line has group rules (otherwise nobody is exempt, and the group
    /// database is not asked).
    pub fn is_active(&self) -> bool {
        !self.only.is_empty() || !self.skip.is_empty()
    }

    /// Whether `account` (None: no such user) is exempt from the second factor.
    pub fn exemption<U: UserDb>(
        &self,
        users: &U,
        account: Option<&Account>,
    ) -> Result<Option<Exemption>, PolicyError<U::Error>> {
        if !self.is_active() {
            return Ok(None);
        }
        let Some(account) = account else {
            // No such user belongs to any group: outside only_group, and never in skip_group.
            return Ok(self.outside_only_group());
        };
        // The primary group and the supplementary ones (the trait's contract).
        let gids = users
            .groups(account)
            .map_err(|error| PolicyError::Membership { error })?;
        // getgrouplist cannot report a failing back end (it silently leaves its groups out),
        // so the group entry's own member list (from getgrnam, which does report failures)
        // counts too: a member of only_group is not taken for an outsider that way.
        let member = |(_, group): &&(String, GroupEntry)| {
            gids.contains(&group.gid) || group.members.contains(&account.name)
        };
        if let Some((name, _)) = self.skip.iter().find(member) {
            return Ok(Some(Exemption::SkipGroup(name.clone())));
        }
        if self.only.iter().any(|g| member(&g)) {
            return Ok(None);
        }
        Ok(self.outside_only_group())
    }

    /// The exemption of a user in none of the `only_group=` groups (None: no such option).
    fn outside_only_group(&self) -> Option<Exemption> {
        if self.only.is_empty() {
            return None;
        }
        let names: Vec<String> = self.only.iter().map(|(n, _)| log_safe::field(n)).collect();
        Some(Exemption::NotInOnlyGroup(names.join(",")))
    }
}

fn resolve_names<U: UserDb>(
    users: &U,
    option: &'static str,
    names: &[String],
) -> Result<Vec<(String, GroupEntry)>, PolicyError<U::Error>> {
    names
        .iter()
        .map(|name| match users.group(name) {
            Ok(Some(entry)) => Ok((name.clone(), entry)),
            Ok(None) => Err(PolicyError::NoSuchGroup {
                option,
                group: log_safe::field(name),
            }),
            Err(error) => Err(PolicyError::GroupLookup {
                option,
                group: log_safe::field(name),
                error,
            }),
        })
        .collect()
}
