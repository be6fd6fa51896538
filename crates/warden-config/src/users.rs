//! Users and groups by name or number, asked of the system's name service
//! (NSS: /etc/passwd and /etc/group, and LDAP or systemd-userdb users where
//! configured): the one lookup validation, lowering, programs' `as uid`,
//! the socket's owner and `uid`/`gid` tests all use. Callers look up when
//! the config is loaded, not every cycle.

use nix::unistd::{Group, User};

use crate::model::UserRef;

/// A user's id from a name or a number (`root` -> 0, `1000` -> 1000);
/// None when this system knows no such user.
pub fn uid(name: &str) -> Option<u32> {
    number(name).or_else(|| Some(User::from_name(name).ok()??.uid.as_raw()))
}

/// A group's id from a name or a number; None when unknown here.
pub fn gid(name: &str) -> Option<u32> {
    number(name).or_else(|| Some(Group::from_name(name).ok()??.gid.as_raw()))
}

/// Whether `name` is a number or a user this system knows; true when the
/// system cannot be asked (nothing to judge by).
pub fn user_known(name: &str) -> bool {
    number(name).is_some() || User::from_name(name).map_or(true, |u| u.is_some())
}

/// [`user_known`] for groups.
pub fn group_known(name: &str) -> bool {
    number(name).is_some() || Group::from_name(name).map_or(true, |g| g.is_some())
}

/// A user or group name this system does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown user or group '{0}'")]
pub struct UnknownId(pub String);

/// Callers whose errors are still words take this one's words.
impl From<UnknownId> for String {
    fn from(e: UnknownId) -> String {
        e.to_string()
    }
}

/// A program's `as uid`: its number, or which name is unknown.
pub fn user_id(who: &UserRef) -> Result<u32, UnknownId> {
    resolve(who, uid)
}

/// A program's `as gid`: its number, or which name is unknown.
pub fn group_id(who: &UserRef) -> Result<u32, UnknownId> {
    resolve(who, gid)
}

fn resolve(who: &UserRef, lookup: fn(&str) -> Option<u32>) -> Result<u32, UnknownId> {
    match who {
        UserRef::Id(id) => Ok(*id),
        UserRef::Name(name) => lookup(name).ok_or_else(|| UnknownId(name.clone())),
    }
}

/// `who` with a name this system knows turned into its number, so a
/// program run every cycle does not ask again; an unknown name is kept,
/// to be looked up when the program runs (it may be created later).
pub fn resolved(who: &UserRef, lookup: fn(&str) -> Option<u32>) -> UserRef {
    match who {
        UserRef::Name(name) => lookup(name).map_or_else(|| who.clone(), UserRef::Id),
        UserRef::Id(_) => who.clone(),
    }
}

fn number(name: &str) -> Option<u32> {
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_resolve_by_name_or_number() {
        assert_eq!(uid("root"), Some(0));
        assert_eq!(gid("root"), Some(0));
        assert_eq!(uid("1234"), Some(1234));
        assert_eq!(uid("nobody-here"), None);
        assert_eq!(gid("nobody-here"), None);
        assert!(user_known("root") && user_known("77") && !user_known("nobody-here"));
        assert!(group_known("root") && !group_known("nobody-here"));
    }

    #[test]
    fn users_resolve_by_name_and_number() {
        assert_eq!(user_id(&UserRef::Name("root".into())), Ok(0));
        assert_eq!(user_id(&UserRef::Id(12)), Ok(12));
        assert!(user_id(&UserRef::Name("no-such-user-x".into())).is_err());
        assert_eq!(
            group_id(&UserRef::Name("no-such-group-x".into())).map_err(|e| e.to_string()),
            Err("unknown user or group 'no-such-group-x'".to_string())
        );
    }

    #[test]
    fn a_known_name_becomes_its_number_and_an_unknown_one_stays() {
        let unknown = UserRef::Name("no-such-user-x".into());
        assert_eq!(resolved(&UserRef::Name("root".into()), uid), UserRef::Id(0));
        assert_eq!(resolved(&unknown, uid), unknown);
    }
}
