//! `expand[]`: which id fields to replace by the objects they name. Each endpoint says which
//! paths it can expand; anything else is rejected with Stripe's message.

use super::error::{ApiError, ParamErrorCode};
use super::params::Params;

/// Most expand paths in one request.
pub const EXPAND_PATHS_MAX: usize = 16;

/// Reads `expand` and checks every path against `allowed`; returns the paths asked for.
pub fn expand_paths<'a>(params: &Params<'a>, allowed: &[&str]) -> Result<Vec<&'a str>, ApiError> {
    let paths = params.string_list("expand");
    if paths.len() > EXPAND_PATHS_MAX {
        return Err(ApiError::invalid(
            ParamErrorCode::InvalidArray,
            "expand",
            format!("You may expand at most {EXPAND_PATHS_MAX} paths."),
        ));
    }
    for path in &paths {
        if !allowed.contains(path) {
            return Err(ApiError::InvalidExpand {
                path: (*path).to_owned(),
            });
        }
    }
    Ok(paths)
}
