//! Peer scoring (gossipsub-v1.1.md, "Peer Scoring"), driven in virtual time: each part of
//! the score moves as the spec says, counters decay, scores outlive disconnections, and no
//! sequence of events breaks the arithmetic.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hyphae_gossipsub::{
    Constraint, IpNetwork, MessageId, PeerScore, PeerScoreParams, PeerScoreThresholds,
    RejectReason, TopicScoreParams, decay_factor,
};
use proptest::prelude::*;

const TOPIC: &str = "blocks";
const SECOND: Duration = Duration::from_secs(1);

/// A topic whose parts all weigh nothing, to switch on one at a time.
fn silent_topic() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.0,
        time_in_mesh_quantum: SECOND,
        time_in_mesh_cap: 10.0,
        first_message_deliveries_weight: 0.0,
        first_message_deliveries_decay: 0.5,
        first_message_deliveries_cap: 100.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: 0.5,
        mesh_message_deliveries_cap: 100.0,
        mesh_message_deliveries_threshold: 4.0,
        mesh_message_deliveries_window: Duration::from_millis(10),
        mesh_message_deliveries_activation: SECOND,
        mesh_failure_penalty_weight: 0.0,
        mesh_failure_penalty_decay: 0.5,
        invalid_message_deliveries_weight: 0.0,
        invalid_message_deliveries_decay: 0.5,
    }
}

/// Global parameters that weigh nothing but the topic, scoring `topic`.
fn params_with(topic: TopicScoreParams) -> PeerScoreParams {
    let mut params = PeerScoreParams {
        topic_score_cap: 0.0,
        app_specific_weight: 0.0,
        ip_colocation_factor_weight: 0.0,
        behaviour_penalty_weight: 0.0,
        decay_interval: SECOND,
        decay_to_zero: 0.01,
        retain_score: Duration::from_secs(60),
        ..PeerScoreParams::default()
    };
    params.topics.insert(TOPIC.into(), topic);
    params
}

fn scores_with(params: PeerScoreParams, start: Instant) -> PeerScore<u32> {
    let mut scores = PeerScore::new(params, start).expect("valid params");
    for peer in 1..=3 {
        scores.add_peer(peer);
    }
    scores
}

fn id(n: u32) -> MessageId {
    MessageId::new(n.to_be_bytes().to_vec())
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "score {actual}, expected {expected}"
    );
}

/// `from` delivers message `n` first, valid, at `now`.
fn deliver(scores: &mut PeerScore<u32>, now: Instant, from: u32, n: u32) {
    scores.validate_message(now, &id(n));
    scores.deliver_message(now, &from, &id(n), TOPIC);
}

#[test]
fn p1_time_in_mesh_counts_whole_quanta_up_to_the_cap() {
    let start = Instant::now();
    let params = params_with(TopicScoreParams {
        time_in_mesh_weight: 0.5,
        ..silent_topic()
    });
    let mut scores = scores_with(params, start);
    scores.graft(start, &1, TOPIC);
    assert_close(scores.score(&1), 0.0);

    scores.refresh_scores(start + Duration::from_millis(3500));
    assert_close(scores.score(&1), 3.0 * 0.5);
    scores.refresh_scores(start + Duration::from_secs(60));
    assert_close(scores.score(&1), 10.0 * 0.5);

    scores.prune(&1, TOPIC);
    assert_close(scores.score(&1), 0.0);
}

#[test]
fn p2_first_deliveries_reward_the_first_sender_only_up_to_the_cap() {
    let start = Instant::now();
    let params = params_with(TopicScoreParams {
        first_message_deliveries_weight: 2.0,
        first_message_deliveries_cap: 3.0,
        ..silent_topic()
    });
    let mut scores = scores_with(params, start);
    deliver(&mut scores, start, 1, 1);
    scores.duplicate_message(start, &2, &id(1), TOPIC);
    assert_close(scores.score(&1), 2.0);
    assert_close(scores.score(&2), 0.0);

    for n in 2..10 {
        deliver(&mut scores, start, 1, n);
    }
    assert_close(scores.score(&1), 3.0 * 2.0);
}

