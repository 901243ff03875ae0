//! `switchyard models import`: an OpenRouter `/api/v1/models` dump becomes
//! part of the catalog that `serve`, `models list` and `config check` use.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

const DUMP: &str = r#"{"data": [
  {"id": "acme/rocket-1", "name": "Acme: Rocket 1", "created": 1735689600, "context_length": 65536,
   "architecture": {"input_modalities": ["text"], "output_modalities": ["text"], "tokenizer": "Other"},
   "pricing": {"prompt": "0.0000004", "completion": "0.0000016", "request": "0", "image": "0"},
   "top_provider": {"context_length": 65536, "max_completion_tokens": 8192},
   "supported_parameters": ["max_tokens", "temperature"]},
  {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}}
]}"#;

fn switchyard(data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env_clear()
        .env("SWITCHYARD_DATA_DIR", data_dir)
        .env("OPENROUTER_API_KEY", "sk-or-test")
        .env("SWITCHYARD_LOG", "off")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn imported_models_become_routable_and_importing_again_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("models.json");
    std::fs::write(&dump, DUMP).unwrap();
    let data = dir.path().join("data");

    let out = switchyard(&data, &["models", "import", dump.to_str().unwrap()]);
    assert!(stdout(&out).contains("Imported 1 models"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped openrouter/auto: variable pricing"));
    let first = std::fs::read_to_string(data.join("models.toml")).unwrap();
    assert!(first.contains("acme/rocket-1") && first.contains("0.0000004"), "{first}");

    let list = stdout(&switchyard(&data, &["models", "list"]));
    let line = list.lines().find(|l| l.starts_with("acme/rocket-1")).expect("imported model listed");
    assert!(line.contains("65536") && line.contains("0.400") && line.contains("openrouter"), "{line}");

    stdout(&switchyard(&data, &["models", "import", dump.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(data.join("models.toml")).unwrap(), first);
    assert!(stdout(&switchyard(&data, &["config", "check"])).contains("1 imported"));
}

#[test]
fn a_file_that_is_not_a_dump_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"models": []}"#).unwrap();
    let out = switchyard(dir.path(), &["models", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an OpenRouter /api/v1/models dump"));
    assert!(!dir.path().join("models.toml").exists());
}
