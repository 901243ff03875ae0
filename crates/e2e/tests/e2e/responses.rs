//! `POST /api/v1/responses`: OpenAI Responses requests (shaped as the
//! official SDKs send them) served through the chat pipeline by every
//! upstream protocol, whole and streamed.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::responses::{
    CreateResponseArgs, FunctionTool, OutputItem, ResponseStreamEvent, Status, Tool as SdkTool,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::Env;

async fn post(env: &Env, body: Value) -> (u16, Value) {
    env.send("POST", &env.key, "/responses", Some(body)).await
}

/// Streams `body` and returns `(event name, data)` per event, checking the
/// framing: `event:` equals the data's `type`, and no `[DONE]`.
async fn stream(env: &Env, body: Value) -> Vec<(String, Value)> {
    let r = env.http.post(env.url("/responses")).bearer_auth(&env.key).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = r.text().await.unwrap();
    assert!(!text.contains("[DONE]"));
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty() && !b.starts_with(':')) {
        let mut lines = block.lines();
        let name = lines.next().unwrap().strip_prefix("event: ").unwrap().to_owned();
        let data: Value = serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(data["type"], name.as_str());
        events.push((name, data));
    }
    for (i, (_, data)) in events.iter().enumerate() {
        assert_eq!(data["sequence_number"], i as u64, "{events:?}");
    }
    events
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"], "additionalProperties": false},
           "strict": true})
}

#[tokio::test]
async fn sdk_shaped_request_calls_a_tool_and_the_upstream_gets_chat() {
    let env = Env::start().await;
    // As `client.responses.create(model=..., input=..., instructions=..., tools=[...])` sends it.
    let (status, v) = post(
        &env,
        json!({
            "model": "sim/tool", "input": "Weather in Paris?", "instructions": "You are a weather bot.",
            "tools": [weather_tool()], "tool_choice": "auto", "max_output_tokens": 256, "temperature": 0.4,
            "metadata": {"trace": "t1"}, "store": false, "parallel_tool_calls": false,
        }),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["id"].as_str().unwrap().starts_with("gen-"));
    assert_eq!((v["object"].as_str(), v["status"].as_str()), (Some("response"), Some("completed")));
    assert_eq!(v["model"], "sim/tool");
    assert_eq!(v["provider"], "Simulator");
    let call = &v["output"][0];
    assert_eq!(call["type"], "function_call");
    assert!(call["id"].as_str().unwrap().starts_with("fc_"));
    assert_eq!((call["call_id"].as_str(), call["name"].as_str()), (Some("call_sim_0"), Some("get_weather")));
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["city"], "Paris");
    assert_eq!(v["output_text"], "");
    // The request echoed as OpenAI does.
    assert_eq!(v["instructions"], "You are a weather bot.");
    assert_eq!(v["tools"][0], weather_tool());
    assert_eq!((v["temperature"].as_f64(), v["max_output_tokens"].as_u64()), (Some(0.4), Some(256)));
    assert_eq!((v["metadata"]["trace"].as_str(), v["store"].as_bool()), (Some("t1"), Some(false)));
    assert_eq!(v["parallel_tool_calls"], false);
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);

    let reqs = env.sim.requests();
    let sent = &reqs.last().unwrap().body;
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "You are a weather bot."},
                                        {"role": "user", "content": "Weather in Paris?"}])
    );
    assert_eq!(
        sent["tools"][0],
        json!({"type": "function", "function": {"name": "get_weather",
        "description": "Weather in a city", "parameters": weather_tool()["parameters"], "strict": true}})
    );
    assert_eq!(sent["tool_choice"], "auto");
    assert_eq!(sent["max_completion_tokens"], 256);
    assert_eq!(sent["temperature"], 0.4);
    assert_eq!(sent["parallel_tool_calls"], false);
    assert!(sent.get("metadata").is_none() && sent.get("store").is_none() && sent.get("input").is_none());
}

