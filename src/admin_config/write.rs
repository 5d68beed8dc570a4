//! A change's path: the config file read and edited under the reload lock,
//! loaded and built like a start, then written back and swapped in.

use std::path::{Path, PathBuf};

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::json;
use toml_edit::DocumentMut;

use super::{ApiError, Kind};
use crate::config::{Config, Overrides};
use crate::reload::{CONFIG_VERSION_HEADER, Live, Writer};

/// The config file the API reads and writes: `--config`, else
/// `switchyard.toml` if present (as at start); none when the gateway runs
/// from the environment.
pub(super) fn config_path(overrides: &Overrides) -> Option<PathBuf> {
    match &overrides.config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from("switchyard.toml")).filter(|p| p.exists()),
    }
}

/// `path` made absolute for answers (the file a relative `--config` names depends on the working directory).
pub(super) fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// Which entry a write touched: the id it has after the write.
pub(super) struct Edited {
    pub(super) id: Option<String>,
}

/// Applies `edit` to the config file under the reload lock, validates and
/// builds the result like a start, then (unless `dry_run`) writes the file
/// and swaps the new gateway in.
pub(super) async fn write(
    live: &Live,
    dry_run: bool,
    kind: Kind,
    edit: impl FnOnce(&mut DocumentMut) -> Result<Edited, ApiError>,
) -> Result<Response, ApiError> {
    let writer = live.writer().await;
    let path = config_path(writer.overrides()).ok_or_else(no_file)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ApiError::internal(format!("reading `{}`: {e}", path.display())))?;
    let mut doc: DocumentMut = text.parse().map_err(|e| {
        ApiError::invalid(format!(
            "the config file `{}` does not parse (fix it by hand first): {e}",
            path.display()
        ))
    })?;
    let edited = edit(&mut doc)?;
    let new_text = doc.to_string();
    let (report, config) = apply(&writer, &path, &new_text, dry_run)?;
    let entry = edited.id.and_then(|id| {
        kind.list(&config)
            .into_iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v)
    });
    let mut res = axum::Json(json!({
        "applied": report.applied,
        "dry_run": dry_run,
        "version": report.version,
        "changes": report.changes,
        "persisted_to": if dry_run { None } else { Some(absolute(&path)) },
        kind.what().replace(' ', "_"): entry,
    }))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&report.version) {
        res.headers_mut().insert(CONFIG_VERSION_HEADER, v);
    }
    Ok(res)
}

/// Validates and builds `text` as the content of `path`; unless `dry_run`,
/// writes it and swaps it in.
fn apply(
    writer: &Writer<'_>,
    path: &Path,
    text: &str,
    dry_run: bool,
) -> Result<(crate::reload::ReloadReport, Config), ApiError> {
    let prefix = format!("config file `{}`: ", path.display());
    let strip = |e: String| e.strip_prefix(&prefix).map(str::to_owned).unwrap_or(e);
    let config = Config::load_str(writer.overrides(), path, text)
        .map_err(|e| ApiError::invalid(strip(e.to_string())))?;
    let next = writer
        .prepare(config)
        .map_err(|e| ApiError::invalid(strip(e)))?;
    let config = next.config().clone();
    if dry_run {
        return Ok((writer.report(next), config));
    }
    persist(path, text)?;
    tracing::info!(file = %path.display(), "configuration changed through the admin API");
    Ok((writer.commit(next), config))
}

fn no_file() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_config_file",
        "the gateway runs without a config file (its providers come from the environment), \
         so a change could not be kept: start it with `--config FILE` to change the \
         configuration through the admin API",
    )
}

/// Writes `text` over `path` atomically (a temporary file beside it, renamed),
/// keeping the file's permissions; a symlink's target is written.
fn persist(path: &Path, text: &str) -> Result<(), ApiError> {
    let fail = |e: std::io::Error| {
        ApiError::internal(format!(
            "writing `{}`: {e}; the running configuration is unchanged",
            path.display()
        ))
    };
    let target = std::fs::canonicalize(path).map_err(fail)?;
    let mut tmp = target.clone().into_os_string();
    tmp.push(".switchyard-new");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(fail)?;
    if let Ok(meta) = std::fs::metadata(&target) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn persist_replaces_the_file_keeping_its_mode_and_writes_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("switchyard-persist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let real = dir.join("real.toml");
        std::fs::write(&real, "old = 1\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.join("link.toml");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        persist(&link, "new = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new = 2\n");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            absolute(&link),
            std::fs::canonicalize(&real).unwrap().display().to_string()
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "{leftovers:?}");
        let missing = dir.join("nope").join("x.toml");
        let e = persist(&missing, "x").unwrap_err();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            e.message.contains("the running configuration is unchanged"),
            "{}",
            e.message
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
