use super::*;
use crate::proto::digest::{AuthConfig, DigestRequest, authorize};
use std::time::Duration;

const DOMAIN: &str = "ramal.test";

fn t(secs: u64) -> Instant {
    Instant::from_millis(1_000_000) + Duration::from_secs(secs)
}

fn source() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 7], 5062))
}

fn config() -> RegistrarConfig {
    let mut config = RegistrarConfig::new(AuthConfig::new(DOMAIN, b"k".repeat(32)));
    config.domain = Some(DOMAIN.into());
    config
}

fn users() -> HashMap<String, Credential> {
    HashMap::from([
        (
            "1001".to_string(),
            Credential::hashed("1001", DOMAIN, "secret"),
        ),
        ("1002".to_string(), Credential::Password("other".into())),
    ])
}

/// A phone: one Call-ID, increasing CSeqs, and the last challenge it was given.
struct Phone {
    user: &'static str,
    password: &'static str,
    call_id: String,
    cseq: u32,
    challenges: Vec<String>,
    nc: u32,
}

impl Phone {
    fn new(user: &'static str, call_id: &str) -> Phone {
        Phone {
            user,
            password: "secret",
            call_id: call_id.into(),
            cseq: 0,
            challenges: Vec::new(),
            nc: 0,
        }
    }

    /// A REGISTER with `headers` (Contact, Expires…), signed with the last challenge.
    fn request(&mut self, headers: &[(&str, &str)]) -> Request {
        self.cseq += 1;
        let mut all = vec![
            Header::new("Via", "SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK1"),
            Header::new("From", format!("<sip:{}@{DOMAIN}>;tag=a", self.user)),
            Header::new("To", format!("<sip:{}@{DOMAIN}>", self.user)),
            Header::new("Call-ID", self.call_id.clone()),
            Header::new("CSeq", format!("{} REGISTER", self.cseq)),
        ];
        all.extend(
            headers
                .iter()
                .map(|(name, value)| Header::new(*name, *value)),
        );
        if !self.challenges.is_empty() {
            self.nc += 1;
            let cnonce = format!("cn{}", self.cseq);
            let digest = DigestRequest {
                username: self.user,
                password: self.password,
                method: "REGISTER",
                uri: "sip:ramal.test",
                cnonce: &cnonce,
                nc: self.nc,
            };
            let auth = authorize(self.challenges.iter().map(String::as_str), &digest)
                .expect("answerable challenge");
            all.push(Header::new("Authorization", auth.to_header_value()));
        }
        Request {
            method: Method::Register,
            uri: "sip:ramal.test".into(),
            call_id: self.call_id.clone(),
            cseq: self.cseq,
            branch: "z9hG4bK1".into(),
            sent_by: "192.0.2.7:5062".into(),
            from_tag: "a".into(),
            to_tag: None,
            max_forwards: 70,
            headers: all,
            body: Vec::new(),
        }
    }

    /// Sends once; on a 401, takes the challenge and sends once more.
    fn register(
        &mut self,
        registrar: &mut Registrar,
        headers: &[(&str, &str)],
        now: Instant,
    ) -> RegisterReply {
        let request = self.request(headers);
        let reply = registrar.handle_register(&request, source(), &users(), now);
        if reply.response.status != 401 {
            return reply;
        }
        self.take_challenge(&reply);
        let request = self.request(headers);
        registrar.handle_register(&request, source(), &users(), now)
    }

    fn take_challenge(&mut self, reply: &RegisterReply) {
        self.challenges = headers(reply, "WWW-Authenticate");
        self.nc = 0;
    }
}

fn headers(reply: &RegisterReply, name: &str) -> Vec<String> {
    reply
        .response
        .headers
        .iter()
        .filter(|header| header.name == name)
        .map(|header| header.value.clone())
        .collect()
}

fn contacts(registrar: &Registrar, aor: &str, now: Instant) -> Vec<String> {
    registrar
        .lookup(aor, now)
        .into_iter()
        .map(|binding| binding.contact)
        .collect()
}

