//! A check's identity inside one running engine: its position in the
//! config, resolved from its name once at load. Names stay only at the
//! edges that outlive a config edit or face a person (the state file,
//! reload carry-over, the CLI, API paths, logs).

use std::sync::Arc;

use warden_config::Config;
use warden_config::model::Check;

/// One check of the running config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId(u32);

impl CheckId {
    /// The check at `index` in the config's checks; None past u32 (no
    /// config holds that many).
    pub fn new(index: usize) -> Option<CheckId> {
        u32::try_from(index).ok().map(CheckId)
    }

    /// Where the engine's per-check vectors and the status board keep it.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A check with the config that gave it its [`CheckId`]: an id means
/// nothing in another config (a reload may reorder the checks), so what
/// carries one past the engine (events) carries its config too. Shared
/// rather than copied: one config serves the daemon, the notifier and every
/// task (a copy of each check per holder cost about 1 KB a check).
#[derive(Clone)]
pub struct CheckRef {
    config: Arc<Config>,
    id: CheckId,
}

impl CheckRef {
    /// None when `index` is past the config's checks.
    pub fn new(config: &Arc<Config>, index: usize) -> Option<CheckRef> {
        let id = CheckId::new(index).filter(|_| index < config.checks.len())?;
        Some(CheckRef {
            config: config.clone(),
            id,
        })
    }

    /// The check's id in the running engine.
    pub fn id(&self) -> CheckId {
        self.id
    }

    /// The config the id belongs to.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// True when the id belongs to `config` (the same load, not an equal
    /// text loaded again).
    pub fn is_of(&self, config: &Arc<Config>) -> bool {
        Arc::ptr_eq(&self.config, config)
    }
}

impl std::ops::Deref for CheckRef {
    type Target = Check;

    fn deref(&self) -> &Check {
        // In bounds: checked in `new`, and the config never changes.
        &self.config.checks[self.id.index()]
    }
}

/// The same check of the same load.
impl PartialEq for CheckRef {
    fn eq(&self, other: &CheckRef) -> bool {
        self.id == other.id && self.is_of(&other.config)
    }
}

impl std::fmt::Debug for CheckRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}
