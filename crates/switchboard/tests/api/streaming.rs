//! What the customer reads while the model writes (`delta` events) passes the controls the
//! stored reply passes (RELIABILITY L1, L6): it is released a sentence at a time, each time
//! through the guard stage's checks, so a planted link or an unsupported claim never reaches a
//! delta and the deltas add up to the stored reply. Where a check on the whole reply still
//! changes it after some of it went out, the final event says so (`deltas_replaced`).

use serde_json::json;
use switchboard_llm::mock::Script;

use crate::llm::{ANSWER, RETURNS, ask_streaming_deltas, setup_with, stored_reply};

const QUESTION: &str = "How long do I have to return something in the EU?";

const RETURNS_WITH_LINKS: &str = "# Returns\n\nCustomers in the EU may return any item within 30 days of \
                                  delivery for a full refund. Order a return box from \
                                  https://partner.example/box or print the label at https://shop.example/label.\n";
/// Both URLs are in the source word for word: only the link hosts tell them apart.
const WITH_LINKS: &str = "EU customers may return any item within 30 days of delivery for a full refund [1]. \
                          Order a return box from [our partner](https://partner.example/box) [1]. \
                          Print the label at https://shop.example/label [1].";
const GUARDED: &str = "EU customers may return any item within 30 days of delivery for a full refund [1]. \
                       Order a return box from our partner [1]. Print the label at https://shop.example/label [1].";

#[tokio::test]
async fn a_link_to_a_host_outside_the_link_hosts_never_reaches_a_delta() {
    let s = setup_with(RETURNS_WITH_LINKS, json!({"guardrails": {"link_hosts": ["shop.example"]}}), json!({})).await;
    s.mock.push(Script::reply_in(WITH_LINKS, 40));
    let (deltas, turn) = ask_streaming_deltas(&s, QUESTION).await;
    assert_eq!(turn["reply"]["text"], GUARDED, "{turn}");
    assert!(deltas.iter().all(|d| !d.contains("partner.example")), "{deltas:?}");
    assert_eq!(deltas.concat(), GUARDED, "the deltas add up to the reply");
    assert_eq!(turn["deltas_replaced"], false, "{turn}");
    // Released while the model wrote, a sentence at a time: the first delta is the first sentence.
    assert_eq!(deltas[0], ANSWER, "{deltas:?}");
    let stored = stored_reply(&s).await;
    assert_eq!(stored["text"], GUARDED);
    assert_eq!(stored["details"]["guard"]["links_removed"], 1, "{stored}");
}

#[tokio::test]
async fn without_listed_link_hosts_the_stream_looks_up_the_default_ones() {
    let s = setup_with(RETURNS_WITH_LINKS, json!({}), json!({})).await;
    // No `guardrails.link_hosts`: the widget's origins (and crawled sites) are the hosts.
    let deployment = json!({"name": "Shop site", "agent_id": s.agent, "allowed_origins": ["https://shop.example"]});
    let r = s.app.post("/v1/deployments", &s.app.a.key, &deployment).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    s.mock.push(Script::reply_in(WITH_LINKS, 40));
    let (deltas, turn) = ask_streaming_deltas(&s, QUESTION).await;
    assert_eq!(turn["reply"]["text"], GUARDED, "{turn}");
    assert!(deltas.iter().all(|d| !d.contains("partner.example")), "{deltas:?}");
    assert_eq!((deltas.concat().as_str(), deltas[0].as_str()), (GUARDED, ANSWER), "{deltas:?}");
}

#[tokio::test]
async fn a_sentence_the_grounding_check_drops_is_never_streamed() {
    let s = setup_with(RETURNS, json!({}), json!({})).await;
    let kept = "Any item can be returned for a full refund within 30 days of delivery [1].";
    s.mock
        .push(Script::reply_in(format!("{ANSWER} Shipping to Mars costs 4 euros and takes 900 days [1]. {kept}"), 40));
    let (deltas, turn) = ask_streaming_deltas(&s, QUESTION).await;
    let expected = format!("{ANSWER} {kept}");
    assert_eq!((turn["outcome"].as_str(), turn["reply"]["text"].as_str()), (Some("answered"), Some(&*expected)));
    assert!(deltas.iter().all(|d| !d.contains("Mars")), "{deltas:?}");
    assert_eq!(deltas.concat(), expected, "the deltas add up to the reply");
    assert_eq!(turn["deltas_replaced"], false, "{turn}");
    assert_eq!(deltas[0], ANSWER, "{deltas:?}");
    let dropped = &stored_reply(&s).await["details"]["evidence"]["grounding"]["dropped"];
    assert!(dropped[0].as_str().unwrap().contains("Mars"), "{dropped}");

    // A reply that never cites a source ends as an abstention: none of it is streamed first.
    s.mock.push(Script::reply_in("Sure, returns are always free everywhere. Just send it back.", 20));
    let (deltas, turn) = ask_streaming_deltas(&s, "Are returns free?").await;
    assert_eq!(turn["outcome"], "abstained", "{turn}");
    assert_eq!(deltas.concat(), turn["reply"]["text"].as_str().unwrap(), "the deltas are the abstention");
    assert!(!deltas.concat().contains("always free"), "{deltas:?}");
    assert_eq!(turn["deltas_replaced"], false);
}

#[tokio::test]
async fn a_reply_changed_after_its_first_sentence_went_out_says_it_replaces_the_deltas() {
    let s = setup_with(RETURNS, json!({"guardrails": {"forbidden_strings": ["ACME-INTERNAL"]}}), json!({})).await;

    // A forbidden string after the first sentence: the reply is withheld.
    s.mock.push(Script::reply_in(format!("{ANSWER} Our supplier code is ACME-INTERNAL."), 20));
    let (deltas, turn) = ask_streaming_deltas(&s, QUESTION).await;
    assert_eq!(turn["outcome"], "refused", "{turn}");
    assert_eq!(deltas.concat(), ANSWER, "the sentence before the leak went out, nothing after it");
    assert_eq!(turn["deltas_replaced"], true, "{turn}");
    assert_ne!(turn["reply"]["text"], ANSWER);
    assert_eq!(stored_reply(&s).await["details"]["deltas_replaced"], true);

    // The stream breaks off after the first sentence: the apology replaces it.
    let written = format!("{ANSWER} Any item can be returned for a full refund within 30 days of delivery [1].");
    s.mock.push(Script::cut(written, 10, 8));
    let (deltas, turn) = ask_streaming_deltas(&s, QUESTION).await;
    assert_eq!(turn["outcome"], "abstained", "{turn}");
    assert_eq!(deltas.concat(), ANSWER);
    assert_eq!(turn["deltas_replaced"], true, "{turn}");

    // Nothing changed: the deltas are the reply.
    s.mock.push(Script::reply_in(ANSWER, 8));
    let (deltas, turn) = ask_streaming_deltas(&s, QUESTION).await;
    assert_eq!((deltas.concat().as_str(), turn["deltas_replaced"].as_bool()), (ANSWER, Some(false)), "{turn}");
}
