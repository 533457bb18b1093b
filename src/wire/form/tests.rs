use super::*;
use proptest::prelude::*;

fn tree(input: &str) -> ParamMap {
    decode(input.as_bytes()).expect("decodes").0
}

fn s(v: &str) -> Param {
    Param::Str(v.to_owned())
}

#[test]
fn bracket_nesting_builds_nested_hashes() {
    let t = tree("a[b][c]=v&a[b][d]=w&x=1");
    let Param::Map(a) = &t["a"] else { panic!("a is a hash") };
    let Param::Map(b) = &a["b"] else { panic!("b is a hash") };
    assert_eq!(b["c"], s("v"));
    assert_eq!(b["d"], s("w"));
    assert_eq!(t["x"], s("1"));
}

#[test]
fn empty_brackets_append_to_an_array() {
    let t = tree("expand[]=a&expand[]=b");
    assert_eq!(t["expand"], Param::List(vec!["a".into(), "b".into()]));
}

#[test]
fn indexed_arrays_decode_as_hashes_with_numeric_keys() {
    let t = tree("expand[0]=a&expand[1]=b");
    let Param::Map(m) = &t["expand"] else { panic!("hash") };
    assert_eq!(m["0"], s("a"));
    assert_eq!(m["1"], s("b"));
}

#[test]
fn percent_encoding_and_plus_are_decoded() {
    let t = tree("description=computer+software%2C%20retry&k%5Bx%5D=%C3%A9");
    assert_eq!(t["description"], s("computer software, retry"));
    let Param::Map(k) = &t["k"] else { panic!("hash") };
    assert_eq!(k["x"], s("é"));
}

#[test]
fn a_name_without_value_is_an_empty_string() {
    let t = tree("metadata=&flag");
    assert_eq!(t["metadata"], s(""));
    assert_eq!(t["flag"], s(""));
}

#[test]
fn invalid_utf8_is_rejected() {
    assert!(matches!(decode(b"a=%FF"), Err(ApiError::MalformedRequest { .. })));
}

#[test]
fn bad_percent_escape_is_rejected() {
    assert!(matches!(decode(b"a=%G1"), Err(ApiError::MalformedRequest { .. })));
    assert!(matches!(decode(b"a=%4"), Err(ApiError::MalformedRequest { .. })));
}

#[test]
fn nesting_beyond_the_limit_is_rejected() {
    let deep = format!("a{}=1", "[x]".repeat(PARAM_DEPTH_MAX));
    assert!(matches!(
        decode(deep.as_bytes()),
        Err(ApiError::MalformedRequest { .. })
    ));
    let ok = format!("a{}=1", "[x]".repeat(PARAM_DEPTH_MAX - 1));
    assert!(decode(ok.as_bytes()).is_ok());
}

#[test]
fn too_many_params_are_rejected() {
    let many: Vec<String> = (0..=PARAM_COUNT_MAX).map(|i| format!("k{i}=v")).collect();
    assert!(matches!(
        decode(many.join("&").as_bytes()),
        Err(ApiError::MalformedRequest { .. })
    ));
}

#[test]
fn malformed_names_are_rejected() {
    for name in ["a[b", "[a]=1", "a]b=1", "a[b]c=1", "a[][b]=1", "a[b[c]]=1", "=1"] {
        assert!(decode(name.as_bytes()).is_err(), "{name} should be rejected");
    }
}

#[test]
fn a_scalar_and_a_hash_under_one_name_conflict() {
    assert!(decode(b"a[b]=1&a=2").is_err());
    assert!(decode(b"a=2&a[b]=1").is_err());
    assert!(decode(b"a[]=1&a[b]=1").is_err());
}

#[test]
fn an_empty_unset_followed_by_a_hash_keeps_the_hash() {
    let t = tree("metadata=&metadata[k]=v");
    let Param::Map(m) = &t["metadata"] else { panic!("hash") };
    assert_eq!(m["k"], s("v"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&input);
    }

    #[test]
    fn decoding_bracket_soup_never_panics(input in "[a-z\\[\\]=&%+0-9]{0,200}") {
        let _ = decode(input.as_bytes());
    }

    #[test]
    fn encoded_simple_pairs_round_trip(key in "[a-z_]{1,20}", value in "\\PC{0,40}") {
        let encoded: String = form_urlencoded::Serializer::new(String::new())
            .append_pair(&key, &value)
            .finish();
        let t = decode(encoded.as_bytes()).expect("decodes");
        prop_assert_eq!(&t.0[&key], &Param::Str(value));
    }
}