fn mesh_delivery_topic() -> TopicScoreParams {
    TopicScoreParams {
        mesh_message_deliveries_weight: -1.0,
        mesh_message_deliveries_threshold: 4.0,
        mesh_message_deliveries_activation: SECOND,
        ..silent_topic()
    }
}

#[test]
fn p3_mesh_peer_delivering_under_the_threshold_pays_the_squared_deficit_after_activation() {
    let start = Instant::now();
    let mut scores = scores_with(params_with(mesh_delivery_topic()), start);
    scores.graft(start, &1, TOPIC);
    deliver(&mut scores, start, 1, 1);
    assert_close(scores.score(&1), 0.0);

    // Still within activation at the first decay: no penalty yet.
    scores.refresh_scores(start + SECOND);
    assert_close(scores.score(&1), 0.0);

    // Past activation; one delivery decayed twice by 0.5 leaves 0.25: deficit 3.75.
    scores.refresh_scores(start + 2 * SECOND);
    assert_close(scores.score(&1), -(3.75 * 3.75));
}

#[test]
fn p3_near_first_copies_from_mesh_peers_count_and_late_ones_do_not() {
    let start = Instant::now();
    let mut scores = scores_with(params_with(mesh_delivery_topic()), start);
    for peer in [1, 2, 3] {
        scores.graft(start, &peer, TOPIC);
    }
    for n in 0..4 {
        let now = start + Duration::from_millis(100 * u64::from(n));
        scores.validate_message(now, &id(n));
        // Peer 2 forwards while we validate: credited when the message proves valid.
        scores.duplicate_message(now, &2, &id(n), TOPIC);
        scores.deliver_message(now, &1, &id(n), TOPIC);
        // Peer 3 is 5 ms late (inside the window) for even messages, 20 ms for odd ones.
        let delay = if n % 2 == 0 { 5 } else { 20 };
        scores.duplicate_message(now + Duration::from_millis(delay), &3, &id(n), TOPIC);
    }
    let after_activation = start + Duration::from_millis(1500);
    scores.refresh_scores(after_activation);
    // One decay halves the counters: 4 -> 2 (deficit 2), and 2 -> 1 (deficit 3).
    assert_close(scores.score(&1), -4.0);
    assert_close(scores.score(&2), -4.0);
    assert_close(scores.score(&3), -9.0);
}

#[test]
fn p3b_pruning_with_a_deficit_leaves_a_sticky_penalty_that_decays() {
    let start = Instant::now();
    let params = params_with(TopicScoreParams {
        mesh_failure_penalty_weight: -2.0,
        ..mesh_delivery_topic()
    });
    let mut scores = scores_with(params, start);
    scores.graft(start, &1, TOPIC);
    scores.refresh_scores(start + 2 * SECOND);
    // Deficit 4 while in the mesh (P₃): -16; pruned it becomes P₃b: 16 * -2.
    assert_close(scores.score(&1), -16.0);
    scores.prune(&1, TOPIC);
    assert_close(scores.score(&1), -32.0);
    scores.refresh_scores(start + 3 * SECOND);
    assert_close(scores.score(&1), -16.0);

    // A peer pruned before activation, or delivering enough, gets no penalty.
    scores.graft(start + 3 * SECOND, &2, TOPIC);
    scores.prune(&2, TOPIC);
    assert_close(scores.score(&2), 0.0);
}

fn invalid_topic() -> TopicScoreParams {
    TopicScoreParams {
        invalid_message_deliveries_weight: -1.0,
        ..silent_topic()
    }
}

#[test]
fn p4_invalid_messages_penalise_the_sender_and_every_forwarder_squared() {
    let start = Instant::now();
    let mut scores = scores_with(params_with(invalid_topic()), start);
    for n in 0..3 {
        scores.validate_message(start, &id(n));
        scores.duplicate_message(start, &2, &id(n), TOPIC);
        scores.reject_message(start, &1, &id(n), TOPIC, RejectReason::Invalid);
    }
    assert_close(scores.score(&1), -9.0);
    assert_close(scores.score(&2), -9.0);

    // Forwarding it after the verdict is penalised too, for every copy.
    scores.duplicate_message(start + SECOND, &3, &id(0), TOPIC);
    assert_close(scores.score(&3), -1.0);
    scores.duplicate_message(start + SECOND, &3, &id(0), TOPIC);
    assert_close(scores.score(&3), -4.0);
}

