//! One endpoint of one model to try: what the planner ([`crate::route`]) orders.

use crate::catalog::{Catalog, EndpointSpec, Model};

/// One endpoint to try, as indexes into the [`Catalog`] (cheap to keep in a
/// stream's state alongside an `Arc<Catalog>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// Index of the model.
    pub model: usize,
    /// Index of the endpoint within the model.
    pub endpoint: usize,
}

impl Attempt {
    /// The model of this attempt.
    pub fn model<'c>(&self, catalog: &'c Catalog) -> &'c Model {
        &catalog.models()[self.model]
    }

    /// The endpoint of this attempt.
    pub fn endpoint<'c>(&self, catalog: &'c Catalog) -> &'c EndpointSpec {
        &catalog.models()[self.model].endpoints[self.endpoint]
    }
}
