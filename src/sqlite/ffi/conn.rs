//! What a connection's module and functions share: the connection's API table and
//! the upper floors' per-connection state (counters, ...). Freed when SQLite drops
//! the module and the last function of the connection.

use std::any::Any;

use super::sys::Api;

pub struct Conn {
    pub(crate) api: Api,
    /// Which of the process's distinct API tables this is (selects the scalar
    /// function trampoline, see module.rs).
    pub(crate) k: usize,
    pub(crate) state: Box<dyn Any + Send + Sync>,
}

impl Conn {
    /// The per-connection state made by the `state` function of `extension_init`.
    pub fn state<T: 'static>(&self) -> Option<&T> {
        self.state.downcast_ref()
    }
}