#[test]
fn p4_ignored_duplicate_and_unvalidated_messages_penalise_no_one() {
    let start = Instant::now();
    let mut scores = scores_with(params_with(invalid_topic()), start);
    let reasons = [
        RejectReason::Ignored,
        RejectReason::Duplicate,
        RejectReason::NotValidated,
    ];
    for (n, reason) in (0..).zip(reasons) {
        scores.validate_message(start, &id(n));
        scores.duplicate_message(start, &2, &id(n), TOPIC);
        scores.reject_message(start, &1, &id(n), TOPIC, reason);
        scores.duplicate_message(start, &3, &id(n), TOPIC);
    }
    for peer in [1, 2, 3] {
        assert_close(scores.score(&peer), 0.0);
    }
}

#[test]
fn p4_unauthentic_messages_penalise_the_sender_only() {
    let start = Instant::now();
    let mut scores = scores_with(params_with(invalid_topic()), start);
    scores.validate_message(start, &id(0));
    scores.duplicate_message(start, &2, &id(0), TOPIC);
    scores.reject_message(start, &1, &id(0), TOPIC, RejectReason::Unauthentic);
    assert_close(scores.score(&1), -1.0);
    assert_close(scores.score(&2), 0.0);
}

#[test]
fn p5_application_score_is_weighted_and_must_be_finite() {
    let start = Instant::now();
    let params = PeerScoreParams {
        app_specific_weight: 3.0,
        ..params_with(silent_topic())
    };
    let mut scores = scores_with(params, start);
    assert!(scores.set_application_score(&1, -2.0));
    assert_close(scores.score(&1), -6.0);
    assert!(!scores.set_application_score(&1, f64::NAN));
    assert!(!scores.set_application_score(&99, 1.0));
    assert_close(scores.score(&1), -6.0);
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an IP")
}

#[test]
fn p6_peers_beyond_the_threshold_on_one_ip_pay_the_squared_surplus() {
    let start = Instant::now();
    let params = PeerScoreParams {
        ip_colocation_factor_weight: -1.0,
        ip_colocation_factor_threshold: 2,
        ..params_with(silent_topic())
    };
    let mut scores = scores_with(params, start);
    scores.add_peer(4);
    for peer in 1..=4 {
        scores.set_peer_ips(&peer, [ip("203.0.113.9")]);
    }
    for peer in 1..=4 {
        assert_close(scores.score(&peer), -4.0);
    }
    // Peer 4 moves away: 3 left on the IP, surplus 1.
    scores.set_peer_ips(&4, [ip("198.51.100.1")]);
    assert_close(scores.score(&1), -1.0);
    assert_close(scores.score(&4), 0.0);
}

#[test]
fn p6_whitelisted_networks_are_exempt() {
    let start = Instant::now();
    let params = PeerScoreParams {
        ip_colocation_factor_weight: -1.0,
        ip_colocation_factor_threshold: 1,
        ip_colocation_factor_whitelist: vec!["10.0.0.0/8".parse::<IpNetwork>().expect("cidr")],
        ..params_with(silent_topic())
    };
    let mut scores = scores_with(params, start);
    for peer in 1..=3 {
        scores.set_peer_ips(&peer, [ip("10.1.2.3")]);
    }
    assert_close(scores.score(&1), 0.0);
}

#[test]
fn p7_behaviour_penalty_counts_the_squared_excess_over_its_threshold() {
    let start = Instant::now();
    let params = PeerScoreParams {
        behaviour_penalty_weight: -1.0,
        behaviour_penalty_threshold: 2.0,
        behaviour_penalty_decay: 0.5,
        ..params_with(silent_topic())
    };
    let mut scores = scores_with(params, start);
    scores.add_penalty(&1, 2);
    assert_close(scores.score(&1), 0.0);
    scores.add_penalty(&1, 3);
    assert_close(scores.score(&1), -9.0);
    scores.refresh_scores(start + SECOND);
    // 5 decays to 2.5: excess 0.5.
    assert_close(scores.score(&1), -0.25);
}

