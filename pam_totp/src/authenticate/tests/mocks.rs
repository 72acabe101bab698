//! The flow's environment, scripted: a PAM stack, a user database and a secret store in
//! memory. The PAM stack and the store write what happens, in order, into one shared journal.

use crate::forwarded::{KeptCode, Taken};
use crate::frontend::{Frontend, Level};
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::store::{Located, LockedRecord, Record, RecordError, SecretStore};
use pam_totp_core::user_db::{Account, GroupEntry, UserDb};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::rc::Rc;
use zeroize::Zeroizing;

/// What happened, in order: prompts and store operations.
#[derive(Clone, Default)]
pub struct Journal(Rc<RefCell<Vec<String>>>);

impl Journal {
    /// Notes that `event` happened.
    pub fn note(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    /// Everything noted so far, in order.
    pub fn events(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// Computes an answer from the messages shown so far.
pub type Responder = Box<dyn FnMut(&[String]) -> Option<String>>;

/// The PAM stack: scripted answers, recorded prompts, messages, log lines and PAM_AUTHTOK.
pub struct MockPam {
    pub journal: Journal,
    pub user: Result<String, String>,
    /// The user's answers, in order; when none is left the conversation gives no answer.
    pub answers: VecDeque<String>,
    pub prompts: Vec<String>,
    /// Error messages shown to the user.
    pub told: Vec<String>,
    /// Information messages shown to the user.
    pub informed: Vec<String>,
    pub authtok: Option<String>,
    /// Whether libpam lets PAM_AUTHTOK be set.
    pub authtok_settable: bool,
    pub rhost: Option<String>,
    pub log: Vec<(Level, String)>,
    pub fail_delay: Option<u32>,
    /// What `forward_pass` kept in the handle.
    pub kept: Option<KeptCode>,
    /// Whether libpam keeps data in the handle.
    pub keeps_data: bool,
    /// Answers a prompt from what the user was shown so far, once the scripted answers are
    /// used up (the enrolling user reads the new key and types its code).
    pub responder: Option<Responder>,
    /// The application passed PAM_SILENT.
    pub silent: bool,
    /// What the clock says when a code is checked (None: the flow keeps the time it started
    /// at).
    pub clock: Option<u64>,
}

impl MockPam {
    /// A stack authenticating `user`, where everything works and nothing is typed yet.
    pub fn new(user: &str, journal: Journal) -> Self {
        MockPam {
            journal,
            user: Ok(user.to_string()),
            answers: VecDeque::new(),
            prompts: Vec::new(),
            told: Vec::new(),
            informed: Vec::new(),
            authtok: None,
            authtok_settable: true,
            rhost: None,
            log: Vec::new(),
            fail_delay: None,
            kept: None,
            keeps_data: true,
            responder: None,
            silent: false,
            clock: None,
        }
    }

    /// The log lines, without their levels.
    pub fn lines(&self) -> Vec<&str> {
        self.log.iter().map(|(_, l)| l.as_str()).collect()
    }

    /// True when a log line at `level` contains `text`.
    pub fn logged(&self, level: Level, text: &str) -> bool {
        self.log
            .iter()
            .any(|(l, line)| *l == level && line.contains(text))
    }
}

impl Frontend for MockPam {
    fn silent(&self) -> bool {
        self.silent
    }

    fn user(&mut self) -> Result<String, String> {
        self.user.clone()
    }

    fn ask_hidden(&mut self, prompt: &str) -> Option<Zeroizing<String>> {
        self.journal.note(format!("ask {prompt}"));
        self.prompts.push(prompt.to_string());
        if let Some(answer) = self.answers.pop_front() {
            return Some(Zeroizing::new(answer));
        }
        // What the user has seen: the messages, then the prompts (this one last).
        let mut seen = self.informed.clone();
        seen.extend(self.prompts.iter().cloned());
        self.responder
            .as_mut()
            .and_then(|respond| respond(&seen))
            .map(Zeroizing::new)
    }

    fn tell_error(&mut self, text: &str) {
        self.told.push(text.to_string());
    }

    fn tell_info(&mut self, text: &str) {
        self.informed.push(text.to_string());
    }

    fn authtok(&self) -> Option<Zeroizing<String>> {
        self.authtok.clone().map(Zeroizing::new)
    }

    fn set_authtok(&mut self, value: &str) -> bool {
        if self.authtok_settable {
            self.authtok = Some(value.to_string());
        }
        self.authtok_settable
    }

    fn rhost(&self) -> Option<String> {
        self.rhost.clone()
    }

    fn hostname(&self) -> Option<String> {
        Some("box".into())
    }

    fn log(&mut self, level: Level, message: &str) {
        self.log.push((level, message.to_string()));
    }

    fn request_fail_delay(&mut self, micros: u32) {
        self.fail_delay = Some(micros);
    }

    fn keep_code(&mut self, kept: KeptCode) -> bool {
        if self.keeps_data {
            self.kept = Some(kept);
        }
        self.keeps_data
    }

    fn take_kept_code(&mut self) -> Option<Taken> {
        self.kept.as_ref()?.take()
    }

    fn settle_kept_code(&mut self) {
        if let Some(kept) = &self.kept {
            kept.settle();
        }
    }

    fn clock(&self) -> Option<u64> {
        self.clock
    }
}

/// The user and group database: accounts by the name a client may type, groups by name with
/// their supplementary members. Every group lookup is noted in [`MockUsers::asked`].
#[derive(Default)]
pub struct MockUsers {
    pub accounts: HashMap<String, Account>,
    /// When set, every lookup fails (an NSS back end that is down).
    pub down: bool,
    /// Groups by name: (id, names of the supplementary members).
    pub groups: HashMap<String, (u32, Vec<String>)>,
    /// When set, group lookups fail (users still resolve).
    pub groups_down: bool,
    /// When set, listing a user's groups fails (getgrouplist).
    pub membership_down: bool,
    /// When set, listing a user's groups silently gives the primary group only, as glibc's
    /// getgrouplist does when a back end is down (it cannot report the failure).
    pub membership_silently_short: bool,
    /// The group lookups made, in order: `group NAME` and `groups USER`.
    pub asked: RefCell<Vec<String>>,
}

/// A user database that could not answer.
#[derive(Debug)]
pub struct DatabaseDown;

impl fmt::Display for DatabaseDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the directory server did not answer")
    }
}

impl MockUsers {
    /// Adds `account`, reachable by its own name and by `aliases`.
    pub fn add(&mut self, account: Account, aliases: &[&str]) {
        for alias in aliases {
            self.accounts.insert(alias.to_string(), account.clone());
        }
        self.accounts.insert(account.name.clone(), account);
    }
}

impl UserDb for MockUsers {
    type Error = DatabaseDown;

