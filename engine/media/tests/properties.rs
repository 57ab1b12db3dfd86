//! Property tests: the detectors never panic, whatever the samples or packets.

use proptest::prelude::*;
use ramal_media::{DigitStream, InbandDetector, TelephoneEvent, TelephoneEventReceiver};

proptest! {
    #[test]
    fn inband_detector_never_panics(
        chunks in prop::collection::vec(prop::collection::vec(any::<i16>(), 0..400), 0..40),
    ) {
        let mut detector = InbandDetector::new();
        for chunk in &chunks {
            for key in detector.push_samples(chunk) {
                prop_assert!("0123456789*#ABCD".contains(key));
            }
        }
    }

    #[test]
    fn telephone_event_parsing_never_panics_and_round_trips(payload in prop::collection::vec(any::<u8>(), 0..16)) {
        match TelephoneEvent::parse(&payload) {
            Ok(event) => {
                prop_assert!(payload.len() >= 4);
                let bytes = event.to_bytes();
                prop_assert_eq!(TelephoneEvent::parse(&bytes), Ok(event));
            }
            Err(_) => prop_assert!(payload.len() < 4),
        }
    }

    #[test]
    fn receivers_never_panic(
        packets in prop::collection::vec(
            (any::<u32>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..8), 0u64..100_000),
            0..200,
        ),
    ) {
        let mut receiver = TelephoneEventReceiver::new();
        let mut stream = DigitStream::default();
        let mut now = 0u64;
        for (timestamp, marker, payload, step) in &packets {
            now += step;
            let _ = receiver.handle_packet(*timestamp, *marker, payload, now);
            let _ = stream.handle_telephone_event(*timestamp, *marker, payload, now);
            stream.handle_samples(&payload.iter().map(|&b| i16::from(b) << 8).collect::<Vec<_>>(), now);
        }
        while stream.poll_digit().is_some() {}
    }

    #[test]
    fn repeated_packets_of_one_event_give_one_digit(
        event in 0u8..16,
        repeats in 1usize..20,
        timestamp in any::<u32>(),
    ) {
        let mut receiver = TelephoneEventReceiver::new();
        let mut digits = 0;
        for index in 0..repeats {
            let payload = TelephoneEvent { event, end: index + 1 == repeats, volume: 10, duration: index as u16 * 160 }.to_bytes();
            digits += usize::from(receiver.handle_packet(timestamp, index == 0, &payload, index as u64 * 20).unwrap().is_some());
        }
        prop_assert_eq!(digits, 1);
    }
}