#[test]
fn decay_happens_once_per_elapsed_interval_and_ends_at_zero() {
    let start = Instant::now();
    let params = params_with(TopicScoreParams {
        first_message_deliveries_weight: 1.0,
        ..silent_topic()
    });
    let mut scores = scores_with(params, start);
    for n in 0..8 {
        deliver(&mut scores, start, 1, n);
    }
    assert_eq!(scores.poll_timeout(), start + SECOND);
    scores.refresh_scores(start + Duration::from_millis(500));
    assert_close(scores.score(&1), 8.0);
    scores.refresh_scores(start + SECOND);
    scores.refresh_scores(start + SECOND);
    assert_close(scores.score(&1), 4.0);
    // Called late, it catches up: two intervals more.
    scores.refresh_scores(start + Duration::from_millis(3200));
    assert_close(scores.score(&1), 1.0);
    assert_eq!(scores.poll_timeout(), start + 4 * SECOND);
    // 1 / 2^7 is under decay_to_zero (0.01): zero, not a long tail.
    scores.refresh_scores(start + 10 * SECOND);
    assert_eq!(scores.score(&1), 0.0);
}

#[test]
fn a_disconnected_peer_keeps_a_negative_score_until_retain_score_passes() {
    let start = Instant::now();
    let mut scores = scores_with(params_with(invalid_topic()), start);
    scores.reject_message(start, &1, &id(0), TOPIC, RejectReason::Unauthentic);
    scores.remove_peer(start, &1);
    assert_close(scores.score(&1), -1.0);

    // Reconnecting does not reset it, nor does the time away decay it.
    scores.refresh_scores(start + 30 * SECOND);
    scores.add_peer(1);
    assert_close(scores.score(&1), -1.0);

    scores.remove_peer(start + 30 * SECOND, &1);
    scores.refresh_scores(start + 89 * SECOND);
    assert!(scores.is_known(&1));
    scores.refresh_scores(start + 90 * SECOND);
    assert!(!scores.is_known(&1));
    scores.add_peer(1);
    assert_close(scores.score(&1), 0.0);
}

#[test]
fn a_zero_retain_score_retains_nothing() {
    let start = Instant::now();
    let params = PeerScoreParams {
        retain_score: Duration::ZERO,
        ..params_with(invalid_topic())
    };
    let mut scores = scores_with(params, start);
    scores.reject_message(start, &1, &id(0), TOPIC, RejectReason::Unauthentic);
    scores.remove_peer(start, &1);
    assert!(!scores.is_known(&1));
}

#[test]
fn a_disconnected_peer_with_a_positive_score_is_forgotten_at_once() {
    let start = Instant::now();
    let params = params_with(TopicScoreParams {
        first_message_deliveries_weight: 1.0,
        ..silent_topic()
    });
    let mut scores = scores_with(params, start);
    deliver(&mut scores, start, 1, 0);
    scores.remove_peer(start, &1);
    assert!(!scores.is_known(&1));
}

#[test]
fn topic_cap_bounds_the_positive_topic_score_but_not_penalties() {
    let start = Instant::now();
    let params = PeerScoreParams {
        topic_score_cap: 5.0,
        behaviour_penalty_weight: -1.0,
        ..params_with(TopicScoreParams {
            first_message_deliveries_weight: 1.0,
            ..silent_topic()
        })
    };
    let mut scores = scores_with(params, start);
    for n in 0..20 {
        deliver(&mut scores, start, 1, n);
    }
    assert_close(scores.score(&1), 5.0);
    scores.add_penalty(&1, 3);
    assert_close(scores.score(&1), 5.0 - 9.0);
}

#[test]
fn topic_weight_scales_the_topic_score() {
    let start = Instant::now();
    let params = params_with(TopicScoreParams {
        topic_weight: 0.25,
        first_message_deliveries_weight: 1.0,
        ..silent_topic()
    });
    let mut scores = scores_with(params, start);
    for n in 0..8 {
        deliver(&mut scores, start, 1, n);
    }
    assert_close(scores.score(&1), 2.0);
}