#[tokio::test]
async fn function_call_output_round_trip_becomes_tool_messages() {
    let env = Env::start().await;
    let (status, v) = post(&env, json!({
        "model": "sim/text",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"},
                                         {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
             "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call_output", "call_id": "call_1", "output": "{\"temp_c\":18}"},
        ],
        "tools": [weather_tool()],
        "tool_choice": {"type": "function", "name": "get_weather"},
    }))
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["output_text"], "tok0 tok1 tok2 tok3 tok4 ");
    let msg = &v["output"][0];
    assert_eq!(
        (msg["type"].as_str(), msg["role"].as_str(), msg["status"].as_str()),
        (Some("message"), Some("assistant"), Some("completed"))
    );
    assert!(msg["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        msg["content"][0],
        json!({"type": "output_text", "text": "tok0 tok1 tok2 tok3 tok4 ",
                                         "annotations": [], "logprobs": []})
    );

    let reqs = env.sim.requests();
    let m = &reqs.last().unwrap().body["messages"];
    assert_eq!(m[0]["content"][1]["image_url"]["url"], "data:image/png;base64,iVBORw0KGgo=");
    assert_eq!(m[1]["role"], "assistant");
    assert_eq!(
        m[1]["tool_calls"],
        json!([{"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}])
    );
    assert_eq!(m[2], json!({"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\":18}"}));
    assert_eq!(
        reqs.last().unwrap().body["tool_choice"],
        json!({"type": "function", "function": {"name": "get_weather"}})
    );
}

#[tokio::test]
async fn json_schema_and_reasoning_reach_the_upstream_and_come_back() {
    let env = Env::start().await;
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]});
    let (status, v) = post(
        &env,
        json!({"model": "sim/json", "input": "JSON please",
        "text": {"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": true}}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let out: Value = serde_json::from_str(v["output_text"].as_str().unwrap()).unwrap();
    assert_eq!(out["answer"], "sim");
    assert_eq!(v["text"]["format"]["name"], "answer");
    let reqs = env.sim.requests();
    assert_eq!(
        reqs.last().unwrap().body["response_format"],
        json!({"type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": true}})
    );

    let (status, v) = post(
        &env,
        json!({"model": "sim/reasoning", "input": "Think", "reasoning": {"effort": "high", "summary": "auto"}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let rs = &v["output"][0];
    assert_eq!(rs["type"], "reasoning");
    assert!(rs["id"].as_str().unwrap().starts_with("rs_"));
    assert_eq!(rs["summary"], json!([{"type": "summary_text", "text": "Thinking about the answer."}]));
    assert_eq!(v["output"][1]["type"], "message");
    assert_eq!(v["usage"]["input_tokens"], 10);
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 4);
    assert_eq!(v["usage"]["output_tokens_details"]["reasoning_tokens"], 4);
    assert_eq!(v["reasoning"], json!({"effort": "high", "summary": "auto"}));
    let reqs = env.sim.requests();
    assert_eq!(reqs.last().unwrap().body["reasoning_effort"], "high");
}

#[tokio::test]
async fn anthropic_upstream_serves_responses_whole_and_streamed() {
    let env = Env::start().await;
    let (status, v) = post(
        &env,
        json!({"model": "anth/text", "input": "Hello", "instructions": "Be terse.",
        "max_output_tokens": 100}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["output_text"], "tok0 tok1 tok2 tok3 tok4 ");
    assert_eq!(v["provider"], "Anthropic Sim");
    assert_eq!((v["usage"]["input_tokens"].as_u64(), v["usage"]["output_tokens"].as_u64()), (Some(10), Some(5)));
    // 10 x $3/M + 5 x $15/M
    assert_eq!(v["usage"]["cost"].as_f64().unwrap(), 0.000105);
    let reqs = env.sim.requests();
    let rec = reqs.last().unwrap();
    assert_eq!(rec.path, "/v1/messages");
    assert_eq!(rec.body["system"], "Be terse.");
    assert_eq!(rec.body["max_tokens"], 100);
    assert_eq!(rec.body["messages"][0]["role"], "user");
    assert_eq!(rec.body["messages"][0]["content"][0]["text"], "Hello");

    let events =
        stream(&env, json!({"model": "anth/tools", "input": "Go", "tools": [weather_tool()], "stream": true})).await;
    let done = &events.last().unwrap().1["response"];
    assert_eq!(events.last().unwrap().0, "response.completed");
    let calls: Vec<&Value> =
        done["output"].as_array().unwrap().iter().filter(|i| i["type"] == "function_call").collect();
    assert_eq!(calls.len(), 2);
    for c in calls {
        let args: Value = serde_json::from_str(c["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args["city"], "Paris");
    }
    assert_eq!(names(&events).iter().filter(|n| **n == "response.function_call_arguments.done").count(), 2);
}

#[tokio::test]
async fn stream_sends_the_responses_event_sequence() {
    let env = Env::start().await;
    let events = stream(&env, json!({"model": "sim/reasoning", "input": "Hi", "stream": true})).await;
    let n = names(&events);
    assert_eq!(
        &n[..4],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added"
        ]
    );
    assert_eq!(n.iter().filter(|e| **e == "response.reasoning_summary_text.delta").count(), 4);
    let after_reasoning = n.iter().position(|e| *e == "response.reasoning_summary_text.done").unwrap();
    assert_eq!(
        &n[after_reasoning..after_reasoning + 4],
        [
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added"
        ]
    );
    assert_eq!(n[after_reasoning + 4], "response.content_part.added");
    let tail = &n[n.len() - 4..];
    assert_eq!(
        tail,
        ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    );
    let created = &events[0].1["response"];
    assert_eq!(
        (created["status"].as_str(), created["output"].as_array().map(Vec::len)),
        (Some("in_progress"), Some(0))
    );
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("gen-"));
    let deltas: String = events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .map(|(_, d)| {
            assert_eq!((d["output_index"].as_u64(), d["content_index"].as_u64()), (Some(1), Some(0)));
            d["delta"].as_str().unwrap().to_owned()
        })
        .collect();
    let done = &events.last().unwrap().1["response"];
    assert_eq!((done["id"].as_str(), done["status"].as_str()), (Some(id), Some("completed")));
    assert_eq!(done["output_text"], deltas.as_str());
    assert_eq!(done["output"][0]["summary"][0]["text"], "Thinking about the answer.");
    assert_eq!(done["usage"]["output_tokens_details"]["reasoning_tokens"], 4);
    assert!(done["usage"]["cost"].as_f64().unwrap() > 0.0);
    // Item ids agree between the events and the final output.
    let msg_id = events.iter().find(|(n, _)| n == "response.output_text.delta").unwrap().1["item_id"].clone();
    assert_eq!(done["output"][1]["id"], msg_id);
}

#[tokio::test]
async fn token_cap_is_incomplete_and_a_mid_stream_failure_is_failed() {
    let env = Env::start_with(
        "[[models]]\nid = \"sim/capped\"\n[[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=3,finish=length\"\n\
         prompt = \"0.000001\"\ncompletion = \"0.000002\"\n",
    )
    .await;
    let (status, v) = post(&env, json!({"model": "sim/capped", "input": "Hi", "max_output_tokens": 16})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "incomplete");
    assert_eq!(v["incomplete_details"], json!({"reason": "max_output_tokens"}));
    let events = stream(&env, json!({"model": "sim/capped", "input": "Hi", "stream": true})).await;
    assert_eq!(events.last().unwrap().0, "response.incomplete");

    let events = stream(&env, json!({"model": "sim/error-after", "input": "Hi", "stream": true})).await;
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "response.failed");
    let resp = &data["response"];
    assert_eq!(resp["status"], "failed");
    assert!(resp["error"]["message"].as_str().unwrap().contains("Simulator"), "{resp}");
    assert!(resp["error"]["code"].is_string());
    assert_eq!(resp["output"][0]["status"], "incomplete");
    assert!(!names(&events).contains(&"response.completed"));
}

#[tokio::test]
async fn stateful_or_malformed_requests_are_400s_in_openrouter_shape() {
    let env = Env::start().await;
    let cases = [
        (json!({"model": "sim/text", "input": "x", "store": true}), "`store` must be false"),
        (json!({"model": "sim/text", "input": "x", "previous_response_id": "resp_123"}), "previous_response_id"),
        (json!({"model": "sim/text", "input": 42}), "a string or an array"),
        (json!({"model": "sim/text"}), "`input` is required"),
        (json!({"model": "sim/text", "input": [{"type": "item_reference", "id": "msg_1"}]}), "stateless"),
        (json!({"model": "sim/text", "input": [{"role": "robot", "content": "x"}]}), "robot"),
        (json!({"model": "sim/text", "input": "x", "text": {"format": {"type": "yaml"}}}), "text.format"),
    ];
    for (body, needle) in cases {
        let (status, v) = post(&env, body.clone()).await;
        assert_eq!(status, 400, "{body} -> {v}");
        assert_eq!(v["error"]["code"], 400, "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    assert!(env.sim.requests().is_empty());
    let (status, v) =
        env.send("POST", "sk-wrong", "/responses", Some(json!({"model": "sim/text", "input": "x"}))).await;
    assert_eq!((status, v["error"]["code"].as_u64()), (401, Some(401)));
    let (status, v) = post(&env, json!({"model": "sim/e429", "input": "x"})).await;
    assert_eq!((status, v["error"]["code"].as_u64()), (429, Some(429)), "{v}");
}

#[tokio::test]
async fn generation_is_recorded_with_tokens_and_cost() {
    let env = Env::start().await;
    let r = env
        .http
        .post(env.url("/responses"))
        .bearer_auth(&env.key)
        .json(&json!({"model": "sim/text", "input": "Hello"}))
        .send()
        .await
        .unwrap();
    let header_id = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["id"], header_id.as_str());
    // 10 x $1/M + 5 x $2/M
    assert_eq!(v["usage"]["cost"].as_f64().unwrap(), 0.00002);
    let g = env.generation_json(&header_id).await;
    assert_eq!((g["tokens_prompt"].as_u64(), g["tokens_completion"].as_u64()), (Some(10), Some(5)));
    assert_eq!(g["total_cost"].as_f64().unwrap(), 0.00002);
    assert_eq!(g["model"], "sim/text");

    let events = stream(&env, json!({"model": "sim/text", "input": "Hello", "stream": true})).await;
    let id = events[0].1["response"]["id"].as_str().unwrap().to_owned();
    let g = env.generation_json(&id).await;
    assert_eq!((g["tokens_prompt"].as_u64(), g["tokens_completion"].as_u64()), (Some(10), Some(5)));
    assert_eq!(g["streamed"], true);
}

fn sdk(env: &Env) -> Client<OpenAIConfig> {
    Client::with_config(OpenAIConfig::new().with_api_base(env.gw.base_url()).with_api_key(&env.key))
}

#[tokio::test]
async fn async_openai_creates_and_streams_responses() {
    let env = Env::start().await;
    let c = sdk(&env);
    let tool = SdkTool::Function(FunctionTool {
        name: "get_weather".into(),
        parameters: Some(weather_tool()["parameters"].clone()),
        strict: Some(true),
        description: Some("Weather in a city".into()),
        ..Default::default()
    });
    let req = CreateResponseArgs::default()
        .model("sim/tool")
        .input("Weather in Paris?")
        .instructions("You are a weather bot.")
        .tools(vec![tool])
        .max_output_tokens(64u32)
        .build()
        .unwrap();
    let resp = c.responses().create(req).await.unwrap();
    assert!(resp.id.starts_with("gen-"));
    assert_eq!(resp.status, Status::Completed);
    let OutputItem::FunctionCall(call) = &resp.output[0] else { panic!("{:?}", resp.output) };
    assert_eq!((call.name.as_str(), call.call_id.as_str()), ("get_weather", "call_sim_0"));
    assert!(resp.usage.as_ref().unwrap().total_tokens > 0);
    let reqs = env.sim.requests();
    assert_eq!(reqs.last().unwrap().body["tools"][0]["function"]["name"], "get_weather");

    let req = CreateResponseArgs::default().model("sim/text").input("Hello").build().unwrap();
    let mut s = c.responses().create_stream(req).await.unwrap();
    let (mut text, mut last_seq, mut completed) = (String::new(), None, None);
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            ResponseStreamEvent::ResponseOutputTextDelta(d) => {
                text.push_str(&d.delta);
                last_seq = Some(d.sequence_number);
            }
            ResponseStreamEvent::ResponseCompleted(done) => completed = Some(done),
            _ => {}
        }
    }
    assert_eq!(text, "tok0 tok1 tok2 tok3 tok4 ");
    let done = completed.unwrap();
    assert!(done.sequence_number > last_seq.unwrap());
    assert_eq!(done.response.output_text().as_deref(), Some("tok0 tok1 tok2 tok3 tok4 "));
    assert_eq!(done.response.usage.unwrap().output_tokens, 5);
}

#[tokio::test]
async fn async_openai_parses_every_event_of_reasoning_tool_and_failed_streams() {
    let env = Env::start().await;
    let c = sdk(&env);
    for (model, reasoning_items, calls, failed) in
        [("sim/reasoning", 1, 0, false), ("sim/tools2", 0, 2, false), ("sim/error-after", 0, 0, true)]
    {
        let req = CreateResponseArgs::default().model(model).input("Go").build().unwrap();
        let mut s = c.responses().create_stream(req).await.unwrap();
        let mut events = Vec::new();
        while let Some(ev) = s.next().await {
            events.push(ev.unwrap_or_else(|e| panic!("{model}: {e}")));
        }
        let summary_deltas =
            events.iter().filter(|e| matches!(e, ResponseStreamEvent::ResponseReasoningSummaryTextDelta(_))).count();
        assert_eq!(summary_deltas > 0, reasoning_items > 0, "{model}");
        let args_done =
            events.iter().filter(|e| matches!(e, ResponseStreamEvent::ResponseFunctionCallArgumentsDone(_))).count();
        assert_eq!(args_done, calls, "{model}");
        match events.last().unwrap() {
            ResponseStreamEvent::ResponseCompleted(done) if !failed => {
                let kinds = done.response.output.iter().filter(|i| matches!(i, OutputItem::Reasoning(_))).count();
                assert_eq!(kinds, reasoning_items, "{model}");
            }
            ResponseStreamEvent::ResponseFailed(f) if failed => {
                assert_eq!(f.response.status, Status::Failed);
                assert!(f.response.error.as_ref().unwrap().message.contains("Simulator"));
            }
            other => panic!("{model}: last event {other:?}"),
        }
    }
}
