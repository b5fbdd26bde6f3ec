//! Placeholder.

use super::Derived;
use crate::root::Root;

/// Reads the expectations this source names.
pub fn derive(_root: &Root) -> Vec<Derived> {
    Vec::new()
}