#[test]
fn unknown_peers_and_unconfigured_topics_leave_no_state() {
    let start = Instant::now();
    let mut scores = scores_with(params_with(invalid_topic()), start);
    scores.graft(start, &99, TOPIC);
    scores.add_penalty(&99, 5);
    scores.set_peer_ips(&99, [ip("192.0.2.1")]);
    scores.reject_message(start, &99, &id(0), TOPIC, RejectReason::Invalid);
    scores.reject_message(start, &1, &id(1), "other", RejectReason::Invalid);
    assert!(!scores.is_known(&99));
    assert_eq!(scores.known_peers(), 3);
    assert_close(scores.score(&1), 0.0);
}

#[test]
fn default_params_and_thresholds_are_valid() {
    let mut params = PeerScoreParams::default();
    params
        .topics
        .insert(TOPIC.into(), TopicScoreParams::default());
    assert_eq!(params.validate(), Ok(()));
    assert_eq!(PeerScoreThresholds::default().validate(), Ok(()));
}

#[test]
fn decay_factor_reaches_decay_to_zero_after_the_lifetime() {
    let factor = decay_factor(Duration::from_secs(60), Duration::from_secs(12), 0.01);
    assert_close(factor.powi(5), 0.01);
}

#[test]
fn params_with_wrong_signs_or_decays_are_refused_naming_the_parameter() {
    let refused = |params: PeerScoreParams| params.validate().expect_err("refused");
    let error = refused(PeerScoreParams {
        ip_colocation_factor_weight: 1.0,
        ..PeerScoreParams::default()
    });
    assert_eq!(
        (error.param, error.constraint),
        ("ip_colocation_factor_weight", Constraint::NonPositive)
    );
    let error = refused(PeerScoreParams {
        ip_colocation_factor_threshold: 0,
        ..PeerScoreParams::default()
    });
    assert_eq!(error.constraint, Constraint::AtLeastOne);
    let error = refused(PeerScoreParams {
        behaviour_penalty_decay: 1.0,
        ..PeerScoreParams::default()
    });
    assert_eq!(error.param, "behaviour_penalty_decay");
    let error = refused(PeerScoreParams {
        decay_interval: Duration::from_millis(500),
        ..PeerScoreParams::default()
    });
    assert_eq!(error.constraint, Constraint::AtLeastOneSecond);
    let error = refused(PeerScoreParams {
        topic_score_cap: f64::NAN,
        ..PeerScoreParams::default()
    });
    assert_eq!(error.constraint, Constraint::Finite);

    let topic = |topic: TopicScoreParams| {
        let mut params = PeerScoreParams::default();
        params.topics.insert(TOPIC.into(), topic);
        let error = params.validate().expect_err("refused");
        assert_eq!(error.topic.as_deref(), Some(TOPIC));
        (error.param, error.constraint)
    };
    let base = TopicScoreParams::default;
    assert_eq!(
        topic(TopicScoreParams {
            first_message_deliveries_weight: -1.0,
            ..base()
        }),
        ("first_message_deliveries_weight", Constraint::NonNegative)
    );
    assert_eq!(
        topic(TopicScoreParams {
            mesh_message_deliveries_weight: 1.0,
            ..base()
        }),
        ("mesh_message_deliveries_weight", Constraint::NonPositive)
    );
    assert_eq!(
        topic(TopicScoreParams {
            invalid_message_deliveries_decay: 0.0,
            ..base()
        }),
        ("invalid_message_deliveries_decay", Constraint::DecayFactor)
    );
    assert_eq!(
        topic(TopicScoreParams {
            mesh_message_deliveries_cap: 10.0,
            ..base()
        }),
        (
            "mesh_message_deliveries_cap",
            Constraint::AtLeastMeshDeliveriesThreshold
        )
    );
    assert_eq!(
        topic(TopicScoreParams {
            time_in_mesh_quantum: Duration::ZERO,
            ..base()
        }),
        ("time_in_mesh_quantum", Constraint::NonZeroDuration)
    );
    assert_eq!(
        topic(TopicScoreParams {
            mesh_message_deliveries_activation: Duration::from_millis(10),
            ..base()
        }),
        (
            "mesh_message_deliveries_activation",
            Constraint::AtLeastOneSecond
        )
    );
    assert_eq!(
        topic(TopicScoreParams {
            topic_weight: -0.5,
            ..base()
        }),
        ("topic_weight", Constraint::NonNegative)
    );

    // A part with no weight is not checked, as in go.
    let disabled = TopicScoreParams {
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: 7.0,
        ..base()
    };
    assert_eq!(disabled.validate(), Ok(()));
    // PeerScore refuses what validate refuses.
    let bad = PeerScoreParams {
        decay_to_zero: 0.0,
        ..PeerScoreParams::default()
    };
    assert!(PeerScore::<u32>::new(bad, Instant::now()).is_err());
}