const A: &str = "sip:1001@192.0.2.7:5062";
const B: &str = "sip:1001@192.0.2.8:5062";

#[test]
fn unauthenticated_registers_are_challenged_sha256_first() {
    let mut registrar = Registrar::new(config());
    let request = Phone::new("1001", "c1").request(&[("Contact", "<sip:1001@192.0.2.7>")]);
    let reply = registrar.handle_register(&request, source(), &users(), t(0));
    assert_eq!(reply.response.status, 401);
    assert_eq!(reply.outcome, RegisterOutcome::Challenged { stale: false });
    let challenges = headers(&reply, "WWW-Authenticate");
    assert_eq!(challenges.len(), 2);
    assert!(
        challenges[0].contains("algorithm=SHA-256"),
        "{challenges:?}"
    );
    assert!(challenges[1].contains("algorithm=MD5"), "{challenges:?}");
    assert_eq!(registrar.binding_count(), 0);
}

#[test]
fn register_lookup_refresh_and_expire_in_virtual_time() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    let reply = phone.register(&mut registrar, &[("Contact", &format!("<{A}>"))], t(0));
    assert_eq!(reply.response.status, 200);
    assert_eq!(headers(&reply, "Contact"), [format!("<{A}>;expires=3600")]);
    assert_eq!(contacts(&registrar, "1001", t(10)), [A]);
    assert_eq!(registrar.lookup("1001", t(0))[0].source, source());
    assert_eq!(registrar.poll_timeout(), Some(t(3600)));

    // Refresh with a shorter interval; the nonce is still fresh and reused with nc=2.
    let refresh = format!("<{A}>;expires=600");
    let reply = phone.register(&mut registrar, &[("Contact", &refresh)], t(200));
    assert_eq!(reply.response.status, 200);
    assert_eq!(phone.nc, 2, "no new challenge was needed");
    assert_eq!(registrar.lookup("1001", t(200)).len(), 1);
    assert_eq!(registrar.poll_timeout(), Some(t(800)));
    assert_eq!(registrar.expire(t(799)), []);

    let expired = registrar.expire(t(800));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].0, "1001");
    assert_eq!(expired[0].1.contact, A);
    assert!(contacts(&registrar, "1001", t(800)).is_empty());
    assert_eq!(registrar.poll_timeout(), None);
}

#[test]
fn lookup_skips_bindings_expired_but_not_yet_dropped() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    let contact = format!("<{A}>;expires=60");
    phone.register(&mut registrar, &[("Contact", &contact)], t(0));
    assert_eq!(contacts(&registrar, "1001", t(59)), [A]);
    assert!(contacts(&registrar, "1001", t(60)).is_empty());
    assert!(contacts(&registrar, "nobody", t(0)).is_empty());
}

#[test]
fn expires_zero_and_the_wildcard_unregister() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    let both = format!("<{A}>, <{B}>;expires=1800");
    let reply = phone.register(&mut registrar, &[("Contact", &both)], t(0));
    assert_eq!(reply.response.status, 200);
    assert_eq!(contacts(&registrar, "1001", t(1)).len(), 2);

    let reply = phone.register(
        &mut registrar,
        &[("Contact", &format!("<{A}>;expires=0"))],
        t(5),
    );
    let RegisterOutcome::Updated {
        removed, bindings, ..
    } = reply.outcome
    else {
        panic!("expected an update, got {:?}", reply.outcome);
    };
    assert_eq!(removed.len(), 1);
    assert_eq!(bindings.len(), 1);
    assert_eq!(contacts(&registrar, "1001", t(6)), [B]);

    // Expires header 0 applies to contacts without their own parameter.
    phone.register(&mut registrar, &[("Contact", &format!("<{A}>"))], t(7));
    let reply = phone.register(
        &mut registrar,
        &[("Contact", &format!("<{A}>")), ("Expires", "0")],
        t(8),
    );
    assert_eq!(reply.response.status, 200);
    assert_eq!(contacts(&registrar, "1001", t(9)), [B]);

    for bad in [
        vec![("Contact", "*")],
        vec![("Contact", "*"), ("Expires", "60")],
        vec![("Contact", "*, <sip:1001@192.0.2.9>"), ("Expires", "0")],
    ] {
        let reply = phone.register(&mut registrar, &bad, t(10));
        assert_eq!(reply.response.status, 400, "{bad:?}");
    }
    let reply = phone.register(&mut registrar, &[("Contact", "*"), ("Expires", "0")], t(11));
    assert_eq!(reply.response.status, 200);
    assert!(headers(&reply, "Contact").is_empty());
    assert!(contacts(&registrar, "1001", t(12)).is_empty());
}