    fn user(&self, name: &str) -> Result<Option<Account>, DatabaseDown> {
        if self.down {
            return Err(DatabaseDown);
        }
        Ok(self.accounts.get(name).cloned())
    }

    /// Like getgrouplist: the primary group first, then every group that lists the user.
    fn groups(&self, account: &Account) -> Result<Vec<u32>, DatabaseDown> {
        self.asked
            .borrow_mut()
            .push(format!("groups {}", account.name));
        if self.down || self.membership_down {
            return Err(DatabaseDown);
        }
        let mut gids = vec![account.gid];
        if self.membership_silently_short {
            return Ok(gids);
        }
        gids.extend(
            self.groups
                .values()
                .filter(|(_, members)| members.contains(&account.name))
                .map(|(gid, _)| *gid),
        );
        Ok(gids)
    }

    fn group(&self, name: &str) -> Result<Option<GroupEntry>, DatabaseDown> {
        self.asked.borrow_mut().push(format!("group {name}"));
        if self.down || self.groups_down {
            return Err(DatabaseDown);
        }
        Ok(self.groups.get(name).map(|(gid, members)| GroupEntry {
            gid: *gid,
            members: members.clone(),
        }))
    }
}

/// A step of the store that can be told to refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Finding the record (a directory on the way is not trusted).
    Locate,
    /// Opening it (wrong owner or mode); also refuses snapshots.
    Open,
}

/// What the store holds and how it misbehaves.
#[derive(Default)]
pub struct Shelf {
    /// Records by canonical user name.
    pub records: HashMap<String, SecretFile>,
    /// Users whose record has a place (e.g. their home) but does not exist: located, not
    /// enrolled, and a record can be created for them.
    pub places: Vec<String>,
    pub refuse: Option<Stage>,
    /// Another login holds the lock for longer than the store waits.
    pub locked_elsewhere: bool,
    pub save_fails: bool,
    /// Another login changed the record between this login's read and its save (a store
    /// whose save is a compare-and-swap).
    pub save_conflicts: bool,
    /// The store's configuration cannot work for any user.
    pub misconfigured: bool,
    /// The template the store was made for.
    pub template: Option<String>,
    pub journal: Journal,
}

/// The store: a shelf shared with the test, which looks at it after the flow.
#[derive(Clone, Default)]
pub struct MockStore(pub Rc<RefCell<Shelf>>);

