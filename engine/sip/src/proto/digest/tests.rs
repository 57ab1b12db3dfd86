use super::*;
use crate::proto::time::Instant;
use proptest::prelude::*;
use std::time::Duration;

const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const RFC7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

fn rfc7616_challenge(algorithm: &str) -> String {
    format!(
        "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm={algorithm}, \
         nonce=\"{RFC7616_NONCE}\", opaque=\"{RFC7616_OPAQUE}\""
    )
}

fn rfc7616_request() -> DigestRequest<'static> {
    DigestRequest {
        username: "Mufasa",
        password: "Circle of Life",
        method: "GET",
        uri: "/dir/index.html",
        cnonce: RFC7616_CNONCE,
        nc: 1,
    }
}

#[test]
fn rfc7616_md5_example() {
    let challenge = rfc7616_challenge("MD5");
    let auth = authorize([challenge.as_str()], &rfc7616_request()).expect("answers");
    assert_eq!(auth.algorithm, Algorithm::Md5);
    assert_eq!(auth.response, "8ca523f5e9506fed4657c9700eebdbec");
    assert_eq!(auth.opaque.as_deref(), Some(RFC7616_OPAQUE));
}

#[test]
fn rfc7616_sha256_example_is_preferred_over_md5() {
    let sha = rfc7616_challenge("SHA-256");
    let md5 = rfc7616_challenge("MD5");
    for order in [[md5.as_str(), sha.as_str()], [sha.as_str(), md5.as_str()]] {
        let auth = authorize(order, &rfc7616_request()).expect("answers");
        assert_eq!(auth.algorithm, Algorithm::Sha256);
        assert_eq!(
            auth.response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }
}

#[test]
fn rfc2617_example_and_its_header_round_trip() {
    let challenge = "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
                     nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
                     opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    let request = DigestRequest {
        username: "Mufasa",
        password: "Circle Of Life",
        method: "GET",
        uri: "/dir/index.html",
        cnonce: "0a4f113b",
        nc: 1,
    };
    let auth = authorize([challenge], &request).expect("answers");
    assert_eq!(auth.response, "6629fae49393a05397450978507c4ef1");
    let value = auth.to_header_value();
    assert!(value.contains("nc=00000001"), "{value}");
    assert_eq!(Authorization::parse(&value), Ok(auth));
}

#[test]
fn hmac_matches_rfc4231_case_2() {
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

fn server() -> Authenticator {
    Authenticator::new(AuthConfig::new(
        "ramal.test",
        *b"0123456789abcdef0123456789abcdef",
    ))
}

fn register(cnonce: &str, nc: u32) -> DigestRequest<'_> {
    DigestRequest {
        username: "1001",
        password: "secret",
        method: "REGISTER",
        uri: "sip:ramal.test",
        cnonce,
        nc,
    }
}

fn answer(server: &mut Authenticator, now: Instant, request: &DigestRequest<'_>) -> Authorization {
    let challenges: Vec<String> = server
        .challenge(now, false)
        .iter()
        .map(Challenge::to_header_value)
        .collect();
    let auth = authorize(challenges.iter().map(String::as_str), request).expect("answers");
    // What goes on the wire is what the server parses.
    Authorization::parse(&auth.to_header_value()).expect("parses")
}

#[test]
fn client_and_server_agree_for_every_algorithm_and_credential_form() {
    for algorithm in [
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
    ] {
        let mut config = AuthConfig::new("ramal.test", b"k".repeat(32));
        config.algorithms = vec![algorithm];
        let mut server = Authenticator::new(config);
        let now = Instant::from_millis(1_000);
        let auth = answer(&mut server, now, &register("c1", 1));
        assert_eq!(auth.algorithm, algorithm);
        for credential in [
            Credential::Password("secret".into()),
            Credential::hashed("1001", "ramal.test", "secret"),
        ] {
            let mut fresh = Authenticator::new(server.config().clone());
            assert_eq!(fresh.verify(&auth, "REGISTER", &credential, now), Ok(()));
        }
    }
}

#[test]
fn wrong_password_method_or_missing_hash_fail() {
    let mut server = server();
    let now = Instant::from_millis(5);
    let auth = answer(&mut server, now, &register("c", 1));
    let wrong = Credential::Password("guess".into());
    assert_eq!(
        server.verify(&auth, "REGISTER", &wrong, now),
        Err(AuthFailure::WrongResponse)
    );
    let right = Credential::Password("secret".into());
    assert_eq!(
        server.verify(&auth, "INVITE", &right, now),
        Err(AuthFailure::WrongResponse)
    );
    let md5_only = Credential::Ha1 {
        md5: Some(ha1(Algorithm::Md5, "1001", "ramal.test", "secret")),
        sha256: None,
    };
    assert_eq!(
        server.verify(&auth, "REGISTER", &md5_only, now),
        Err(AuthFailure::NoCredential)
    );
    assert_eq!(server.verify(&auth, "REGISTER", &right, now), Ok(()));
}

#[test]
fn expired_or_foreign_nonces_are_stale_only_with_the_right_password() {
    let mut server = server();
    let issued = Instant::from_millis(10_000);
    let auth = answer(&mut server, issued, &register("c", 1));
    let later = issued + Duration::from_secs(301);
    let right = Credential::Password("secret".into());
    assert_eq!(
        server.verify(&auth, "REGISTER", &right, later),
        Err(AuthFailure::Stale)
    );
    let wrong = Credential::Password("nope".into());
    assert_eq!(
        server.verify(&auth, "REGISTER", &wrong, later),
        Err(AuthFailure::WrongResponse)
    );
    // Another secret (a restart) makes the same nonce stale.
    let mut restarted = Authenticator::new(AuthConfig::new("ramal.test", b"other".to_vec()));
    assert_eq!(
        restarted.verify(&auth, "REGISTER", &right, issued),
        Err(AuthFailure::Stale)
    );
    // The fresh challenge says so.
    assert!(
        server.challenge(later, true)[0]
            .to_header_value()
            .ends_with("stale=true")
    );
}

#[test]
fn nonce_counts_must_increase() {
    let mut server = server();
    let now = Instant::from_millis(1);
    let first = answer(&mut server, now, &register("c", 1));
    let right = Credential::Password("secret".into());
    assert_eq!(server.verify(&first, "REGISTER", &right, now), Ok(()));
    assert_eq!(
        server.verify(&first, "REGISTER", &right, now),
        Err(AuthFailure::Replayed)
    );
    // The same nonce with nc=2 is fine, and then nc=2 again is not.
    let challenge = Challenge {
        realm: "ramal.test".into(),
        nonce: first.nonce.clone(),
        opaque: first.opaque.clone(),
        algorithm: first.algorithm,
        qop: vec!["auth".into()],
        stale: false,
    }
    .to_header_value();
    let second = authorize([challenge.as_str()], &register("d", 2)).expect("answers");
    assert_eq!(server.verify(&second, "REGISTER", &right, now), Ok(()));
    assert_eq!(
        server.verify(&second, "REGISTER", &right, now),
        Err(AuthFailure::Replayed)
    );
}

#[test]
fn the_nonce_table_is_bounded_and_forgotten_nonces_turn_stale() {
    let mut config = AuthConfig::new("ramal.test", b"s".repeat(32));
    config.max_tracked_nonces = 2;
    let mut server = Authenticator::new(config);
    let right = Credential::Password("secret".into());
    let auths: Vec<Authorization> = (0..3)
        .map(|i| {
            answer(
                &mut server,
                Instant::from_millis(100 + i),
                &register("c", 1),
            )
        })
        .collect();
    let now = Instant::from_millis(200);
    for auth in &auths {
        assert_eq!(server.verify(auth, "REGISTER", &right, now), Ok(()));
    }
    assert_eq!(server.tracked_nonces(), 2);
    // The oldest was forgotten; replaying it cannot slip through.
    assert_eq!(
        server.verify(&auths[0], "REGISTER", &right, now),
        Err(AuthFailure::Stale)
    );
    assert_eq!(
        server.verify(&auths[2], "REGISTER", &right, now),
        Err(AuthFailure::Replayed)
    );
}

#[test]
fn wrong_realm_algorithm_or_qop_are_refused() {
    let mut server = server();
    let now = Instant::from_millis(1);
    let right = Credential::Password("secret".into());
    let auth = answer(&mut server, now, &register("c", 1));
    let mut other = auth.clone();
    other.realm = "elsewhere".into();
    assert_eq!(
        server.verify(&other, "REGISTER", &right, now),
        Err(AuthFailure::WrongRealm)
    );
    let mut other = auth.clone();
    other.algorithm = Algorithm::Md5Sess;
    assert_eq!(
        server.verify(&other, "REGISTER", &right, now),
        Err(AuthFailure::AlgorithmNotOffered)
    );
    let mut other = auth;
    other.qop = None;
    assert_eq!(
        server.verify(&other, "REGISTER", &right, now),
        Err(AuthFailure::QopRequired)
    );
}

#[test]
fn challenges_render_and_parse_back() {
    let mut server = server();
    for challenge in server.challenge(Instant::from_millis(7), true) {
        let value = challenge.to_header_value();
        assert_eq!(Challenge::parse(&value), Ok(challenge));
    }
    let odd = Challenge {
        realm: "a \"quoted\" \\ realm".into(),
        nonce: "n".into(),
        opaque: None,
        algorithm: Algorithm::Md5,
        qop: Vec::new(),
        stale: false,
    };
    assert_eq!(Challenge::parse(&odd.to_header_value()), Ok(odd));
}

#[test]
fn hostile_values_are_errors() {
    let huge = format!("Digest realm=\"{}\"", "a".repeat(5000));
    let long_param = format!("Digest realm=\"{}\", nonce=x", "a".repeat(2000));
    let many: String = (0..40).map(|i| format!("p{i}=1, ")).collect();
    let cases: Vec<(String, DigestError)> = vec![
        (huge, DigestError::TooLong { limit: 4096 }),
        (long_param, DigestError::TooLong { limit: 1024 }),
        (
            format!("Digest {many}realm=r"),
            DigestError::TooManyParams { limit: 32 },
        ),
        ("Basic realm=\"x\"".into(), DigestError::NotDigest),
        ("Digestrealm=x".into(), DigestError::NotDigest),
        ("Digest realm=\"open".into(), DigestError::UnterminatedQuote),
        (
            "Digest realm=\"ends in \\".into(),
            DigestError::UnterminatedQuote,
        ),
        (
            "Digest realm=a, REALM=b, nonce=n".into(),
            DigestError::Duplicate("realm".into()),
        ),
        ("Digest nonce=n".into(), DigestError::Missing("realm")),
        (
            "Digest realm".into(),
            DigestError::Syntax("expected `=` after a parameter name"),
        ),
        (
            "Digest realm=a b".into(),
            DigestError::Syntax("expected `,` between parameters"),
        ),
        (
            "Digest =x".into(),
            DigestError::Syntax("expected a parameter name"),
        ),
        (
            "Digest realm=r, nonce=n, algorithm=SHA-512-256".into(),
            DigestError::UnsupportedAlgorithm("SHA-512-256".into()),
        ),
        (
            "Digest realm=r, nonce=n, userhash=true".into(),
            DigestError::UserHash,
        ),
    ];
    for (value, error) in cases {
        assert_eq!(Challenge::parse(&value), Err(error), "{value}");
    }
    let base = "Digest username=u, realm=r, nonce=n, uri=\"sip:x\"";
    let response = "0123456789abcdef0123456789abcdef";
    let auth_cases = [
        (base.to_string(), DigestError::Missing("response")),
        (
            format!("{base}, response=abc"),
            DigestError::Invalid("response"),
        ),
        (
            format!("{base}, response={response}, algorithm=SHA-256"),
            DigestError::Invalid("response"),
        ),
        (
            format!("{base}, response={response}, qop=auth, nc=1, cnonce=c"),
            DigestError::Invalid("nc"),
        ),
        (
            format!("{base}, response={response}, qop=auth, nc=0000000g, cnonce=c"),
            DigestError::Invalid("nc"),
        ),
        (
            format!("{base}, response={response}, qop=auth, nc=+0000001, cnonce=c"),
            DigestError::Invalid("nc"),
        ),
        (
            format!("{base}, response={response}, qop=auth, nc=00000001"),
            DigestError::Missing("cnonce"),
        ),
        (
            format!("{base}, response={response}, qop=auth-int, nc=00000001, cnonce=c"),
            DigestError::UnsupportedQop("auth-int".into()),
        ),
        (
            format!("{base}, response={response}, algorithm=MD5-sess"),
            DigestError::Missing("cnonce"),
        ),
    ];
    for (value, error) in auth_cases {
        assert_eq!(Authorization::parse(&value), Err(error), "{value}");
    }
    assert!(Authorization::parse(&format!("{base}, response={response}")).is_ok());
}

#[test]
fn challenges_offering_only_auth_int_are_not_answered() {
    let only_int = "Digest realm=r, nonce=n, qop=\"auth-int\"";
    assert_eq!(
        authorize([only_int], &register("c", 1)),
        Err(DigestError::NoUsableChallenge)
    );
    assert_eq!(
        authorize(["Basic realm=r"], &register("c", 1)),
        Err(DigestError::NotDigest)
    );
    // An RFC 2069 challenge (no qop) gets an RFC 2069 answer.
    let old = authorize(["Digest realm=r, nonce=n"], &register("c", 1)).expect("answers");
    assert_eq!(old.qop, None);
}

#[test]
fn credential_debug_hides_secrets() {
    let text = format!(
        "{:?} {:?} {:?}",
        Credential::Password("hunter2".into()),
        Credential::hashed("u", "r", "hunter2"),
        AuthConfig::new("r", b"topsecret".to_vec()),
    );
    assert!(
        !text.contains("hunter2") && !text.contains("topsecret"),
        "{text}"
    );
    assert!(!text.contains(&ha1(Algorithm::Md5, "u", "r", "hunter2")));
}

proptest! {
    #[test]
    fn parsers_never_panic(value in ".{0,300}") {
        let _ = Challenge::parse(&value);
        let _ = Authorization::parse(&value);
        let _ = authorize([value.as_str()], &register("c", 1));
    }

    #[test]
    fn digest_shaped_noise_never_panics(
        params in proptest::collection::vec(
            ("[a-zA-Z-]{0,10}", "[ =,\"\\\\a-z0-9\t]{0,20}"), 0..12),
    ) {
        let value: String = params
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(", ");
        let value = format!("Digest {value}");
        let _ = Challenge::parse(&value);
        if let Ok(auth) = Authorization::parse(&value) {
            let mut server = server();
            let _ = server.verify(&auth, "REGISTER", &Credential::Password("x".into()), Instant::from_millis(0));
        }
    }

    #[test]
    fn quoting_round_trips(realm in "\\PC{0,40}", nonce in "[!-~]{1,40}") {
        let challenge = Challenge {
            realm, nonce, opaque: None, algorithm: Algorithm::Sha256,
            qop: vec!["auth".into()], stale: false,
        };
        prop_assert_eq!(Challenge::parse(&challenge.to_header_value()), Ok(challenge));
    }
}