#[test]
fn a_register_without_contact_queries_the_bindings() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    phone.register(&mut registrar, &[("Contact", &format!("<{A}>"))], t(0));
    let reply = phone.register(&mut registrar, &[], t(100));
    assert_eq!(reply.response.status, 200);
    assert_eq!(headers(&reply, "Contact"), [format!("<{A}>;expires=3500")]);
}

#[test]
fn wrong_password_gets_another_challenge_and_no_binding() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    phone.password = "guess";
    let reply = phone.register(&mut registrar, &[("Contact", &format!("<{A}>"))], t(0));
    assert_eq!(reply.response.status, 401);
    assert_eq!(reply.outcome, RegisterOutcome::Challenged { stale: false });
    assert_eq!(registrar.binding_count(), 0);

    let mut stranger = Phone::new("9999", "c2");
    let reply = stranger.register(&mut registrar, &[("Contact", "<sip:9999@192.0.2.1>")], t(0));
    assert_eq!(reply.response.status, 401);
}

#[test]
fn an_old_nonce_gets_stale_and_the_phone_recovers() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    phone.register(&mut registrar, &[("Contact", &format!("<{A}>"))], t(0));
    // Ten minutes later the cached nonce has expired; the password is still right.
    let request = phone.request(&[("Contact", &format!("<{A}>"))]);
    let reply = registrar.handle_register(&request, source(), &users(), t(600));
    assert_eq!(reply.outcome, RegisterOutcome::Challenged { stale: true });
    assert!(headers(&reply, "WWW-Authenticate")[0].ends_with("stale=true"));
    phone.take_challenge(&reply);
    let request = phone.request(&[("Contact", &format!("<{A}>"))]);
    let reply = registrar.handle_register(&request, source(), &users(), t(600));
    assert_eq!(reply.response.status, 200);
    assert_eq!(registrar.poll_timeout(), Some(t(4200)));
}

#[test]
fn a_replayed_register_is_challenged() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    phone.register(&mut registrar, &[], t(0));
    let request = phone.request(&[("Contact", &format!("<{A}>"))]);
    let first = registrar.handle_register(&request, source(), &users(), t(1));
    assert_eq!(first.response.status, 200);
    let again = registrar.handle_register(&request, source(), &users(), t(2));
    assert_eq!(again.response.status, 401);
}

#[test]
fn too_brief_intervals_get_423_and_long_ones_are_capped() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    let reply = phone.register(
        &mut registrar,
        &[("Contact", &format!("<{A}>;expires=30"))],
        t(0),
    );
    assert_eq!(reply.response.status, 423);
    assert_eq!(reply.response.reason, "Interval Too Brief");
    assert_eq!(headers(&reply, "Min-Expires"), ["60"]);
    assert_eq!(registrar.binding_count(), 0);

    let reply = phone.register(
        &mut registrar,
        &[
            ("Contact", &format!("<{A}>")),
            ("Expires", "99999999999999"),
        ],
        t(0),
    );
    assert_eq!(headers(&reply, "Contact"), [format!("<{A}>;expires=3600")]);
}