impl MockStore {
    /// The shelf, to set up or look at.
    pub fn shelf(&self) -> std::cell::RefMut<'_, Shelf> {
        self.0.borrow_mut()
    }

    /// The stored record of `user`.
    pub fn record(&self, user: &str) -> SecretFile {
        self.0.borrow().records[user].clone()
    }

    fn note(&self, event: String) {
        self.0.borrow().journal.note(event);
    }

    /// Err when the record of `user` cannot be opened now.
    fn check_open(&self, user: &str) -> Result<(), MockError> {
        let shelf = self.0.borrow();
        if shelf.refuse == Some(Stage::Open) {
            return Err(MockError::refused(format!(
                "/mock/{user}.toml is accessible by other users"
            )));
        }
        if !shelf.records.contains_key(user) {
            return Err(MockError::not_enrolled(user));
        }
        Ok(())
    }
}

/// Why the mock store cannot help.
#[derive(Debug)]
pub struct MockError {
    text: String,
    not_enrolled: bool,
    conflict: bool,
}

impl MockError {
    fn refused(text: String) -> Self {
        MockError {
            text,
            not_enrolled: false,
            conflict: false,
        }
    }

    fn not_enrolled(user: &str) -> Self {
        MockError {
            text: format!("/mock/{user}.toml does not exist"),
            not_enrolled: true,
            conflict: false,
        }
    }
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl RecordError for MockError {
    fn is_not_enrolled(&self) -> bool {
        self.not_enrolled
    }

    fn is_conflict(&self) -> bool {
        self.conflict
    }
}

/// A record located or opened: the user's name.
pub struct Handle(String);

/// A record read without the lock.
pub struct Snapshot(SecretFile);

impl Record for Snapshot {
    fn content(&self) -> &SecretFile {
        &self.0
    }
}

/// A record under the lock; the journal notes when the lock is released.
pub struct Held {
    user: String,
    content: SecretFile,
    store: MockStore,
}

impl Record for Held {
    fn content(&self) -> &SecretFile {
        &self.content
    }
}

impl LockedRecord for Held {
    type Error = MockError;

    fn content_mut(&mut self) -> &mut SecretFile {
        &mut self.content
    }

    fn save(self) -> Result<(), MockError> {
        if self.store.0.borrow().save_fails {
            return Err(MockError::refused(format!(
                "cannot write /mock/{}.toml: No space left on device",
                self.user
            )));
        }
        if self.store.0.borrow().save_conflicts {
            return Err(MockError {
                text: format!("another login changed {}'s record first", self.user),
                not_enrolled: false,
                conflict: true,
            });
        }
        self.store.note("save".into());
        let mut shelf = self.store.shelf();
        shelf
            .records
            .insert(self.user.clone(), self.content.clone());
        Ok(())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.store.note("unlock".into());
    }
}

impl SecretStore for MockStore {
    type Error = MockError;
    type Found = Handle;
    type Opened = Handle;
    type Snapshot = Snapshot;
    type Locked = Held;

    fn locate(&mut self, account: &Account) -> Located<Handle, MockError> {
        self.note(format!("locate {}", account.name));
        let shelf = self.0.borrow();
        if shelf.misconfigured {
            return Located::ConfigError(MockError::refused("the store cannot work".into()));
        }
        if shelf.refuse == Some(Stage::Locate) {
            return Located::Refused(MockError::refused(
                "directory /mock is writable by group or others".into(),
            ));
        }
        if !shelf.records.contains_key(&account.name) && !shelf.places.contains(&account.name) {
            return Located::NotEnrolled(MockError::not_enrolled(&account.name));
        }
        Located::Found(Handle(account.name.clone()))
    }

    fn open(&mut self, found: Handle) -> Result<Handle, MockError> {
        self.note("open".into());
        self.check_open(&found.0)?;
        Ok(found)
    }

    fn lock(&mut self, opened: Handle) -> Result<Held, MockError> {
        self.note("lock".into());
        if self.0.borrow().locked_elsewhere {
            return Err(MockError::refused(format!(
                "/mock/{}.toml stayed locked by another login for 10s; try again",
                opened.0
            )));
        }
        let content = self
            .0
            .borrow()
            .records
            .get(&opened.0)
            .cloned()
            .ok_or_else(|| MockError::not_enrolled(&opened.0))?;
        Ok(Held {
            user: opened.0,
            content,
            store: self.clone(),
        })
    }

    fn snapshot(&mut self, found: Handle) -> Result<Snapshot, MockError> {
        self.note("snapshot".into());
        self.check_open(&found.0)?;
        Ok(Snapshot(self.record(&found.0)))
    }

    fn create(&mut self, found: Handle, content: &SecretFile) -> Result<(), MockError> {
        self.note("create".into());
        let mut shelf = self.shelf();
        if shelf.save_fails {
            return Err(MockError::refused(format!(
                "cannot write /mock/{}.toml: No space left on device",
                found.0
            )));
        }
        if shelf.records.contains_key(&found.0) {
            return Err(MockError::refused(format!("/mock/{}.toml exists", found.0)));
        }
        shelf.records.insert(found.0, content.clone());
        Ok(())
    }
}
