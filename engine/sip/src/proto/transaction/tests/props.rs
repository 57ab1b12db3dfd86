//! Property tests: no input makes the layer panic. Random bytes, and random mutations of
//! a valid INVITE (byte flips, insertions, deletions, truncation, line shuffles), go
//! through [`crate::fuzz_one`], which parses, feeds the layer twice, drains it and fires
//! every timer.

use super::malformed::valid_invite;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    DuplicateLine(usize),
    DropLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        (
            any::<usize>(),
            prop::sample::select(b":;,= \r\n<>@0z9\x00\xff".to_vec())
        )
            .prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::DropLine),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len().max(1);
    match *mutation {
        Mutation::Flip(at, byte) => {
            if let Some(slot) = bytes.get_mut(at % len) {
                *slot = byte;
            }
        }
        Mutation::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), byte),
        Mutation::Delete(at) => {
            if !bytes.is_empty() {
                bytes.remove(at % len);
            }
        }
        Mutation::Truncate(at) => bytes.truncate(at % len),
        Mutation::DuplicateLine(at) | Mutation::DropLine(at) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut lines: Vec<&str> = text.split_inclusive("\r\n").collect();
            if lines.is_empty() {
                return;
            }
            let index = at % lines.len();
            if matches!(mutation, Mutation::DuplicateLine(_)) {
                lines.insert(index, lines[index]);
            } else {
                lines.remove(index);
            }
            *bytes = lines.concat().into_bytes();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        crate::fuzz_one(&bytes);
    }

    #[test]
    fn mutated_invites_never_panic(mutations in prop::collection::vec(mutation(), 1..8)) {
        let mut bytes = valid_invite().as_bytes().to_vec();
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        crate::fuzz_one(&bytes);
        let as_response = String::from_utf8_lossy(&bytes)
            .replacen("INVITE sip:bob@biloxi.example.com SIP/2.0", "SIP/2.0 200 OK", 1);
        crate::fuzz_one(as_response.as_bytes());
    }
}