#[test]
fn out_of_order_cseqs_for_a_call_id_are_refused() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    phone.register(&mut registrar, &[("Contact", &format!("<{A}>"))], t(0));
    // CSeq 3 unregisters; CSeq 2 (signed later, so its nonce-count is fresh) comes late.
    phone.cseq += 1;
    let unregister = phone.request(&[("Contact", &format!("<{A}>;expires=0"))]);
    phone.cseq -= 2;
    let late = phone.request(&[("Contact", &format!("<{A}>"))]);
    assert!(late.cseq < unregister.cseq);
    let reply = registrar.handle_register(&unregister, source(), &users(), t(1));
    assert_eq!(reply.response.status, 200);
    // The earlier REGISTER arrives after the later one: it must not resurrect the binding.
    let reply = registrar.handle_register(&late, source(), &users(), t(2));
    assert_eq!(reply.response.status, 500);
    assert_eq!(reply.outcome, RegisterOutcome::Refused { status: 500 });
    assert!(contacts(&registrar, "1001", t(3)).is_empty());
    // Another Call-ID (the phone rebooted) starts afresh.
    let mut rebooted = Phone::new("1001", "c2");
    let reply = rebooted.register(&mut registrar, &[("Contact", &format!("<{A}>"))], t(4));
    assert_eq!(reply.response.status, 200);
}

#[test]
fn bindings_per_aor_are_capped() {
    let mut config = config();
    config.max_bindings_per_aor = 2;
    let mut registrar = Registrar::new(config.clone());
    let mut phone = Phone::new("1001", "c1");
    let uris = [
        "sip:1001@192.0.2.1",
        "sip:1001@192.0.2.2",
        "sip:1001@192.0.2.3",
    ];
    for (i, uri) in uris.iter().take(2).enumerate() {
        let reply = phone.register(&mut registrar, &[("Contact", uri)], t(i as u64));
        assert_eq!(reply.response.status, 200);
    }
    let reply = phone.register(&mut registrar, &[("Contact", uris[2])], t(5));
    assert_eq!(reply.response.status, 503);
    assert_eq!(contacts(&registrar, "1001", t(6)), [uris[1], uris[0]]);

    config.over_limit = BindingLimit::ReplaceOldest;
    let mut registrar = Registrar::new(config);
    let mut phone = Phone::new("1001", "c1");
    for (i, uri) in uris.iter().enumerate() {
        let reply = phone.register(&mut registrar, &[("Contact", uri)], t(i as u64));
        assert_eq!(reply.response.status, 200);
    }
    assert_eq!(contacts(&registrar, "1001", t(6)), [uris[2], uris[1]]);
    let all = uris.join(", ");
    let reply = phone.register(&mut registrar, &[("Contact", &all)], t(7));
    assert_eq!(
        reply.response.status, 503,
        "one request over the cap by itself"
    );
}

#[test]
fn users_register_only_their_own_aor_in_our_domain() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    let mut request = phone.request(&[("Contact", "<sip:1002@192.0.2.9>")]);
    request.headers[2] = Header::new("To", "<sip:1002@ramal.test>");
    let reply = registrar.handle_register(&request, source(), &users(), t(0));
    phone.take_challenge(&reply);
    let mut request = phone.request(&[("Contact", "<sip:1002@192.0.2.9>")]);
    request.headers[2] = Header::new("To", "<sip:1002@ramal.test>");
    let reply = registrar.handle_register(&request, source(), &users(), t(0));
    assert_eq!(reply.response.status, 403);

    let mut request = phone.request(&[]);
    request.headers[2] = Header::new("To", "<sip:1001@elsewhere.test>");
    let reply = registrar.handle_register(&request, source(), &users(), t(0));
    assert_eq!(reply.response.status, 404);

    let mut request = phone.request(&[]);
    request.uri = "sip:other.test".into();
    let reply = registrar.handle_register(&request, source(), &users(), t(0));
    assert_eq!(reply.response.status, 400);
    assert_eq!(reply.response.reason, "Authorization URI Mismatch");

    let mut request = phone.request(&[]);
    request.method = Method::Options;
    let reply = registrar.handle_register(&request, source(), &users(), t(0));
    assert_eq!(reply.response.status, 405);
}

