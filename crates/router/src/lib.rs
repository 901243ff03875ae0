//! The model catalog, prices and cost, and planning which endpoints serve a
//! request. Pure logic: no HTTP, no database.

#![forbid(unsafe_code)]

pub mod catalog;
pub mod cost;
pub mod import;
pub mod params;
pub mod plan;

pub use catalog::{Catalog, CatalogError, EndpointSpec, ModelSpec};
pub use cost::{Cost, cost_of};
pub use plan::{Attempt, Plan, PlanError, plan};