#[test]
fn thresholds_out_of_order_are_refused() {
    let refused = |thresholds: PeerScoreThresholds| {
        let error = thresholds.validate().expect_err("refused");
        (error.param, error.constraint)
    };
    let base = PeerScoreThresholds::default;
    assert_eq!(
        refused(PeerScoreThresholds {
            gossip_threshold: 1.0,
            ..base()
        }),
        ("gossip_threshold", Constraint::NonPositive)
    );
    assert_eq!(
        refused(PeerScoreThresholds {
            publish_threshold: -5.0,
            ..base()
        }),
        ("publish_threshold", Constraint::AtMostGossipThreshold)
    );
    assert_eq!(
        refused(PeerScoreThresholds {
            graylist_threshold: -20.0,
            ..base()
        }),
        ("graylist_threshold", Constraint::AtMostPublishThreshold)
    );
    assert_eq!(
        refused(PeerScoreThresholds {
            accept_px_threshold: -1.0,
            ..base()
        }),
        ("accept_px_threshold", Constraint::NonNegative)
    );
    assert_eq!(
        refused(PeerScoreThresholds {
            opportunistic_graft_threshold: f64::INFINITY,
            ..base()
        }),
        ("opportunistic_graft_threshold", Constraint::Finite)
    );
    let error = PeerScoreThresholds {
        gossip_threshold: 1.0,
        ..base()
    }
    .validate()
    .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "gossip_threshold = 1 is refused: it must be negative or zero"
    );
}

#[test]
fn params_round_trip_through_serde_with_go_field_names() {
    let mut params = PeerScoreParams {
        ip_colocation_factor_whitelist: vec!["10.0.0.0/8".parse().expect("cidr")],
        ..PeerScoreParams::default()
    };
    params
        .topics
        .insert(TOPIC.into(), TopicScoreParams::default());
    let json = serde_json::to_string(&params).expect("serialize");
    assert!(json.contains("\"ip_colocation_factor_whitelist\":[\"10.0.0.0/8\"]"));
    assert!(json.contains("\"mesh_message_deliveries_activation\""));
    let back: PeerScoreParams = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, params);

    // Missing fields take their defaults.
    let partial: PeerScoreThresholds =
        serde_json::from_str(r#"{"gossip_threshold": -4000.0}"#).expect("deserialize");
    assert_eq!(partial.gossip_threshold, -4000.0);
    assert_eq!(
        partial.publish_threshold,
        PeerScoreThresholds::default().publish_threshold
    );
}

#[derive(Debug, Clone)]
enum Event {
    AddPeer(u8),
    RemovePeer(u8),
    SetIps(u8, Vec<u8>),
    Graft(u8, bool),
    Prune(u8, bool),
    Validate(u8),
    Deliver(u8, u8, bool),
    Duplicate(u8, u8, bool),
    Reject(u8, u8, bool, u8),
    Penalty(u8, u32),
    AppScore(u8, f64),
    Advance(u32),
    Refresh,
}

