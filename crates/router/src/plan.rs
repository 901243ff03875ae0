//! Turning the requested models into an ordered list of attempts.

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

/// The ordered attempts for one request.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Tried in order until one succeeds or a failure is final.
    pub attempts: Vec<Attempt>,
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// The slug is not in the catalog.
    #[error("{0} is not a valid model ID")]
    UnknownModel(String),
}

/// Plans the requested models (primary first, then fallbacks): every
/// endpoint of each model, cheapest first, ties in catalog order.
pub fn plan(catalog: &Catalog, models: &[&str]) -> Result<Plan, PlanError> {
    let mut attempts = Vec::new();
    for slug in models {
        let idx = catalog.index_of(slug).ok_or_else(|| PlanError::UnknownModel((*slug).to_owned()))?;
        let model = &catalog.models()[idx];
        let mut order: Vec<usize> = (0..model.endpoints.len()).collect();
        order.sort_by_key(|&i| {
            let e = &model.endpoints[i];
            e.prompt.0.saturating_add(e.completion.0)
        });
        attempts.extend(order.into_iter().map(|endpoint| Attempt { model: idx, endpoint }));
    }
    Ok(Plan { attempts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_catalog;

    const TWO: &str = r#"
[[models]]
id = "a/one"
[[models.endpoints]]
provider = "dear"
model = "one"
prompt = "0.00001"
[[models.endpoints]]
provider = "cheap"
model = "one-c"
prompt = "0.000001"
[[models]]
id = "b/two"
[[models.endpoints]]
provider = "cheap"
model = "two"
"#;

    #[test]
    fn cheapest_endpoint_first_then_fallback_models() {
        let c = Catalog::build(parse_catalog(TWO).unwrap(), |_| true).unwrap();
        let p = plan(&c, &["a/one", "b/two"]).unwrap();
        let providers: Vec<&str> = p.attempts.iter().map(|a| a.endpoint(&c).provider.as_str()).collect();
        assert_eq!(providers, ["cheap", "dear", "cheap"]);
        assert_eq!(p.attempts[2].model(&c).spec.id, "b/two");
    }

    #[test]
    fn unknown_model_is_named() {
        let c = Catalog::build(parse_catalog(TWO).unwrap(), |_| true).unwrap();
        assert_eq!(plan(&c, &["x/y"]).unwrap_err().to_string(), "x/y is not a valid model ID");
    }
}
