//! How parameters are declared: `FromParam` (a type that reads and validates one parameter and
//! states its `Shape`), `params!` (a struct of parameters, which is itself a parameter: a hash),
//! and the generic wrappers (`Option` for optional, `Unsettable` for `''`, `Expand`).

use super::{Field, Params, Shape};
use crate::wire::error::ApiError;
use crate::wire::expand::expand_paths;

/// A type one parameter is read into.
pub trait FromParam: Sized {
    /// What the parameter looks like on the wire (checked before reading, and described).
    const SHAPE: Shape;
    /// Whether the API description marks the parameter required.
    const REQUIRED: bool = true;
    /// Reads `key` of the hash `parent`; a required parameter that is absent is an error here.
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError>;
}

/// A hash of declared parameters: what `params!` makes, and what an endpoint reads its whole
/// request into.
pub trait ParamObject: FromParam {
    const FIELDS: &'static [Field];
    /// Reads every declared field of `params`, in declaration order.
    fn from_params(params: &Params<'_>) -> Result<Self, ApiError>;
}

impl<T: FromParam> FromParam for Option<T> {
    const SHAPE: Shape = T::SHAPE;
    const REQUIRED: bool = false;
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        if parent.contains(key) {
            T::read(parent, key).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// A hash that `''` unsets (`shipping_details=`). Absent is `Option`'s `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsettable<T> {
    Unset,
    Set(T),
}

impl<T: ParamObject> FromParam for Unsettable<T> {
    const SHAPE: Shape = Shape::UnsettableObject(T::FIELDS);
    fn read(parent: &Params<'_>, key: &str) -> Result<Self, ApiError> {
        if parent.is_unset(key) {
            Ok(Unsettable::Unset)
        } else {
            T::read(parent, key).map(Unsettable::Set)
        }
    }
}

/// The `expand[]` paths an endpoint accepts.
pub trait ExpandPaths {
    const PATHS: &'static [&'static str];
}

/// `expand[]`: the paths asked for, each one of `P::PATHS`.
pub struct Expand<P> {
    pub paths: Vec<&'static str>,
    paths_of: std::marker::PhantomData<P>,
}

impl<P> Clone for Expand<P> {
    fn clone(&self) -> Self {
        Expand {
            paths: self.paths.clone(),
            paths_of: std::marker::PhantomData,
        }
    }
}

impl<P> std::fmt::Debug for Expand<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expand").field(&self.paths).finish()
    }
}

impl<P> Expand<P> {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

impl<P: ExpandPaths> FromParam for Expand<P> {
    const SHAPE: Shape = Shape::StringList(Some(P::PATHS));
    const REQUIRED: bool = false;
    fn read(parent: &Params<'_>, _key: &str) -> Result<Self, ApiError> {
        let asked = expand_paths(parent, P::PATHS)?;
        // Each path is one of P::PATHS (checked), so keep the static copy.
        let paths = asked
            .into_iter()
            .filter_map(|path| P::PATHS.iter().copied().find(|p| *p == path))
            .collect();
        Ok(Expand {
            paths,
            paths_of: std::marker::PhantomData,
        })
    }
}

/// Declares a struct of parameters once: its fields, their wire names (the field name, or a
/// literal in parentheses: `kind ("type"): …`), their types (which read, validate and describe
/// each value; `Option<…>` when optional) and the order they are read in.
///
/// ```text
/// params! {
///     /// `amount_requested`
///     pub struct AmountParams {
///         pub currency: Currency,
///         pub value: AmountValue,
///     }
/// }
/// ```
macro_rules! params {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field_vis:vis $field:ident $(($wire:literal))? : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name {
            $(
                $(#[$field_meta])*
                $field_vis $field: $ty,
            )*
        }

        impl $crate::wire::params::FromParam for $name {
            const SHAPE: $crate::wire::params::Shape =
                $crate::wire::params::Shape::Object(<Self as $crate::wire::params::ParamObject>::FIELDS);
            fn read(
                parent: &$crate::wire::params::Params<'_>,
                key: &str,
            ) -> Result<Self, $crate::wire::error::ApiError> {
                let params = parent.object(key).ok_or_else(|| parent.missing(key))?;
                <Self as $crate::wire::params::ParamObject>::from_params(&params)
            }
        }

        impl $crate::wire::params::ParamObject for $name {
            const FIELDS: &'static [$crate::wire::params::Field] = &[
                $(
                    $crate::wire::params::Field {
                        name: $crate::wire::params::params!(@name $field $($wire)?),
                        shape: <$ty as $crate::wire::params::FromParam>::SHAPE,
                        required: <$ty as $crate::wire::params::FromParam>::REQUIRED,
                    },
                )*
            ];
            fn from_params(
                params: &$crate::wire::params::Params<'_>,
            ) -> Result<Self, $crate::wire::error::ApiError> {
                let _ = params; // a struct without fields reads nothing
                Ok($name {
                    $(
                        $field: <$ty as $crate::wire::params::FromParam>::read(
                            params,
                            $crate::wire::params::params!(@name $field $($wire)?),
                        )?,
                    )*
                })
            }
        }
    };
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $wire:literal) => { $wire };
}
pub(crate) use params;

/// A parameter that is one of an enum's variants, named on the wire by its `as_str` (a
/// `const fn`, so names are said once, in the domain): `enum_param!(CustomerPresence: OnSession, OffSession)`.
macro_rules! enum_param {
    ($ty:ty : $($variant:ident),+ $(,)?) => {
        impl $crate::wire::params::FromParam for $ty {
            const SHAPE: $crate::wire::params::Shape =
                $crate::wire::params::Shape::Enum(&[$(<$ty>::$variant.as_str()),+]);
            fn read(
                parent: &$crate::wire::params::Params<'_>,
                key: &str,
            ) -> Result<Self, $crate::wire::error::ApiError> {
                parent
                    .one_of(key, &[$((<$ty>::$variant.as_str(), <$ty>::$variant)),+])?
                    .ok_or_else(|| parent.missing(key))
            }
        }
    };
}
pub(crate) use enum_param;
