//! Safe access to user-controlled files: no symlinks, checked owner and mode, bounded reads,
//! locked and atomic updates.

pub mod identity;
pub mod store;