fn event() -> impl Strategy<Value = Event> {
    let peer = 0u8..6;
    let msg = 0u8..8;
    prop_oneof![
        peer.clone().prop_map(Event::AddPeer),
        peer.clone().prop_map(Event::RemovePeer),
        (peer.clone(), prop::collection::vec(0u8..3, 0..3))
            .prop_map(|(p, ips)| Event::SetIps(p, ips)),
        (peer.clone(), any::<bool>()).prop_map(|(p, t)| Event::Graft(p, t)),
        (peer.clone(), any::<bool>()).prop_map(|(p, t)| Event::Prune(p, t)),
        msg.clone().prop_map(Event::Validate),
        (peer.clone(), msg.clone(), any::<bool>()).prop_map(|(p, m, t)| Event::Deliver(p, m, t)),
        (peer.clone(), msg.clone(), any::<bool>()).prop_map(|(p, m, t)| Event::Duplicate(p, m, t)),
        (peer.clone(), msg, any::<bool>(), 0u8..5)
            .prop_map(|(p, m, t, r)| Event::Reject(p, m, t, r)),
        (peer.clone(), any::<u32>()).prop_map(|(p, n)| Event::Penalty(p, n)),
        (peer, any::<f64>()).prop_map(|(p, s)| Event::AppScore(p, s)),
        (0u32..5_000).prop_map(Event::Advance),
        Just(Event::Refresh),
    ]
}

fn topic_of(is_scored: bool) -> &'static str {
    if is_scored { TOPIC } else { "unscored" }
}

/// A weight of `sign`, or zero (the part switched off), with a decay factor that is valid
/// when the weight is not zero and may be anything when it is, as validation allows.
fn weight_and_decay(sign: f64) -> impl Strategy<Value = (f64, f64)> {
    prop_oneof![
        (0.001..100.0f64, 0.01..0.99f64).prop_map(move |(w, d)| (sign * w, d)),
        (-5.0..5.0f64).prop_map(|d| (0.0, d)),
    ]
}

/// Topic parameters that pass validation, over a wide range.
fn topic_params() -> impl Strategy<Value = TopicScoreParams> {
    (
        (
            0.0..10.0f64,
            weight_and_decay(1.0),
            1u64..5_000,
            1.0..1e6f64,
        ),
        (weight_and_decay(1.0), 1.0..1e6f64),
        (
            weight_and_decay(-1.0),
            1.0..100.0f64,
            0.0..50.0f64,
            0u64..100,
            1u64..10,
        ),
        weight_and_decay(-1.0),
        ((-100.0..0.0f64), 0.01..0.99f64),
    )
        .prop_map(|(p1, p2, p3, p3b, p4)| {
            let (topic_weight, (time_weight, _), quantum_ms, time_cap) = p1;
            let ((first_weight, first_decay), first_cap) = p2;
            let ((mesh_weight, mesh_decay), threshold, extra_cap, window_ms, activation_s) = p3;
            TopicScoreParams {
                topic_weight,
                time_in_mesh_weight: time_weight,
                time_in_mesh_quantum: Duration::from_millis(quantum_ms),
                time_in_mesh_cap: time_cap,
                first_message_deliveries_weight: first_weight,
                first_message_deliveries_decay: first_decay,
                first_message_deliveries_cap: first_cap,
                mesh_message_deliveries_weight: mesh_weight,
                mesh_message_deliveries_decay: mesh_decay,
                mesh_message_deliveries_cap: threshold + extra_cap,
                mesh_message_deliveries_threshold: threshold,
                mesh_message_deliveries_window: Duration::from_millis(window_ms),
                mesh_message_deliveries_activation: Duration::from_secs(activation_s),
                mesh_failure_penalty_weight: p3b.0,
                mesh_failure_penalty_decay: p3b.1,
                invalid_message_deliveries_weight: p4.0,
                invalid_message_deliveries_decay: p4.1,
            }
        })
}

/// Global parameters that pass validation, over a wide range.
fn score_params() -> impl Strategy<Value = PeerScoreParams> {
    (
        topic_params(),
        0.0..1e4f64,
        0.0..100.0f64,
        (-100.0..=0.0f64, 1usize..4),
        (weight_and_decay(-1.0), 0.0..10.0f64),
        (1u64..5, 0.001..0.5f64, 0u64..600),
    )
        .prop_map(|(topic, cap, app_weight, ip, behaviour, decay)| {
            let mut params = PeerScoreParams {
                topic_score_cap: cap,
                app_specific_weight: app_weight,
                ip_colocation_factor_weight: ip.0,
                ip_colocation_factor_threshold: ip.1,
                behaviour_penalty_weight: behaviour.0.0,
                behaviour_penalty_decay: behaviour.0.1,
                behaviour_penalty_threshold: behaviour.1,
                decay_interval: Duration::from_secs(decay.0),
                decay_to_zero: decay.1,
                retain_score: Duration::from_secs(decay.2),
                ..PeerScoreParams::default()
            };
            params.topics.insert(TOPIC.into(), topic);
            params
        })
}