#[test]
fn malformed_contacts_and_expires_get_400() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    let long = format!("<sip:{}@x>", "a".repeat(2000));
    let many = vec!["<sip:a@b>"; 40].join(",");
    for (headers, reason) in [
        (vec![("Contact", "<http://example.com>")], "Invalid Contact"),
        (vec![("Contact", "1001@192.0.2.7")], "Invalid Contact"),
        (vec![("Contact", long.as_str())], "Invalid Contact"),
        (
            vec![("Contact", "<sip:a@b>;expires=soon")],
            "Invalid Contact Expires",
        ),
        (vec![("Contact", many.as_str())], "Too Many Contacts"),
        (
            vec![("Contact", "<sip:a@b>"), ("Expires", "-1")],
            "Invalid Expires",
        ),
    ] {
        let reply = phone.register(&mut registrar, &headers, t(0));
        assert_eq!(reply.response.status, 400, "{headers:?}");
        assert_eq!(reply.response.reason, reason, "{headers:?}");
    }
    assert_eq!(registrar.binding_count(), 0);
}

#[test]
fn contact_lists_split_outside_quotes_and_brackets() {
    assert_eq!(
        split_list("\"Desk, 1\" <sip:a@b;x=1,2>;expires=60, sip:c@d ,"),
        ["\"Desk, 1\" <sip:a@b;x=1,2>;expires=60", "sip:c@d"]
    );
    assert_eq!(
        parse_contact("sip:c@d;expires=120"),
        Ok(("sip:c@d".to_string(), Some(120)))
    );
    assert_eq!(
        uri_host("sip:1001@Ramal.Test:5060;transport=udp"),
        "Ramal.Test"
    );
}

#[test]
fn responses_build_on_the_wire() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1001", "c1");
    let request = phone.request(&[("Contact", &format!("<{A}>"))]);
    let reply = registrar.handle_register(&request, source(), &users(), t(0));
    let bytes =
        crate::proto::message::build_response(&request, &reply.response, "tag1").expect("builds");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.starts_with("SIP/2.0 401 Unauthorized\r\n"), "{text}");
    assert!(
        text.contains("WWW-Authenticate: Digest realm=\"ramal.test\""),
        "{text}"
    );
}

#[test]
fn md5_only_phones_register_too() {
    let mut registrar = Registrar::new(config());
    let mut phone = Phone::new("1002", "c1");
    phone.password = "other";
    let request = phone.request(&[]);
    let reply = registrar.handle_register(&request, source(), &users(), t(0));
    phone.take_challenge(&reply);
    phone
        .challenges
        .retain(|challenge| challenge.contains("algorithm=MD5"));
    let contact = "<sip:1002@192.0.2.9>";
    let request = phone.request(&[("Contact", contact)]);
    assert!(
        request
            .header("Authorization")
            .is_some_and(|auth| auth.contains("algorithm=MD5"))
    );
    let reply = registrar.handle_register(&request, source(), &users(), t(1));
    assert_eq!(reply.response.status, 200);
    assert_eq!(contacts(&registrar, "1002", t(2)), ["sip:1002@192.0.2.9"]);
}

proptest::proptest! {
    #[test]
    fn arbitrary_contacts_expires_and_to_never_panic(
        contact in ".{0,200}",
        expires in proptest::option::of("[0-9a-z -]{0,25}"),
        to_user in "[0-9a-z@;:<>\"]{0,12}",
    ) {
        let mut registrar = Registrar::new(config());
        let mut phone = Phone::new("1001", "c1");
        let mut headers = vec![("Contact", contact.as_str())];
        if let Some(expires) = &expires {
            headers.push(("Expires", expires.as_str()));
        }
        let reply = phone.register(&mut registrar, &headers, t(0));
        proptest::prop_assert_ne!(reply.response.status, 401);
        let mut request = phone.request(&headers);
        request.headers[2] = Header::new("To", format!("<sip:{to_user}@ramal.test>"));
        let _ = registrar.handle_register(&request, source(), &users(), t(1));
        let _ = registrar.expire(t(10_000));
        proptest::prop_assert_eq!(registrar.poll_timeout(), None);
    }
}
