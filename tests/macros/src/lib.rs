//! `#[backend_test]` on `async fn name(server: TestServer)` runs it once per backend: it keeps
//! the function and adds `mod name { sqlite, postgres }`, two tests that start the real server
//! on a fresh database of their backend and hand it over. `#[backend_test(config = f)]` starts
//! it with `f()` (a `ServerConfig` built in the same module) instead of the defaults. The
//! PostgreSQL one is ignored, saying why, when the build found no `PAYREC_TEST_DATABASE_URL`.
//!
//! Written on `proc_macro` alone: it needs the function's name and nothing else of its syntax.

use proc_macro::{Delimiter, TokenStream, TokenTree};

const SERVER_CONFIG_DEFAULT: &str = "::payrec::ServerConfig::default";

#[proc_macro_attribute]
pub fn backend_test(attribute: TokenStream, item: TokenStream) -> TokenStream {
    let config = match config_of(attribute) {
        Ok(config) => config,
        Err(message) => return compile_error(&message),
    };
    let Some(name) = function_name(&item) else {
        return compile_error("#[backend_test] goes on `async fn name(server: TestServer)`");
    };
    let runner = |backend: &str, test: &str, ignore: &str| {
        format!(
            "#[::tokio::test(flavor = \"multi_thread\", worker_threads = 2)] {ignore}
            async fn {test}() {{
                let server = crate::common::TestServer::start_on(crate::common::Backend::{backend}, {config}()).await;
                super::{name}(server).await
            }}"
        )
    };
    let sqlite = runner("Sqlite", "sqlite", "");
    let postgres = runner(
        "Postgres",
        "postgres",
        "#[cfg_attr(not(payrec_pg_tests), ignore = \"PostgreSQL tests need PAYREC_TEST_DATABASE_URL\")]",
    );
    let tests: TokenStream = format!("mod {name} {{ {sqlite} {postgres} }}")
        .parse()
        .expect("the generated tests are Rust");
    let mut out = item;
    out.extend(tests);
    out
}

/// The function building the server's configuration: `config = f` names `super::f`.
fn config_of(attribute: TokenStream) -> Result<String, String> {
    let tokens: Vec<TokenTree> = attribute.into_iter().collect();
    match tokens.as_slice() {
        [] => Ok(SERVER_CONFIG_DEFAULT.to_owned()),
        [TokenTree::Ident(key), TokenTree::Punct(eq), TokenTree::Ident(value)]
            if key.to_string() == "config" && eq.as_char() == '=' =>
        {
            Ok(format!("super::{value}"))
        }
        _ => Err("#[backend_test] takes nothing or `config = function_name`".to_owned()),
    }
}

/// The identifier after `fn`, at the item's top level (not inside its body).
fn function_name(item: &TokenStream) -> Option<String> {
    let mut tokens = item.clone().into_iter();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Ident(ident) if ident.to_string() == "fn" => {
                return match tokens.next() {
                    Some(TokenTree::Ident(name)) => Some(name.to_string()),
                    _ => None,
                };
            }
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => return None,
            _ => {}
        }
    }
    None
}

fn compile_error(message: &str) -> TokenStream {
    format!("::core::compile_error!({message:?});")
        .parse()
        .expect("a compile_error! invocation")
}
