use serde_json::json;
use switchboard_llm::mock::{MockLlm, Script};
use switchboard_llm::{ChatEvent, ChatProvider, FinishReason, LlmError, PriceTable};

use crate::helpers::*;

#[tokio::test]
async fn a_stream_is_its_deltas_then_usage_then_finish() {
    let mock = MockLlm::start().await;
    mock.push(Script::reply_in("Your order A-1001 ships tomorrow.", 5));
    let events = events(&provider(&mock), request("Where is my order?")).await;

    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Ok(ChatEvent::Delta(_)) => "delta",
            Ok(ChatEvent::ToolCall(_)) => "tool",
            Ok(ChatEvent::Usage(_)) => "usage",
            Ok(ChatEvent::Finish { .. }) => "finish",
            Err(_) => "error",
        })
        .collect();
    assert_eq!(kinds, ["delta", "delta", "delta", "delta", "delta", "usage", "finish"]);
    assert_eq!(text_of(&events), "Your order A-1001 ships tomorrow.");
    let Ok(ChatEvent::Usage(usage)) = &events[5] else { panic!() };
    assert!(!usage.estimated && usage.input_tokens > 0 && usage.output_tokens > 0, "{usage:?}");
    assert_eq!(
        events[6].as_ref().unwrap(),
        &ChatEvent::Finish { reason: FinishReason::Stop, model: "gpt-4o-mini".into() }
    );
    let cost = PriceTable::openai_list_prices().cost_usd("gpt-4o-mini", usage).unwrap();
    assert!(cost > 0.0);

    // The request was OpenAI's wire format, asking for usage in the stream.
    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.json.as_ref().unwrap(),
        &json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are the shop's assistant."},
                {"role": "user", "content": "Where is my order?"}
            ],
            "stream": true,
            "stream_options": {"include_usage": true}
        })
    );
}

#[tokio::test]
async fn complete_returns_the_whole_answer_with_reported_usage() {
    let mock = MockLlm::start().await;
    mock.push(Script::reply("Hello! How can I help?"));
    let response = provider(&mock).complete(request("Hi").with_max_tokens(200).with_temperature(0.2)).await.unwrap();
    assert_eq!(response.content, "Hello! How can I help?");
    assert_eq!(response.finish, FinishReason::Stop);
    assert!(response.tool_calls.is_empty());
    assert!(!response.usage.estimated && response.usage.output_tokens > 0);
    let body = mock.requests()[0].json.clone().unwrap();
    assert_eq!(body["stream"], json!(false));
    assert_eq!(body["max_tokens"], json!(200));
    assert!(body.get("stream_options").is_none());
    assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
}

#[tokio::test]
async fn usage_is_estimated_when_the_server_reports_none() {
    let mock = MockLlm::start().await;
    mock.report_usage(false);
    mock.push(Script::reply("Twelve words of answer text so the estimate has something to count."));
    mock.push(Script::reply("Same again, non-streamed."));
    let events = events(&provider(&mock), request("How long is delivery?")).await;
    let usage = events.iter().find_map(|e| match e {
        Ok(ChatEvent::Usage(u)) => Some(*u),
        _ => None,
    });
    let usage = usage.expect("a usage event even without a reported one");
    assert!(usage.estimated && usage.input_tokens > 10 && usage.output_tokens > 10, "{usage:?}");
    let response = provider(&mock).complete(request("And returns?")).await.unwrap();
    assert!(response.usage.estimated && response.usage.output_tokens > 0);
}

#[tokio::test]
async fn a_stream_cut_half_way_is_an_error_not_a_short_answer() {
    let mock = MockLlm::start().await;
    // The connection breaks after 2 of 4 deltas.
    mock.push(Script::cut("Refunds take five to seven days.", 4, 2));
    let events = events(&provider(&mock), request("Refunds?")).await;
    assert_eq!(events.iter().filter(|e| matches!(e, Ok(ChatEvent::Delta(_)))).count(), 2);
    assert!(matches!(events.last(), Some(Err(LlmError::Interrupted(_)))), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Ok(ChatEvent::Finish { .. }))));

    // The body ends cleanly, but without a finish reason or `[DONE]`.
    mock.push(Script::truncated("Refunds take five to seven days.", 4, 2));
    let ended = crate::helpers::events(&provider(&mock), request("Refunds?")).await;
    assert!(matches!(ended.last(), Some(Err(LlmError::Interrupted(_)))), "{ended:?}");
    assert!(!ended.iter().any(|e| matches!(e, Ok(ChatEvent::Finish { .. }))));

    // A non-streamed body cut half-way.
    mock.push(Script::cut("Refunds take five to seven days.", 4, 2));
    let error = provider(&mock).complete(request("Refunds?")).await.unwrap_err();
    assert!(matches!(error, LlmError::Interrupted(_)), "{error:?}");
}