proptest! {
    #[test]
    fn random_events_never_panic_and_scores_stay_finite(
        params in score_params(),
        events in prop::collection::vec(event(), 0..200),
    ) {
        let start = Instant::now();
        prop_assert_eq!(params.validate(), Ok(()));
        let mut scores = PeerScore::<u8>::new(params, start).expect("valid params");
        let mut now = start;
        let reasons = [
            RejectReason::Invalid,
            RejectReason::Unauthentic,
            RejectReason::Ignored,
            RejectReason::Duplicate,
            RejectReason::NotValidated,
        ];
        for event in events {
            match event {
                Event::AddPeer(p) => scores.add_peer(p),
                Event::RemovePeer(p) => scores.remove_peer(now, &p),
                Event::SetIps(p, ips) => {
                    scores.set_peer_ips(&p, ips.into_iter().map(|i| IpAddr::from([192, 0, 2, i])))
                }
                Event::Graft(p, t) => scores.graft(now, &p, topic_of(t)),
                Event::Prune(p, t) => scores.prune(&p, topic_of(t)),
                Event::Validate(m) => scores.validate_message(now, &id(m.into())),
                Event::Deliver(p, m, t) => scores.deliver_message(now, &p, &id(m.into()), topic_of(t)),
                Event::Duplicate(p, m, t) => scores.duplicate_message(now, &p, &id(m.into()), topic_of(t)),
                Event::Reject(p, m, t, r) => {
                    scores.reject_message(now, &p, &id(m.into()), topic_of(t), reasons[usize::from(r)])
                }
                Event::Penalty(p, n) => scores.add_penalty(&p, n),
                Event::AppScore(p, s) => {
                    scores.set_application_score(&p, s);
                }
                Event::Advance(ms) => now += Duration::from_millis(ms.into()),
                Event::Refresh => scores.refresh_scores(now),
            }
            for p in 0..6 {
                let score = scores.score(&p);
                prop_assert!(score.is_finite(), "peer {} score {}", p, score);
            }
            prop_assert!(scores.known_peers() <= 6);
        }
    }
}

#[test]
fn removing_a_retained_peer_again_does_not_extend_its_retention() {
    let start = Instant::now();
    let mut scores = scores_with(params_with(invalid_topic()), start);
    scores.reject_message(start, &1, &id(0), TOPIC, RejectReason::Unauthentic);
    scores.remove_peer(start, &1);
    scores.remove_peer(start + 30 * SECOND, &1);
    scores.refresh_scores(start + 60 * SECOND);
    assert!(!scores.is_known(&1));
}

#[test]
fn retained_peers_are_capped_forgetting_the_first_to_expire() {
    let start = Instant::now();
    let params = PeerScoreParams {
        app_specific_weight: 1.0,
        ..params_with(silent_topic())
    };
    let mut scores = PeerScore::<u32>::new(params, start).expect("valid params");
    let max = PeerScore::<u32>::MAX_RETAINED_PEERS as u32;
    for peer in 0..max + 10 {
        scores.add_peer(peer);
        scores.set_application_score(&peer, -1.0);
        scores.remove_peer(start + Duration::from_millis(peer.into()), &peer);
    }
    assert_eq!(scores.known_peers(), max as usize);
    assert!(!scores.is_known(&9));
    assert!(scores.is_known(&10));
    assert_close(scores.score(&(max + 9)), -1.0);

    // A reconnected peer no longer counts as retained: room for one more.
    scores.add_peer(10);
    for (peer, is_first_kept) in [(max + 20, true), (max + 21, false)] {
        scores.add_peer(peer);
        scores.set_application_score(&peer, -1.0);
        scores.remove_peer(start + 100 * SECOND, &peer);
        assert_eq!(scores.is_known(&11), is_first_kept);
    }
    assert!(scores.is_known(&10));
}
