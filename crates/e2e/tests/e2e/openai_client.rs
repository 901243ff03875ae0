//! The gateway driven by a real OpenAI client crate, as a user's program would.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs};
use futures_util::StreamExt;

use crate::common::Env;

fn client(env: &Env) -> Client<OpenAIConfig> {
    Client::with_config(OpenAIConfig::new().with_api_base(env.gw.base_url()).with_api_key(&env.key))
}

fn request(model: &str) -> async_openai::types::chat::CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .max_tokens(64u32)
        .messages([ChatCompletionRequestUserMessageArgs::default().content("Hello there").build().unwrap().into()])
        .build()
        .unwrap()
}

#[tokio::test]
async fn openai_crate_chats_and_streams_unchanged() {
    let env = Env::start().await;
    let c = client(&env);
    let resp = c.chat().create(request("sim/text")).await.unwrap();
    assert!(resp.id.starts_with("gen-"));
    assert_eq!(resp.model, "sim/text");
    assert_eq!(resp.choices[0].message.content.as_deref(), Some("tok0 tok1 tok2 tok3 tok4 "));
    assert_eq!(resp.usage.as_ref().unwrap().completion_tokens, 5);

    let mut stream = c.chat().create_stream(request("sim/text")).await.unwrap();
    let mut text = String::new();
    let mut usage_seen = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        for ch in &chunk.choices {
            if let Some(t) = &ch.delta.content {
                text.push_str(t);
            }
        }
        if chunk.usage.is_some() {
            usage_seen += 1;
        }
    }
    assert_eq!(text, "tok0 tok1 tok2 tok3 tok4 ");
    assert_eq!(usage_seen, 1);
}

#[tokio::test]
async fn openai_crate_surfaces_gateway_errors() {
    let env = Env::start().await;
    let err = client(&env).chat().create(request("nobody/nothing")).await.unwrap_err();
    assert!(err.to_string().contains("not a valid model ID"), "{err}");
}
